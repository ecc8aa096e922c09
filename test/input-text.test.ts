import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toHttpError } from '../src/api/errors.ts';
import { accessFor } from '../src/api/policy.ts';
import { nestsDeeperThan } from '../src/api/text-input.ts';
import { findUnstorableText, jsonMayHoldUnstorableText } from '../src/domain/text.ts';
import type { Store } from '../src/store/store.ts';
import { newAction } from './helpers/actions.ts';
import { startApi, suggestion, type ApiHarness } from './helpers/api.ts';
import { createTestDatabase, ENGINES, type TestDatabase } from './helpers/databases.ts';
import { ENCRYPTION_CHECK, prowlerFile } from './helpers/findings.ts';
import { addUser, login, type Browser } from './helpers/session.ts';

/**
 * Text no database keeps as sent (NUL, lone UTF-16 surrogates) and JSON too deep to walk:
 * refused at the door on every route and by the importers, with the field named, and
 * nothing written; and the audit chain hashes exactly what is stored.
 */

const NUL = '\u0000';
const LONE = '\ud800';

function deepArray(levels: number): string {
  return '['.repeat(levels) + ']'.repeat(levels);
}

describe('finding text no database can keep', () => {
  it('names the first NUL or lone surrogate, in values and in field names', () => {
    expect(findUnstorableText({ a: 'ok', b: [1, 'x', `y${NUL}`] })).toMatchObject({
      path: 'b.2',
      problem: 'nul',
      inKey: false,
    });
    expect(findUnstorableText({ a: { [`k${LONE}`]: 1 } })).toMatchObject({
      path: 'a.k\\ud800',
      problem: 'lone_surrogate',
      inKey: true,
    });
    expect(findUnstorableText(`pair \ud83d\ude00 is fine`)).toBeUndefined();
    expect(findUnstorableText({ n: 1, t: true, z: null, s: 'plain' })).toBeUndefined();
    let deep: unknown = 'bottom\u0000';
    for (let i = 0; i < 100_000; i++) deep = [deep];
    expect(findUnstorableText(deep)?.problem).toBe('nul');
  });

  it('keeps the one error shape even when describing the error fails', () => {
    let deep: unknown = [];
    for (let i = 0; i < 50_000; i++) deep = [deep];
    const { status, body } = toHttpError({
      validation: [{ instancePath: '', keyword: 'type', message: 'must be object', data: deep }],
      validationContext: 'body',
    });
    expect(status).toBeGreaterThanOrEqual(400);
    expect(body.error).toEqual({ code: expect.any(String), message: expect.any(String) });
  });

  it('tells JSON text that may parse to such strings from text that cannot', () => {
    const cases: [string, boolean][] = [
      ['{"a":"plain"}', false],
      ['{"a":"caf\\u00e9 \\u2019 \\uFEFF"}', false],
      ['{"a":"x\\u0000y"}', true],
      ['{"a":"\\u00e9","b":"\\uD83D"}', true],
      ['{"a":"\\udfff"}', true],
      // A raw lone surrogate makes the text itself ill formed.
      [`{"a":"${LONE}"}`, true],
      // An escaped backslash before u0000 is a harmless false alarm: the value is walked.
      ['{"a":"\\\\u0000"}', true],
      ['{"a":"\\\\ \\u0041"}', false],
    ];
    for (const [text, may] of cases)
      expect([text, jsonMayHoldUnstorableText(text)]).toEqual([text, may]);
  });

  it('measures JSON nesting outside strings only', () => {
    expect(nestsDeeperThan(deepArray(3), 3)).toBe(false);
    expect(nestsDeeperThan(deepArray(4), 3)).toBe(true);
    expect(nestsDeeperThan(`["${'['.repeat(50)}", "\\"[[["]`, 3)).toBe(false);
    expect(nestsDeeperThan('{"a":{"b":{"c":{}}}}', 3)).toBe(true);
  });
});

