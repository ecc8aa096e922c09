import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ROLES, type Role } from '../src/domain/status.ts';
import { startApi, suggestion, type ApiHarness } from './helpers/api.ts';
import { ENCRYPTION_CHECK, prowlerFile } from './helpers/findings.ts';

let api: ApiHarness;
beforeEach(async () => {
  api = await startApi();
});
afterEach(async () => {
  await api.close();
});

async function suggest(bucket: string) {
  const res = await api.call('POST', '/api/v1/actions', {
    as: 'operator',
    body: suggestion(bucket),
  });
  expect(res.status).toBe(201);
  return res.body.action as { id: string; status: string };
}

function expectError(res: { status: number; body: any }, status: number, code: string) {
  expect(res.status).toBe(status);
  expect(Object.keys(res.body)).toEqual(['error']);
  expect(res.body.error.code).toBe(code);
  expect(typeof res.body.error.message).toBe('string');
  expect(res.body.error.message.length).toBeGreaterThan(10);
}

describe('auth and roles', () => {
  const routes: { method: string; path: string; role: Role; body?: unknown; raw?: string }[] = [
    { method: 'GET', path: '/actions', role: 'viewer' },
    { method: 'GET', path: '/actions/counts', role: 'viewer' },
    { method: 'GET', path: '/actions/:id', role: 'viewer' },
    { method: 'POST', path: '/actions', role: 'operator', body: suggestion('role-bucket') },
    { method: 'POST', path: '/actions/:id/approve', role: 'admin', body: {} },
    { method: 'POST', path: '/actions/:id/reject', role: 'admin', body: { comment: 'no' } },
    { method: 'POST', path: '/actions/:id/execute', role: 'admin', body: {} },
    { method: 'POST', path: '/actions/:id/retry', role: 'admin', body: {} },
    { method: 'POST', path: '/actions/:id/rollback', role: 'admin', body: {} },
    { method: 'POST', path: '/actions/:id/comments', role: 'operator', body: { text: 'hi' } },
    {
      method: 'POST',
      path: '/findings/import',
      role: 'operator',
      raw: prowlerFile([{ check: ENCRYPTION_CHECK, bucket: 'import-bucket' }]),
    },
    { method: 'GET', path: '/settings/remediation', role: 'viewer' },
    { method: 'PUT', path: '/settings/remediation', role: 'admin', body: { autoExecute: false } },
    { method: 'POST', path: '/tokens', role: 'admin', body: { role: 'viewer', name: 'extra' } },
    { method: 'GET', path: '/tokens', role: 'admin' },
    { method: 'DELETE', path: '/tokens/:id', role: 'admin' },
  ];

  it('every route refuses a missing or unknown token with 401', async () => {
    const { id } = await suggest('auth-bucket');
    for (const route of routes) {
      const path = `/api/v1${route.path.replace(':id', id)}`;
      const opts = { body: route.body, ...(route.raw ? { raw: route.raw } : {}) };
      expectError(await api.call(route.method, path, { ...opts, as: null }), 401, 'unauthorized');
      const bogus = await api.call(route.method, path, { ...opts, as: { token: 'not-a-token' } });
      expectError(bogus, 401, 'unauthorized');
    }
  });

  it('every route refuses roles below its own with 403 and admits its own role', async () => {
    const { id } = await suggest('roles-bucket');
    for (const route of routes) {
      const path = `/api/v1${route.path.replace(':id', id)}`;
      const opts = { body: route.body, ...(route.raw ? { raw: route.raw } : {}) };
      const needed = ROLES.indexOf(route.role);
      for (const role of ROLES.slice(0, needed)) {
        const res = await api.call(route.method, path, { ...opts, as: role });
        expectError(res, 403, 'forbidden');
        expect(res.body.error.message).toContain(route.role);
      }
      const allowed = await api.call(route.method, path, { ...opts, as: route.role });
      expect([401, 403], `${route.method} ${route.path}`).not.toContain(allowed.status);
    }
  });

  it('health and the OpenAPI document need no token; the document lists every route', async () => {
    const health = await api.call('GET', '/api/v1/health', { as: null });
    expect(health.status).toBe(200);
    expect(health.body).toEqual({ status: 'ok', database: 'sqlite' });

    const doc = await api.call('GET', '/api/v1/openapi.json', { as: null });
    expect(doc.status).toBe(200);
    expect(doc.body.openapi).toMatch(/^3\./);
    for (const route of routes) {
      const key = `/api/v1${route.path.replace(':id', '{id}')}`;
      expect(doc.body.paths[key]?.[route.method.toLowerCase()], key).toBeDefined();
    }
    expect(doc.body.components.schemas.Action).toBeDefined();
    expect(doc.body.components.securitySchemes.bearerAuth.scheme).toBe('bearer');

    const ui = await fetch(`${api.url}/api/v1/docs`);
    expect(ui.status).toBe(200);
    expect(ui.headers.get('content-type')).toContain('text/html');
  });

  it('a created token works with its role and never appears in the log', async () => {
    const res = await api.call('POST', '/api/v1/tokens', {
      body: { role: 'operator', name: 'ci' },
    });
    expect(res.status).toBe(201);
    expect(res.body.info).toMatchObject({ name: 'ci', role: 'operator' });
    const token = res.body.token as string;

    const read = await api.call('GET', '/api/v1/actions', { as: { token } });
    expect(read.status).toBe(200);
    const admin = await api.call('PUT', '/api/v1/settings/remediation', {
      as: { token },
      body: { autoExecute: true },
    });
    expectError(admin, 403, 'forbidden');

    const log = api.logLines.join('');
    expect(log).toContain('api token created');
    expect(log).not.toContain(token);
    for (const known of Object.values(api.tokens)) expect(log).not.toContain(known);
  });
});

