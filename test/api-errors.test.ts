import { connect } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { accessFor } from '../src/api/policy.ts';
import { startApi, suggestion, type ApiHarness } from './helpers/api.ts';
import { ENCRYPTION_CHECK, prowlerFile } from './helpers/findings.ts';
import { addUser, browse, login } from './helpers/session.ts';

let api: ApiHarness;
beforeEach(async () => {
  api = await startApi();
});
afterEach(async () => {
  await api.close();
});

/** The one error shape, with a code and a message that says something. */
function expectError(res: { status: number; body: any }, status: number, code: string) {
  expect(res.status).toBe(status);
  expect(Object.keys(res.body)).toEqual(['error']);
  expect(Object.keys(res.body.error).filter((k) => k !== 'details')).toEqual(['code', 'message']);
  expect(res.body.error.code).toBe(code);
  expect(res.body.error.message.length).toBeGreaterThan(20);
}

async function suggested(): Promise<string> {
  // Created by the operator, so the admin may approve it (four-eyes).
  const res = await api.call('POST', '/api/v1/actions', {
    as: 'operator',
    body: suggestion('errors-bucket'),
  });
  return res.body.action.id as string;
}

/** Sends raw bytes on one connection and returns everything the server wrote back. */
function rawHttp(port: number, request: string, more?: (send: (text: string) => void) => void) {
  return new Promise<string>((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => {
      socket.write(request);
      more?.((text) => socket.write(text));
    });
    let answer = '';
    socket.on('data', (chunk) => (answer += chunk));
    socket.on('error', reject);
    socket.on('close', () => resolve(answer));
  });
}

function parseRaw(answer: string) {
  const [head = '', body = ''] = answer.split('\r\n\r\n');
  const status = Number(/^HTTP\/1\.1 (\d+)/.exec(head)?.[1]);
  return { status, head, body: JSON.parse(body) };
}

const port = () => Number(new URL(api.url).port);

describe('framework and connection errors keep the one error shape', () => {
  it('an id longer than the router takes is invalid_input, on every route with an id', async () => {
    const long = 'a'.repeat(101);
    const calls: [string, string][] = [
      ['GET', `/api/v1/actions/${long}`],
      ['POST', `/api/v1/actions/${long}/approve`],
      ['DELETE', `/api/v1/tokens/${long}`],
    ];
    for (const [method, path] of calls) {
      const res = await api.call(method, path);
      expectError(res, 400, 'invalid_input');
      expect(res.body.error.message).toContain('longer than 100 characters');
    }
    const fits = await api.call('GET', `/api/v1/actions/${'a'.repeat(100)}`);
    expectError(fits, 404, 'not_found');
  });

  it('a malformed percent-encoding is invalid_input', async () => {
    for (const path of ['/api/v1/actions/%ZZ', '/api/v1/tokens/%E0%A4%A']) {
      const method = path.includes('tokens') ? 'DELETE' : 'GET';
      const res = await api.call(method, path);
      expectError(res, 400, 'invalid_input');
      expect(res.body.error.message).toContain('percent-encoding');
    }
  });

  it('headers over the limit are headers_too_large, from the HTTP parser itself', async () => {
    const res = await fetch(`${api.url}/api/v1/actions`, {
      headers: { authorization: `Bearer ${api.tokens.admin}`, 'x-padding': 'p'.repeat(17_000) },
    });
    const body = (await res.json()) as { error: { message: string } };
    expectError({ status: res.status, body }, 431, 'headers_too_large');
    expect(body.error.message).toContain('16 KB');
  });

  it('a request that is not HTTP is invalid_input', async () => {
    const answer = parseRaw(await rawHttp(port(), 'HELLO THERE\r\n\r\n'));
    expectError(answer, 400, 'invalid_input');
    expect(answer.head).toMatch(/content-type: application\/json/i);
  });

  it('a request arriving while the server shuts down is 503 unavailable', async () => {
    await api.close();
    let release!: () => void;
    let reached!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const inHandler = new Promise<void>((resolve) => (reached = resolve));
    api = await startApi({
      wrapStore: (store) => ({
        ...store,
        getSettings: async () => {
          reached();
          await gate;
          return store.getSettings();
        },
      }),
    });
    const request = (path: string) =>
      `GET ${path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${api.tokens.admin}\r\n\r\n`;
    const answer = await rawHttp(port(), request('/api/v1/settings/remediation'), (send) => {
      void inHandler.then(() => {
        const closed = api.app.close();
        send(request('/api/v1/actions'));
        setTimeout(release, 50);
        return closed;
      });
    });
    const [first, second] = answer.split(/(?=HTTP\/1\.1 )/);
    expect(parseRaw(first!).status).toBe(200);
    expectError(parseRaw(second!), 503, 'unavailable');
  });
});