describe.each(ENGINES)('text the API refuses on %s', (engine) => {
  let database: TestDatabase;
  let api: ApiHarness;
  let actionId = '';
  let findingId = '';
  let browser: Browser;

  /** As an admin token, or as a signed-in admin on the routes that take only people. */
  async function send(method: string, route: string, url: string, raw?: string) {
    if (accessFor(method, route) !== 'session') {
      return api.call(
        method,
        url,
        raw === undefined ? {} : { raw, contentType: 'application/json' },
      );
    }
    const headers: Record<string, string> = {
      cookie: browser.cookie,
      'x-csrf-token': browser.csrf,
    };
    if (raw !== undefined) headers['content-type'] = 'application/json';
    const response = await fetch(`${api.url}${url}`, {
      method,
      headers,
      ...(raw === undefined ? {} : { body: raw }),
    });
    const text = await response.text();
    return { status: response.status, text, body: text ? JSON.parse(text) : undefined };
  }

  async function fingerprint() {
    const store = api.store;
    return JSON.stringify({
      head: (await store.verifyAudit()).head,
      counts: await store.countByStatus(),
      findings: (await store.listFindings({ limit: 500 })).items.length,
      settings: await store.getSettings(),
    });
  }

  beforeAll(async () => {
    database = await createTestDatabase(engine);
    api = await startApi({ database });
    const created = await api.call('POST', '/api/v1/actions', {
      as: 'operator',
      body: suggestion(`text-${engine}`),
    });
    expect(created.status, created.text).toBe(201);
    actionId = created.body.id ?? created.body.action?.id;
    const page = await api.call('GET', '/api/v1/findings');
    findingId = page.body.items[0].id;
    await addUser(api, 'text-admin', 'admin', 'text admin password');
    browser = (await login(api, 'text-admin', 'text admin password')).browser!;
  });
  afterAll(async () => {
    await api?.close();
    await database?.drop();
  });

  it('refuses NUL and lone surrogates in free text with a 400 naming the field', async () => {
    const before = await fingerprint();
    const cases: {
      method: string;
      url: () => string;
      body: (t: string) => unknown;
      field: string;
    }[] = [
      {
        method: 'POST',
        url: () => `/api/v1/actions/${actionId}/comments`,
        body: (t) => ({ text: `looks fine${t}` }),
        field: 'text',
      },
      {
        method: 'POST',
        url: () => `/api/v1/findings/${findingId}/dismiss`,
        body: (t) => ({ reason: `accepted${t} risk` }),
        field: 'reason',
      },
      {
        method: 'POST',
        url: () => '/api/v1/exclusions',
        body: (t) => ({ scope: 'account', value: `1234567890${t}`, reason: 'lab' }),
        field: 'value',
      },
      {
        method: 'POST',
        url: () => '/api/v1/actions',
        body: (t) => suggestion(`nul-${engine}`, { title: `bucket ${t}` }),
        field: 'title',
      },
    ];
    for (const c of cases) {
      for (const [text, problem] of [
        [NUL, 'nul'],
        [LONE, 'lone_surrogate'],
      ] as const) {
        const res = await api.call(c.method, c.url(), { body: c.body(text) });
        const said = `${c.method} ${c.url()}: ${res.text}`;
        expect(res.status, said).toBe(400);
        expect(res.body.error.code, said).toBe('invalid_input');
        expect(res.body.error.message, said).toContain(`body.`);
        expect(res.body.error.message, said).toContain(
          problem === 'nul' ? 'NUL character' : 'lone UTF-16 surrogate',
        );
        expect(res.body.error.details, said).toMatchObject({ where: 'body', problem });
        expect(String(res.body.error.details.field), said).toMatch(new RegExp(`${c.field}$`));
      }
    }
    expect(await fingerprint()).toBe(before);
  });

  it('refuses a field name holding NUL, and nested strings, naming the path', async () => {
    const named = await api.call('POST', `/api/v1/actions/${actionId}/comments`, {
      body: { [`te${NUL}xt`]: 'hello' },
    });
    expect(named.status, named.text).toBe(400);
    expect(named.body.error.message).toBe(
      'body.te\\u0000xt is a field name that contains a NUL character (\\u0000), which ' +
        'cannot be stored or searched for; remove it',
    );
    const nested = await api.call('POST', '/api/v1/actions', {
      body: suggestion(`nested-${engine}`, { params: { tags: [`a${NUL}`] } }),
    });
    expect(nested.status, nested.text).toBe(400);
    expect(nested.body.error.details).toMatchObject({ where: 'body', problem: 'nul' });
  });

  it('refuses NUL in query and path parameters on every route', async () => {
    const search = await api.call('GET', '/api/v1/findings?q=%00');
    expect(search.status, search.text).toBe(400);
    expect(search.body.error).toMatchObject({
      code: 'invalid_input',
      details: { where: 'querystring', field: 'q', problem: 'nul' },
    });
    expect(search.body.error.message).toMatch(/^querystring\.q contains a NUL character/);
    const path = await api.call('GET', '/api/v1/actions/ab%00cd');
    expect(path.status, path.text).toBe(400);
    expect(path.body.error.details).toMatchObject({ where: 'params', problem: 'nul' });

    const before = await fingerprint();
    const routes = api.app.registeredRoutes.filter(
      (r) => r.method !== 'HEAD' && r.url.startsWith('/api/v1') && !r.url.includes('docs'),
    );
    expect(routes.length).toBeGreaterThan(20);
    for (const route of routes) {
      const url = route.url.replace(/:[A-Za-z]+|\*/g, actionId) + '?q=%00';
      const res = await send(route.method, route.url, url);
      const said = `${route.method} ${url}: ${res.text.slice(0, 300)}`;
      expect(res.status, said).toBe(400);
      expect(res.body.error.details, said).toMatchObject({ where: 'querystring', field: 'q' });
    }
    expect(await fingerprint()).toBe(before);
  });

  it('answers JSON nested thousands deep with a 400 in the one error shape, on every route', async () => {
    const before = await fingerprint();
    const routes = api.app.registeredRoutes.filter(
      (r) => r.method !== 'GET' && r.method !== 'HEAD' && r.url.startsWith('/api/v1'),
    );
    expect(routes.map((r) => r.url)).toEqual(
      expect.arrayContaining(['/api/v1/exclusions', '/api/v1/scans', '/api/v1/alerts/rules']),
    );
    for (const route of routes) {
      const url = route.url.replace(/:[A-Za-z]+|\*/g, actionId);
      for (const raw of [
        deepArray(5000),
        `{"trigger":${'{"a":'.repeat(5000)}1${'}'.repeat(5001)}`,
      ]) {
        const res = await send(route.method, route.url, url, raw);
        const said = `${route.method} ${url}: ${res.text.slice(0, 300)}`;
        expect(res.status, said).toBe(400);
        // An upload is a file, not a request body: its importer judges it.
        if (route.url.startsWith('/api/v1/findings/import')) {
          expect(res.body.error.code, said).toBe('invalid_input');
          expect(res.body.error.message, said).toEqual(expect.any(String));
          continue;
        }
        expect(res.body.error, said).toEqual({
          code: 'invalid_input',
          message:
            'the JSON body nests deeper than 512 levels of arrays and objects; no route takes ' +
            'anything that deep',
          details: { where: 'body', maxDepth: 512 },
        });
      }
    }
    // At the limit the body is read and judged by the route's schema as usual.
    const atLimit = await api.call('POST', '/api/v1/exclusions', {
      raw: deepArray(512),
      contentType: 'application/json',
    });
    expect(atLimit.status, atLimit.text).toBe(400);
    expect(atLimit.body.error.message).not.toContain('nests deeper');
    expect(await fingerprint()).toBe(before);
    // The deep bodies were refused as client errors: nothing was logged as internal.
    expect(api.logLines.filter((l) => l.includes('internal error'))).toEqual([]);
  });

  it('refuses a findings file with NUL or a lone surrogate, naming the finding, importing nothing', async () => {
    const before = await fingerprint();
    const clean = prowlerFile([
      { check: ENCRYPTION_CHECK, bucket: `import-a-${engine}` },
      { check: ENCRYPTION_CHECK, bucket: `import-b-${engine}` },
    ]);
    for (const [escape, problem] of [
      ['\\u0000', 'NUL character'],
      ['\\ud800', 'lone UTF-16 surrogate'],
    ] as const) {
      const file = clean.replaceAll(`import-b-${engine}`, `import-b-${engine}${escape}`);
      for (const route of ['/api/v1/findings/import', '/api/v1/findings/import/stream']) {
        const res = await api.call('POST', route, { raw: file, contentType: 'application/json' });
        const said = `${route}: ${res.text}`;
        expect(res.status, said).toBe(400);
        expect(res.body.error.code, said).toBe('invalid_input');
        expect(res.body.error.message, said).toMatch(/^finding 2: findings\[1\]\./);
        expect(res.body.error.message, said).toContain(problem);
        expect(res.body.error.details, said).toMatchObject({ index: 1 });
      }
    }
    expect(await fingerprint()).toBe(before);
    const ok = await api.call('POST', '/api/v1/findings/import', { raw: clean });
    expect(ok.status, ok.text).toBeLessThan(300);
  });
});