describe('actions', () => {
  it('suggest creates a pending action once and links the second suggestion', async () => {
    const first = await api.call('POST', '/api/v1/actions', {
      as: 'operator',
      body: suggestion('orders', { kind: 'drift', findingId: 'f-1' }),
    });
    expect(first.status).toBe(201);
    expect(first.body.created).toBe(true);
    const action = first.body.action;
    expect(action).toMatchObject({
      type: 's3.enable-default-encryption',
      status: 'pending_approval',
      severity: 'high',
      resource: { id: 'arn:aws:s3:::orders', name: 'orders', type: 'AwsS3Bucket', provider: 'aws' },
      source: { kind: 'drift', findingId: 'f-1', origin: 'manual' },
      createdBy: 'token:operator-test',
    });
    // The response schema must not drop anything the store returns.
    expect(action).toEqual(JSON.parse(JSON.stringify(await api.store.getAction(action.id))));

    const again = await api.call('POST', '/api/v1/actions', { body: suggestion('orders') });
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ created: false, action: { id: action.id } });
  });

  it('suggest refuses a fix the catalog does not have with 422', async () => {
    const res = await api.call('POST', '/api/v1/actions', {
      body: suggestion('b', { type: 'ec2.close-everything' }),
    });
    expectError(res, 422, 'unsupported');
    expect(res.body.error.message).toContain('ec2.close-everything');
  });

  it('walks approve, execute and refuses what the lifecycle does not allow', async () => {
    const { id } = await suggest('walk');
    const early = await api.call('POST', `/api/v1/actions/${id}/execute`, { body: {} });
    expectError(early, 409, 'conflict');
    expect(early.body.error.message).toContain('pending_approval');

    const approved = await api.call('POST', `/api/v1/actions/${id}/approve`, {
      body: { comment: 'looks right' },
    });
    expect(approved.status).toBe(200);
    expect(approved.body.action).toMatchObject({
      status: 'approved',
      approvedBy: 'token:admin-test',
    });

    const queued = await api.call('POST', `/api/v1/actions/${id}/execute`);
    expect(queued.status).toBe(202);
    expect(queued.body.action).toMatchObject({ status: 'approved', requestedOp: 'execute' });
    expect(api.wakes()).toBeGreaterThan(0);

    const twice = await api.call('POST', `/api/v1/actions/${id}/execute`, { body: {} });
    expectError(twice, 409, 'conflict');
    expectError(await api.call('POST', `/api/v1/actions/${id}/retry`), 409, 'conflict');
    const rollback = await api.call('POST', `/api/v1/actions/${id}/rollback`, { body: {} });
    expectError(rollback, 409, 'conflict');

    const detail = await api.call('GET', `/api/v1/actions/${id}`, { as: 'viewer' });
    expect(detail.status).toBe(200);
    const kinds = detail.body.events.map((e: any) => e.type);
    expect(kinds).toContain('request');
    expect(detail.body.events.some((e: any) => e.comment === 'looks right')).toBe(true);

    expect(api.logLines.join('')).toContain(`"actionId":"${id}"`);
  });

  it('reject needs a comment; comments are recorded', async () => {
    const { id } = await suggest('rej');
    const bare = await api.call('POST', `/api/v1/actions/${id}/reject`, { body: {} });
    expectError(bare, 400, 'invalid_input');
    expect(bare.body.error.message).toContain('comment');

    const note = await api.call('POST', `/api/v1/actions/${id}/comments`, {
      as: 'operator',
      body: { text: 'asked the owner' },
    });
    expect(note.status).toBe(201);
    expect(note.body.event).toMatchObject({ type: 'comment', comment: 'asked the owner' });

    const rejected = await api.call('POST', `/api/v1/actions/${id}/reject`, {
      body: { comment: 'bucket is retired' },
    });
    expect(rejected.status).toBe(200);
    expect(rejected.body.action.status).toBe('rejected');
  });

  it('unknown ids and routes answer 404 in the error shape', async () => {
    const missing = await api.call('GET', '/api/v1/actions/does-not-exist');
    expectError(missing, 404, 'not_found');
    expect(missing.body.error.message).toContain('does-not-exist');
    expectError(await api.call('GET', '/api/v1/nothing-here'), 404, 'not_found');
  });

  it('counts actions by status', async () => {
    await suggest('counted-1');
    await suggest('counted-2');
    const res = await api.call('GET', '/api/v1/actions/counts', { as: 'viewer' });
    expect(res.status).toBe(200);
    expect(res.body.total).toBe(2);
    expect(res.body.byStatus.pending_approval).toBe(2);
    expect(res.body.byStatus.completed).toBe(0);
  });
});

