import { request as httpRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ApiHarness, startApi } from './helpers/api.ts';
import { ENCRYPTION_CHECK, prowlerFile } from './helpers/findings.ts';

let api: ApiHarness;

beforeAll(async () => {
  api = await startApi();
});
afterAll(async () => {
  await api.close();
});

const file = prowlerFile([
  { check: ENCRYPTION_CHECK, bucket: 'api-alpha', severity: 'High' },
  { check: ENCRYPTION_CHECK, bucket: 'api-beta', status: 'PASS' },
  { check: 'iam_root_mfa_enabled', bucket: 'api-gamma' },
  { check: ENCRYPTION_CHECK, bucket: 'api-delta', account: '999988887777' },
]);

function expectError(res: { status: number; body: any }, status: number, code: string) {
  expect(res.status, JSON.stringify(res.body)).toBe(status);
  expect(res.body.error.code).toBe(code);
}

async function findingNamed(name: string) {
  const res = await api.call('GET', `/api/v1/findings?q=${name}`);
  const found = res.body.items.find((f: any) => f.resource.name === name);
  if (!found) throw new Error(`no finding for ${name}`);
  return found;
}

describe('findings API', { timeout: 60_000 }, () => {
  it('stores an upload as vulnerability findings linked to their actions', async () => {
    const res = await api.call('POST', '/api/v1/findings/import', { as: 'operator', raw: file });
    expect(res.status).toBe(200);
    expect(res.body.findings).toEqual({
      opened: 3,
      updated: 0,
      resolved: 0,
      dismissed: 0,
      excluded: 0,
      repeated: 0,
    });
    expect(res.body.batches).toBe(1);

    const alpha = await findingNamed('api-alpha');
    expect(alpha).toMatchObject({
      kind: 'vulnerability',
      origin: 'prowler',
      severity: 'high',
      status: 'open',
      checkId: ENCRYPTION_CHECK,
      resource: { id: 'arn:aws:s3:::api-alpha', type: 'AwsS3Bucket', account: '111122223333' },
      remedy: { type: 's3.enable-default-encryption', params: {} },
    });
    const detail = await api.call('GET', `/api/v1/findings/${alpha.id}`, { as: 'viewer' });
    expect(detail.status).toBe(200);
    expect(detail.body.actions).toHaveLength(1);
    expect(detail.body.actions[0]).toMatchObject({ type: 's3.enable-default-encryption' });
    expect(detail.body.events[0].data).toMatchObject({ change: 'opened', kind: 'vulnerability' });
    expect(res.body.actions.map((a: any) => a.id)).toContain(detail.body.actions[0].id);
    const action = await api.call('GET', `/api/v1/actions/${detail.body.actions[0].id}`);
    expect(action.body.findings.map((f: any) => f.id)).toEqual([alpha.id]);
  });

  it('streams an upload to the stream route, and a passed report resolves and closes', async () => {
    const passed = prowlerFile([{ check: ENCRYPTION_CHECK, bucket: 'api-alpha', status: 'PASS' }]);
    const res = await api.call('POST', '/api/v1/findings/import/stream', {
      as: 'operator',
      raw: passed,
      contentType: 'application/json',
    });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ format: 'prowler-ocsf', findings: { resolved: 1 } });
    const alpha = await findingNamed('api-alpha');
    expect(alpha.status).toBe('resolved');
    const detail = await api.call('GET', `/api/v1/findings/${alpha.id}`);
    expect(detail.body.actions[0].status).toBe('rejected');
  });

  it('the stream route refuses an empty body, bad JSON, and big non-array documents', async () => {
    const empty = await api.call('POST', '/api/v1/findings/import/stream', { raw: '' });
    expectError(empty, 400, 'invalid_input');
    const bad = await api.call('POST', '/api/v1/findings/import/stream', { raw: '[{"a": }]' });
    expectError(bad, 400, 'invalid_input');
    expect(bad.body.error.message).toMatch(/not valid JSON.*line 1, in findings\[0\]/);
    const big = await api.call('POST', '/api/v1/findings/import/stream', {
      raw: `{"Findings": []${' '.repeat(3 * 1024 * 1024)}}`,
    });
    expectError(big, 413, 'payload_too_large');
    const forbidden = await api.call('POST', '/api/v1/findings/import/stream', {
      as: 'viewer',
      raw: '[]',
    });
    expectError(forbidden, 403, 'forbidden');
  });

  it('lists with filters, pages and counts, and refuses unknown filter values', async () => {
    const byAccount = await api.call('GET', '/api/v1/findings?account=999988887777');
    expect(byAccount.body.items.map((f: any) => f.resource.name)).toEqual(['api-delta']);
    const open = await api.call(
      'GET',
      '/api/v1/findings?status=open&kind=vulnerability&provider=aws&resourceType=AwsS3Bucket',
    );
    expect(open.body.items.map((f: any) => f.resource.name).sort()).toEqual([
      'api-delta',
      'api-gamma',
    ]);
    const page = await api.call('GET', '/api/v1/findings?limit=2');
    expect(page.body.items).toHaveLength(2);
    const next = await api.call('GET', `/api/v1/findings?limit=2&cursor=${page.body.nextCursor}`);
    expect(next.body.items).toHaveLength(1);
    expect(next.body.nextCursor).toBeNull();
    const counts = await api.call('GET', '/api/v1/findings/counts?severity=high,medium');
    expect(counts.body).toMatchObject({
      total: 3,
      byStatus: { open: 2, resolved: 1 },
      byKind: { vulnerability: 3 },
    });
    const unknown = await api.call('GET', '/api/v1/findings?kind=rumour');
    expectError(unknown, 400, 'invalid_input');
    expect(unknown.body.error.message).toMatch(/unknown kind "rumour"/);
    expectError(await api.call('GET', '/api/v1/findings?colour=red'), 400, 'invalid_input');
    expectError(await api.call('GET', '/api/v1/findings/nope'), 404, 'not_found');
  });

  it('remediates a finding through its remedy, and says when there is none', async () => {
    const delta = await findingNamed('api-delta');
    const first = await api.call('POST', `/api/v1/findings/${delta.id}/remediate`, {
      as: 'operator',
    });
    // The import already opened the action for this bucket: the finding links to it.
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({
      created: false,
      action: { type: 's3.enable-default-encryption' },
    });

    const gamma = await findingNamed('api-gamma');
    const none = await api.call('POST', `/api/v1/findings/${gamma.id}/remediate`);
    expectError(none, 422, 'unsupported');
    expect(none.body.error.message).toMatch(/has no catalog fix/);
    expectError(
      await api.call('POST', `/api/v1/findings/${gamma.id}/remediate`, { as: 'viewer' }),
      403,
      'forbidden',
    );
  });

  it('creates a new action from a finding whose action was closed', async () => {
    const alpha = await findingNamed('api-alpha');
    const resolved = await api.call('POST', `/api/v1/findings/${alpha.id}/remediate`);
    expectError(resolved, 409, 'conflict');
    await api.call('POST', '/api/v1/findings/import', {
      raw: prowlerFile([{ check: ENCRYPTION_CHECK, bucket: 'api-alpha' }]),
    });
    const reopened = await findingNamed('api-alpha');
    expect(reopened.status).toBe('open');
    const detail = await api.call('GET', `/api/v1/findings/${reopened.id}`);
    expect(detail.body.actions.map((a: any) => a.status).sort()).toEqual([
      'pending_approval',
      'rejected',
    ]);
    expect(detail.body.events.map((e: any) => e.data.change)).toEqual([
      'opened',
      'resolved',
      'reopened',
    ]);
  });

  it('dismisses with a reason (admin), keeps it dismissed on re-import, and reopens', async () => {
    const gamma = await findingNamed('api-gamma');
    expectError(
      await api.call('POST', `/api/v1/findings/${gamma.id}/dismiss`, {
        as: 'operator',
        body: { reason: 'accepted' },
      }),
      403,
      'forbidden',
    );
    expectError(
      await api.call('POST', `/api/v1/findings/${gamma.id}/dismiss`, { body: {} }),
      400,
      'invalid_input',
    );
    expectError(
      await api.call('POST', `/api/v1/findings/${gamma.id}/dismiss`, { body: { reason: '   ' } }),
      400,
      'invalid_input',
    );
    expect((await findingNamed('api-gamma')).status).toBe('open');
    const dismissed = await api.call('POST', `/api/v1/findings/${gamma.id}/dismiss`, {
      body: { reason: 'root has hardware MFA in the safe' },
    });
    expect(dismissed.status).toBe(200);
    expect(dismissed.body.finding).toMatchObject({
      status: 'dismissed',
      dismissedReason: 'root has hardware MFA in the safe',
      dismissedBy: 'token:admin-test',
    });
    const again = await api.call('POST', '/api/v1/findings/import', { raw: file });
    expect(again.body.findings.dismissed).toBe(1);
    expect((await findingNamed('api-gamma')).status).toBe('dismissed');
    expectError(
      await api.call('POST', `/api/v1/findings/${gamma.id}/dismiss`, { body: { reason: 'x' } }),
      409,
      'conflict',
    );
    const reopened = await api.call('POST', `/api/v1/findings/${gamma.id}/reopen`);
    expect(reopened.body.finding.status).toBe('open');
    expectError(await api.call('POST', `/api/v1/findings/${gamma.id}/reopen`), 409, 'conflict');
  });

  it('adds, honours, lists and removes exclusions (admin)', async () => {
    const body = { scope: 'account', value: '999988887777', reason: 'lab account' };
    expectError(
      await api.call('POST', '/api/v1/exclusions', { as: 'operator', body }),
      403,
      'forbidden',
    );
    expectError(
      await api.call('POST', '/api/v1/exclusions', { body: { ...body, scope: 'planet' } }),
      400,
      'invalid_input',
    );
    expectError(
      await api.call('POST', '/api/v1/exclusions', { body: { ...body, extra: 1 } }),
      400,
      'invalid_input',
    );
    expectError(
      await api.call('POST', '/api/v1/exclusions', {
        body: { scope: 'tag', value: 'no-equals', reason: 'x' },
      }),
      400,
      'invalid_input',
    );
    const added = await api.call('POST', '/api/v1/exclusions', { body });
    expect(added.status).toBe(201);
    expect(added.body).toMatchObject({ excluded: 1, exclusion: { scope: 'account' } });
    expect((await findingNamed('api-delta')).status).toBe('excluded');
    expectError(await api.call('POST', '/api/v1/exclusions', { body }), 409, 'conflict');

    const listed = await api.call('GET', '/api/v1/exclusions', { as: 'viewer' });
    expect(listed.body.items.map((e: any) => e.id)).toEqual([added.body.exclusion.id]);
    const reimport = await api.call('POST', '/api/v1/findings/import', { raw: file });
    expect(reimport.body.findings.excluded).toBe(1);

    const removed = await api.call('DELETE', `/api/v1/exclusions/${added.body.exclusion.id}`);
    expect(removed.body).toMatchObject({ reopened: 1 });
    expect((await findingNamed('api-delta')).status).toBe('open');
    expectError(
      await api.call('DELETE', `/api/v1/exclusions/${added.body.exclusion.id}`),
      404,
      'not_found',
    );
  });

  it('stores the finding behind an action suggested by hand, so it lists one too', async () => {
    const suggested = await api.call('POST', '/api/v1/actions', {
      as: 'operator',
      body: {
        type: 's3.enable-versioning',
        resource: { type: 'AwsS3Bucket', id: 'arn:aws:s3:::api-manual' },
      },
    });
    expect(suggested.status).toBe(201);
    const manual = await api.call('GET', `/api/v1/actions/${suggested.body.action.id}`);
    expect(manual.body.findings).toMatchObject([
      {
        kind: 'recommendation',
        origin: 'manual',
        status: 'open',
        resource: { id: 'arn:aws:s3:::api-manual' },
        remedy: { type: 's3.enable-versioning' },
      },
    ]);
  });

  it('documents every findings route in the OpenAPI document', async () => {
    const doc = (await api.call('GET', '/api/v1/openapi.json', { as: null })).body;
    for (const route of [
      '/api/v1/findings',
      '/api/v1/findings/counts',
      '/api/v1/findings/{id}',
      '/api/v1/findings/{id}/remediate',
      '/api/v1/findings/{id}/dismiss',
      '/api/v1/findings/{id}/reopen',
      '/api/v1/findings/import/stream',
      '/api/v1/exclusions',
      '/api/v1/exclusions/{id}',
    ]) {
      expect(doc.paths[route], route).toBeDefined();
    }
  });
});

describe('an upload the client gives up on', { timeout: 60_000 }, () => {
  it('is logged as the client going away, not as an internal error', async () => {
    const { hostname, port } = new URL(api.url);
    const done = new Promise<void>((resolve) => {
      const request = httpRequest({
        host: hostname,
        port: Number(port),
        method: 'POST',
        path: '/api/v1/findings/import/stream',
        headers: {
          authorization: `Bearer ${api.tokens.operator}`,
          'content-type': 'application/json',
          'transfer-encoding': 'chunked',
        },
      });
      request.on('error', () => resolve());
      // Half a file, then the connection is dropped as a killed client drops it.
      request.write(prowlerFile([{ check: ENCRYPTION_CHECK, bucket: 'api-gone' }]).slice(0, 400));
      setTimeout(() => {
        request.destroy();
        resolve();
      }, 200);
    });
    await done;
    await expect
      .poll(() => api.logLines.some((line) => line.includes('closed the connection before')))
      .toBe(true);
    const levels = api.logLines.map((line) => (JSON.parse(line) as { level: number }).level);
    expect(levels.filter((level) => level >= 50)).toEqual([]);
  });
});