describe('bodies', () => {
  it('an empty JSON body counts as {} like a missing one', async () => {
    const id = await suggested();
    const approved = await api.call('POST', `/api/v1/actions/${id}/approve`, {
      raw: '',
      contentType: 'application/json',
    });
    expect(approved.status).toBe(200);
    expect(approved.body.action.status).toBe('approved');

    // Settings need at least one field: {} is refused for what it is, not for being empty.
    const settings = await api.call('PUT', '/api/v1/settings/remediation', {
      raw: '',
      contentType: 'application/json; charset=utf-8',
    });
    expectError(settings, 400, 'invalid_input');
    expect(settings.body.error.message).not.toContain('empty');
  });

  it('text/plain outside the findings upload is 415 naming application/json', async () => {
    const id = await suggested();
    const routes: [string, string][] = [
      ['POST', '/api/v1/actions'],
      ['POST', `/api/v1/actions/${id}/approve`],
      ['POST', `/api/v1/actions/${id}/comments`],
      ['PUT', '/api/v1/settings/remediation'],
      ['PUT', '/api/v1/settings/fixes'],
      ['POST', '/api/v1/tokens'],
    ];
    for (const [method, path] of routes) {
      const res = await api.call(method, path, { raw: '{}', contentType: 'text/plain' });
      expectError(res, 415, 'unsupported_media_type');
      expect(res.body.error.message).toContain('send application/json');
      expect(res.body.error.details).toEqual({
        contentType: 'text/plain',
        accepted: ['application/json'],
      });
    }
    const file = prowlerFile([{ check: ENCRYPTION_CHECK, bucket: 'plain-text' }]);
    const imported = await api.call('POST', '/api/v1/findings/import', { raw: file });
    expect(imported.status).toBe(200);
    const xml = await api.call('POST', '/api/v1/findings/import', {
      raw: file,
      contentType: 'application/xml',
    });
    expectError(xml, 415, 'unsupported_media_type');
    expect(xml.body.error.details.accepted).toEqual([
      'application/json',
      'text/plain',
      'application/yaml',
      'application/x-yaml',
      'text/yaml',
      'text/x-yaml',
    ]);
  });

  it('an empty findings file says so in details.problem, however it is sent', async () => {
    const sent = [
      { raw: '', contentType: 'application/json' },
      { raw: '  \n', contentType: 'text/plain' },
    ];
    for (const opts of sent) {
      const res = await api.call('POST', '/api/v1/findings/import', opts);
      expectError(res, 400, 'invalid_input');
      expect(res.body.error.details).toEqual({ problem: 'empty' });
      expect(res.body.error.message).toContain('the findings file is empty');
    }
    const bare = await fetch(`${api.url}/api/v1/findings/import`, {
      method: 'POST',
      headers: { authorization: `Bearer ${api.tokens.admin}` },
    });
    expect(bare.status).toBe(400);
    const answer = (await bare.json()) as { error: { details: unknown } };
    expect(answer.error.details).toEqual({ problem: 'empty' });
  });
});

describe('bodies over the limit', () => {
  it('name the request body limit outside imports, and the import limit on an import', async () => {
    const reason = 'r'.repeat(3 * 1024 * 1024);
    const sent: [string, string][] = [
      ['/api/v1/exclusions', JSON.stringify({ scope: 'account', value: '999988887777', reason })],
      ['/api/v1/actions', JSON.stringify({ ...suggestion('too-big'), title: reason })],
      ['/api/v1/scans', JSON.stringify({ trigger: reason })],
    ];
    for (const [url, raw] of sent) {
      const res = await api.call('POST', url, { raw, contentType: 'application/json' });
      expectError(res, 413, 'payload_too_large');
      expect(res.body.error.message, url).toBe(
        'the request body is larger than the request body limit of 1 MB',
      );
      expect(res.body.error.details).toEqual({ limitBytes: 1024 * 1024 });
    }
    expect((await api.call('GET', '/api/v1/exclusions')).body.items).toEqual([]);
    expect((await api.call('GET', '/api/v1/actions')).body.items).toEqual([]);

    const file = await api.call('POST', '/api/v1/findings/import', {
      raw: JSON.stringify({ padding: reason }),
      contentType: 'application/json',
    });
    expectError(file, 413, 'payload_too_large');
    expect(file.body.error.message).toBe(
      'the file is larger than the import limit of 2 MB; split the file or raise ' +
        'INFRAUDIT_IMPORT_LIMIT_MB',
    );
    expect(file.body.error.details).toEqual({ limitBytes: 2 * 1024 * 1024 });
  });
});