describe('validation', () => {
  it('refuses unknown query parameters and out-of-range limits', async () => {
    const unknown = await api.call('GET', '/api/v1/actions?colour=red');
    expectError(unknown, 400, 'invalid_input');
    expect(unknown.body.error.message).toContain('colour');

    for (const limit of ['0', '501', 'ten']) {
      const res = await api.call('GET', `/api/v1/actions?limit=${limit}`);
      expectError(res, 400, 'invalid_input');
      expect(res.body.error.message).toContain('limit');
    }
    const sort = await api.call('GET', '/api/v1/actions?sort=colour');
    expectError(sort, 400, 'invalid_input');

    const status = await api.call('GET', '/api/v1/actions?status=completed,finished');
    expectError(status, 400, 'invalid_input');
    expect(status.body.error.message).toContain('"finished"');
  });

  it('refuses malformed, mistyped and unknown body fields', async () => {
    const broken = await api.call('POST', '/api/v1/actions', {
      raw: '{"type": ',
      contentType: 'application/json',
    });
    expectError(broken, 400, 'invalid_input');

    const extra = await api.call('POST', '/api/v1/actions', {
      body: { ...suggestion('x'), colour: 'red' },
    });
    expectError(extra, 400, 'invalid_input');
    expect(extra.body.error.message).toContain('colour');

    const missing = await api.call('POST', '/api/v1/actions', { body: { type: 'x' } });
    expectError(missing, 400, 'invalid_input');
    expect(missing.body.error.message).toContain('resource');

    const severity = await api.call('POST', '/api/v1/actions', {
      body: suggestion('x', { severity: 'apocalyptic' }),
    });
    expectError(severity, 400, 'invalid_input');

    const xml = await api.call('POST', '/api/v1/actions', {
      raw: '<a/>',
      contentType: 'application/xml',
    });
    expectError(xml, 415, 'unsupported_media_type');
    expect(await api.store.countByStatus()).toMatchObject({ pending_approval: 0 });
  });
});

describe('pagination', () => {
  it('pages through every action once with the cursor', async () => {
    for (let i = 0; i < 7; i++) await suggest(`page-${i}`);
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const after: string = cursor ? `&cursor=${encodeURIComponent(cursor)}` : '';
      const query = `?limit=3&sort=created&order=asc${after}`;
      const res = await api.call('GET', `/api/v1/actions${query}`, { as: 'viewer' });
      expect(res.status).toBe(200);
      expect(res.body.items.length).toBeLessThanOrEqual(3);
      seen.push(...res.body.items.map((a: any) => a.resource.name));
      cursor = res.body.nextCursor;
      pages += 1;
    } while (cursor);
    expect(pages).toBe(3);
    expect(seen).toEqual([0, 1, 2, 3, 4, 5, 6].map((i) => `page-${i}`));

    const filtered = await api.call('GET', '/api/v1/actions?q=page-4&status=pending_approval');
    expect(filtered.body.items.map((a: any) => a.resource.name)).toEqual(['page-4']);
    const none = await api.call('GET', '/api/v1/actions?severity=low');
    expect(none.body).toEqual({ items: [], nextCursor: null });
  });
});

