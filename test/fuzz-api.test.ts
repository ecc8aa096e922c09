import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApi, suggestion, type ApiHarness } from './helpers/api.ts';
import { createTestDatabase, ENGINES, type TestDatabase } from './helpers/databases.ts';

/**
 * Random, malformed and hostile requests on every route, as an admin (the role that may do
 * the most): never a 5xx, the server keeps answering, and nothing is written. Every body
 * carries a field no route knows, or is no object at all, or is not JSON, so each one must
 * be refused whole.
 */

const RUNS = { sqlite: 12, postgres: 5 } as const;

/** What any write would change: the audit chain's head (every change is audited) and more. */
async function fingerprint(api: ApiHarness) {
  const store = api.store;
  return JSON.stringify({
    head: (await store.verifyAudit()).head,
    counts: await store.countByStatus(),
    settings: await store.getSettings(),
    fixes: await store.getFixOptions(),
    tokens: (await store.listTokens()).length,
  });
}

/** Text no database keeps as sent: NUL, and lone UTF-16 surrogates. */
const unstorable = fc
  .tuple(
    fc.string({ maxLength: 10 }),
    fc.constantFrom('\u0000', '\ud800', '\udfff', '\ud83d'),
    fc.string({ maxLength: 10 }),
  )
  .map((parts) => parts.join(''));

const scalar = fc.oneof(
  fc.string({ maxLength: 50 }),
  unstorable,
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.constant(Number.MAX_SAFE_INTEGER),
  fc.constant(-1),
  fc.constant(''),
  fc.constant('x'.repeat(20_000)),
);
const value = fc.oneof(
  scalar,
  fc.array(scalar, { maxLength: 5 }),
  fc.dictionary(fc.string({ maxLength: 10 }), scalar, { maxKeys: 4 }),
);
/** Plausible field names, so wrong types land on real fields too. */
const fieldName = fc.oneof(
  fc.constantFrom(
    'type',
    'resource',
    'comment',
    'text',
    'op',
    'ids',
    'role',
    'name',
    'force',
    'recipientKey',
    'requireApproval',
    'rollbackWindowMinutes',
    'maintenanceWindows',
    'allowSelfApproval',
    'password',
    'username',
  ),
  fc.string({ maxLength: 12 }),
  unstorable,
);

type Body = { raw: string; contentType: string } | { json: unknown };

const body: fc.Arbitrary<Body> = fc.oneof(
  // An object with real and random fields, always with one no route takes.
  fc
    .dictionary(fieldName, value, { maxKeys: 6 })
    .map((o) => ({ json: { ...o, 'unknown-fuzz-field': 1 } })),
  // Not an object at all.
  fc.oneof(scalar, fc.array(value, { maxLength: 4 })).map((json) => ({ json })),
  // Not JSON.
  fc.string({ maxLength: 200 }).map((s) => ({ raw: `{${s}`, contentType: 'application/json' })),
  fc.string({ maxLength: 200 }).map((s) => ({ raw: `<${s}`, contentType: 'text/plain' })),
  fc.constant({ raw: '{"a":'.repeat(5_000), contentType: 'application/json' }),
);

const idSegment = fc.oneof(
  fc.uuid(),
  fc.string({ minLength: 1, maxLength: 300 }),
  fc.constant('..'),
  fc.constant('%00'),
  // A URL cannot carry a lone surrogate (it is UTF-8), but it can carry NUL as %00.
  fc.string({ maxLength: 10 }).map((s) => `${s}\u0000`),
);

const query = fc.oneof(
  fc.constant(''),
  fc
    .dictionary(
      fc.oneof(fieldName, fc.constantFrom('limit', 'cursor', 'since', 'status')),
      scalar,
      {
        maxKeys: 4,
      },
    )
    .map((q) => {
      const params = new URLSearchParams({ 'unknown-fuzz-query': '1' });
      for (const [k, v] of Object.entries(q)) params.append(k, String(v));
      return `?${params}`;
    }),
);

function fill(url: string, id: string): string {
  return url.replace(/:[A-Za-z]+/g, () => encodeURIComponent(id)).replace('/api/v1', '/api/v1');
}

describe.each(ENGINES)('fuzzing every route on %s', (engine) => {
  let database: TestDatabase;
  let api: ApiHarness;

  beforeAll(async () => {
    database = await createTestDatabase(engine);
    api = await startApi({ database });
    // Something to find, so ids that exist are fuzzed as well as ones that do not.
    await api.call('POST', '/api/v1/actions', { as: 'operator', body: suggestion('fuzz-bucket') });
  });
  afterAll(async () => {
    await api?.close();
    await database?.drop();
  });

  it('answers every malformed request with a 4xx and writes nothing', async () => {
    const routes = api.app.registeredRoutes.filter(
      (r) =>
        r.method !== 'HEAD' &&
        r.method !== 'GET' &&
        r.url.startsWith('/api/v1') &&
        !r.url.includes('*'),
    );
    expect(routes.length).toBeGreaterThan(10);
    const [existing] = (await api.store.listActions({ limit: 1 })).items;
    const before = await fingerprint(api);
    for (const route of routes) {
      await fc.assert(
        fc.asyncProperty(
          body,
          fc.oneof(idSegment, fc.constant(existing!.id)),
          query,
          async (b, id, q) => {
            const url = fill(route.url, id) + q;
            const res = await api.call(
              route.method,
              url,
              'json' in b ? { body: b.json } : { raw: b.raw, contentType: b.contentType },
            );
            const said = `${route.method} ${url}: ${res.text.slice(0, 300)}`;
            expect(res.status, said).toBeLessThan(500);
            // An empty findings list (`[]`) is a valid file with nothing in it: imported,
            // and nothing written, which the fingerprint below checks.
            if (route.url.startsWith('/api/v1/findings/import') && res.status < 300) {
              expect(res.body.counts.total, said).toBe(0);
              return;
            }
            expect(res.status, said).toBeGreaterThanOrEqual(400);
            expect(res.body?.error?.code, said).toEqual(expect.any(String));
          },
        ),
        { numRuns: RUNS[engine] },
      );
    }
    expect(await fingerprint(api)).toBe(before);
    const health = await api.call('GET', '/api/v1/health', { as: null });
    expect(health.status).toBe(200);
  }, 300_000);

  it('answers random queries on every read route without a 5xx', async () => {
    const routes = api.app.registeredRoutes.filter(
      (r) => r.method === 'GET' && r.url.startsWith('/api/v1') && !r.url.includes('docs'),
    );
    const before = await fingerprint(api);
    for (const route of routes) {
      await fc.assert(
        fc.asyncProperty(idSegment, query, async (id, q) => {
          const url = fill(route.url, id) + q;
          const res = await api.call('GET', url);
          expect(res.status, `GET ${url}: ${res.text.slice(0, 300)}`).toBeLessThan(500);
        }),
        { numRuns: RUNS[engine] },
      );
    }
    expect(await fingerprint(api)).toBe(before);
  }, 300_000);
});