describe('query parameters', () => {
  it('every route refuses an unknown query parameter', async () => {
    const id = await suggested();
    const bodies: Record<string, { body?: unknown; raw?: string }> = {
      'POST /api/v1/actions': { body: suggestion('query-bucket') },
      'POST /api/v1/actions/{id}/reject': { body: { comment: 'no' } },
      'POST /api/v1/actions/{id}/comments': { body: { text: 'hi' } },
      'POST /api/v1/actions/bulk': { body: { op: 'approve', ids: ['x'] } },
      'POST /api/v1/findings/import': { raw: '[]' },
      'POST /api/v1/findings/import/stream': { raw: '[]' },
      'POST /api/v1/findings/{id}/dismiss': { body: { reason: 'accepted' } },
      'POST /api/v1/exclusions': { body: { scope: 'account', value: '1', reason: 'lab' } },
      'PUT /api/v1/settings/remediation': { body: { autoExecute: false } },
      'PUT /api/v1/settings/fixes': { body: { rdsApplyImmediately: false } },
      'PUT /api/v1/settings/checks': { body: { keyRotationDays: 90 } },
      'POST /api/v1/baselines/promote': { body: { resourceId: 'arn:aws:s3:::query' } },
      'POST /api/v1/tokens': { body: { role: 'viewer', name: 'query' } },
      'POST /api/v1/alerts/channels': {
        body: { name: 'query', type: 'slack', url: 'https://hooks.example.test/query' },
      },
      'POST /api/v1/alerts/rules': {
        body: { name: 'query', events: ['approved'], channels: ['query'] },
      },
      'POST /api/v1/users': { body: { username: 'query', role: 'viewer' } },
      'POST /api/v1/session': { body: { username: 'query', password: 'query' } },
      'POST /api/v1/session/password': {
        body: { currentPassword: 'query', newPassword: 'a query password' },
      },
    };
    // Session routes take a signed-in person, not a token.
    await addUser(api, 'query-admin', 'admin', 'query admin password');
    const browser = (await login(api, 'query-admin', 'query admin password')).browser!;
    const doc = (await api.call('GET', '/api/v1/openapi.json', { as: null })).body;
    const routes = Object.entries(doc.paths as Record<string, object>).flatMap(([path, ops]) =>
      Object.keys(ops).map((method) => `${method.toUpperCase()} ${path}`),
    );
    expect(routes.length).toBeGreaterThan(15);
    for (const route of [...routes, 'GET /api/v1/openapi.json']) {
      const [method, path] = route.split(' ') as [string, string];
      const url = `${path.replace('{id}', id).replace('{username}', 'query-admin')}?colour=red`;
      const body = method === 'POST' || method === 'PUT' ? { body: {} } : {};
      const res =
        accessFor(method, path.replace(/\{(\w+)\}/g, ':$1')) === 'session'
          ? await browse(api, browser, method, url, { ...body, ...bodies[route] })
          : await api.call(method, url, { ...body, ...bodies[route] });
      expectError(res, 400, 'invalid_input');
      expect(res.body.error.message, route).toContain('"colour"');
      expect(res.body.error.details).toEqual({ where: 'querystring' });
    }
  });

  it('a repeated filter is a list, like a comma-separated one', async () => {
    await suggested();
    const repeated = await api.call('GET', '/api/v1/actions?status=failed&status=pending_approval');
    expect(repeated.status).toBe(200);
    expect(repeated.body.items).toHaveLength(1);
    const mixed = await api.call(
      'GET',
      '/api/v1/actions?severity=low&severity=medium,high&status=pending_approval',
    );
    expect(mixed.body.items).toHaveLength(1);
    const none = await api.call('GET', '/api/v1/actions?status=failed&status=completed');
    expect(none.body.items).toEqual([]);
    const unknown = await api.call('GET', '/api/v1/actions?status=failed&status=finished');
    expectError(unknown, 400, 'invalid_input');
    expect(unknown.body.error.message).toContain('"finished"');

    const twice = await api.call('GET', '/api/v1/actions?limit=1&limit=2');
    expectError(twice, 400, 'invalid_input');
    expect(twice.body.error.message).toContain('querystring.limit is given 2 times');
  });
});