describe('settings', () => {
  it('refuses windows of 4 and 121 minutes and changes nothing', async () => {
    const before = await api.call('GET', '/api/v1/settings/remediation', { as: 'viewer' });
    expect(before.body).toEqual({
      requireApproval: true,
      autoExecute: false,
      rollbackWindowMinutes: 30,
      allowSelfApproval: false,
      maxBulkActions: 50,
      maintenanceWindows: [],
    });

    for (const minutes of [4, 121]) {
      const res = await api.call('PUT', '/api/v1/settings/remediation', {
        body: { autoExecute: true, rollbackWindowMinutes: minutes },
      });
      expectError(res, 400, 'invalid_input');
      expect(res.body.error.message).toContain('rollbackWindowMinutes');
      expect(res.body.error.message).toContain(String(minutes));
    }
    const wrong = [
      { requireApproval: 'false' },
      { colour: 'red' },
      {},
      { rollbackWindowMinutes: 7.5 },
    ];
    for (const body of wrong) {
      const res = await api.call('PUT', '/api/v1/settings/remediation', { body });
      expectError(res, 400, 'invalid_input');
    }
    const after = await api.call('GET', '/api/v1/settings/remediation');
    expect(after.body).toEqual(before.body);

    const changed = await api.call('PUT', '/api/v1/settings/remediation', {
      body: { rollbackWindowMinutes: 120, requireApproval: false },
    });
    expect(changed.status).toBe(200);
    expect(changed.body).toEqual({
      requireApproval: false,
      autoExecute: false,
      rollbackWindowMinutes: 120,
      allowSelfApproval: false,
      maxBulkActions: 50,
      maintenanceWindows: [],
    });
  });
});

describe('findings import', () => {
  const file = prowlerFile([
    { check: ENCRYPTION_CHECK, bucket: 'alpha' },
    { check: ENCRYPTION_CHECK, bucket: 'beta', status: 'PASS' },
    { check: ENCRYPTION_CHECK, bucket: 'gamma', status: 'MANUAL' },
    { check: 'iam_root_mfa_enabled', bucket: 'delta' },
    { check: ENCRYPTION_CHECK, bucket: 'alpha' },
  ]);

  it('imports a Prowler file sent as JSON or as text, counting what happened', async () => {
    const res = await api.call('POST', '/api/v1/findings/import', {
      as: 'operator',
      raw: file,
      contentType: 'application/json',
    });
    expect(res.status).toBe(200);
    expect(res.body.format).toBe('prowler-ocsf');
    expect(res.body.counts).toEqual({
      total: 5,
      failed: 3,
      passed: 1,
      manual: 1,
      other: 0,
      supported: 2,
      unsupported: 1,
      created: 1,
      linked: 1,
    });
    expect(res.body.actions).toHaveLength(2);

    const again = await api.call('POST', '/api/v1/findings/import', { raw: file });
    expect(again.status).toBe(200);
    expect(again.body.counts).toMatchObject({ created: 0, linked: 2 });
  });

  it('refuses a malformed file whole and records nothing', async () => {
    const findings = JSON.parse(file);
    delete findings[3].metadata;
    const res = await api.call('POST', '/api/v1/findings/import', {
      raw: JSON.stringify(findings, null, 2),
      contentType: 'application/json',
    });
    expectError(res, 400, 'invalid_input');
    expect(res.body.error.message).toMatch(/\[3\]/);
    const list = await api.call('GET', '/api/v1/actions');
    expect(list.body.items).toEqual([]);

    const empty = await api.call('POST', '/api/v1/findings/import', { raw: '  ' });
    expectError(empty, 400, 'invalid_input');
  });

  it('refuses a file over the size limit with 413', async () => {
    const big = `[${' '.repeat(3 * 1024 * 1024)}]`;
    const res = await api.call('POST', '/api/v1/findings/import', { raw: big });
    expectError(res, 413, 'payload_too_large');
  });
});

describe('internal errors', () => {
  it('answer 500 without the cause, which goes to the log', async () => {
    await api.close();
    api = await startApi({
      wrapStore: (store) => ({
        ...store,
        getSettings: () => Promise.reject(new Error('SELECT secret FROM vault failed')),
      }),
    });
    const res = await api.call('GET', '/api/v1/settings/remediation');
    expectError(res, 500, 'internal');
    expect(res.text).not.toContain('vault');
    expect(res.body).toEqual({ error: { code: 'internal', message: expect.any(String) } });
    expect(api.logLines.join('')).toContain('SELECT secret FROM vault failed');
  });
});