describe.each(ENGINES)('the audit chain hashes what %s stores', (engine) => {
  let database: TestDatabase;
  let store: Store;

  beforeAll(async () => {
    database = await createTestDatabase(engine);
    store = await database.open();
  });
  afterAll(async () => {
    await store?.close();
    await database?.drop();
  });

  it('verifies after text that the driver stores changed', async () => {
    const now = new Date('2026-05-01T10:00:00Z');
    const input = newAction({ bucket: `chain-${engine}` });
    const { action } = await store.createAction(
      { ...input, source: { ...input.source, title: `title ${LONE} half pair` } },
      { actor: 'token:ops', now, requireApproval: true },
    );
    await store.comment(action.id, { actor: `token:${LONE}`, now, text: `odd ${LONE} text` });
    await store.comment(action.id, { actor: 'token:ops', now, text: `pair \ud83d\ude00 ok` });
    const comments = (await store.events(action.id)).filter((e) => e.type === 'comment');
    // Both drivers write a lone surrogate as U+FFFD.
    expect(comments[0]!.comment).toBe('odd \ufffd text');
    expect(comments[1]!.comment).toBe('pair \ud83d\ude00 ok');
    const verified = await store.verifyAudit();
    expect(verified.problem).toBeNull();
    expect(verified.ok).toBe(true);
  });

  it('never leaves a false edit when the database refuses text', async () => {
    const now = new Date('2026-05-01T11:00:00Z');
    const { action } = await store.createAction(newAction({ bucket: `chain-nul-${engine}` }), {
      actor: 'token:ops',
      now,
      requireApproval: true,
    });
    const head = (await store.verifyAudit()).head;
    const write = store.comment(action.id, { actor: 'token:ops', now, text: `a${NUL}b` });
    if (engine === 'postgres') {
      // PostgreSQL refuses NUL in text; the whole change is rolled back.
      await expect(write).rejects.toThrow();
      expect((await store.verifyAudit()).head).toEqual(head);
    } else {
      await write;
    }
    const verified = await store.verifyAudit();
    expect(verified.problem).toBeNull();
  });
});
