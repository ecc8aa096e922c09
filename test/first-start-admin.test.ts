import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningServer, startServer } from '../src/cli/server.ts';
import type { ApiHarness } from './helpers/api.ts';
import { createTestDatabase, ENGINES, type TestDatabase } from './helpers/databases.ts';
import { browse, login } from './helpers/session.ts';

/**
 * The credentials `serve` makes on an empty database (user `admin` and its token), used
 * through the HTTP API of a real server.
 */
describe.each(ENGINES)('the first-start admin on %s', { timeout: 60_000 }, (engine) => {
  let database: TestDatabase;
  let dataDir: string;
  let server: RunningServer;
  let firstToken: string;

  beforeAll(async () => {
    database = await createTestDatabase(engine);
    dataDir = await mkdtemp(path.join(tmpdir(), 'infraudit-first-'));
    server = await startServer({
      dataDir,
      databaseUrl: database.url,
      host: '127.0.0.1',
      port: 0,
      demo: false,
      sandboxPort: 0,
      engineConcurrency: 1,
      enginePollMs: 1000,
      // No scheduled scan falls due while the test runs: nothing reads a cloud.
      scanTickMs: 3_600_000,
      importLimitBytes: 1024 * 1024,
      log: pino({ level: 'silent' }),
    });
    firstToken = (await readFile(server.tokenFile!, 'utf8')).trim();
  }, 60_000);
  afterAll(async () => {
    await server.close();
    await database.drop();
    await rm(dataDir, { recursive: true, force: true });
  }, 60_000);

  const call = async (method: string, route: string, token: string, body?: unknown) => {
    const response = await fetch(`${server.apiUrl}${route}`, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await response.text();
    return { status: response.status, body: text ? JSON.parse(text) : undefined };
  };
  const api = () => ({ url: server.apiUrl }) as ApiHarness;
  const auditHead = async (token: string) =>
    (await call('GET', '/api/v1/audit/verify', token)).body;
  const adminUser = async (token: string) =>
    (await call('GET', '/api/v1/users', token)).body.items.find(
      (u: { username: string }) => u.username === 'admin',
    );

  it('refuses to disable the last enabled admin, and changes nothing', async () => {
    expect(server.adminLogin?.username).toBe('admin');
    const before = await auditHead(firstToken);
    const refused = await call('POST', '/api/v1/users/admin/disable', firstToken);
    expect(refused.status).toBe(409);
    expect(refused.body.error.code).toBe('conflict');
    expect(refused.body.error.message).toContain('"admin" is the last enabled admin');
    expect(refused.body.error.message).toContain('Create or enable another admin first');
    expect(await auditHead(firstToken)).toEqual(before);
    expect((await adminUser(firstToken)).disabledAt).toBeNull();
    expect((await login(api(), 'admin', server.adminLogin!.password)).status).toBe(200);
  });

  it('stops the first-start token, and the tokens made with it, while user admin is disabled', async () => {
    const child = await call('POST', '/api/v1/tokens', firstToken, {
      role: 'admin',
      name: 'made-with-first',
    });
    expect(child.status).toBe(201);
    const root = await call('POST', '/api/v1/users', firstToken, {
      username: 'root',
      role: 'admin',
    });
    expect(root.status).toBe(201);

    const off = await call('POST', '/api/v1/users/admin/disable', firstToken);
    expect(off.status).toBe(200);
    for (const token of [firstToken, child.body.token as string]) {
      const refused = await call('GET', '/api/v1/actions', token);
      expect(refused.status).toBe(401);
      expect(refused.body.error.message).toContain('created by user "admin", who is disabled');
    }

    // The other admin, signed in to the console, is now the last one enabled.
    const signedIn = await login(api(), 'root', root.body.oneTimePassword);
    expect(signedIn.status).toBe(200);
    const changed = await browse(api(), signedIn.browser!, 'POST', '/api/v1/session/password', {
      body: { currentPassword: root.body.oneTimePassword, newPassword: 'root has a new password' },
    });
    expect(changed.status).toBe(200);
    const setCookie = changed.headers.get('set-cookie') ?? '';
    const rootBrowser = {
      cookie: setCookie.split(';')[0]!,
      csrf: (changed.body as { csrfToken: string }).csrfToken,
      setCookie,
      body: changed.body,
    };
    const last = await browse(api(), rootBrowser, 'POST', '/api/v1/users/root/disable');
    expect(last.status).toBe(409);
    expect((last.body as { error: { message: string } }).error.message).toContain(
      '"root" is the last enabled admin',
    );

    const on = await browse(api(), rootBrowser, 'POST', '/api/v1/users/admin/enable');
    expect(on.status).toBe(200);
    expect((await call('GET', '/api/v1/actions', firstToken)).status).toBe(200);
    expect((await call('GET', '/api/v1/actions', child.body.token)).status).toBe(200);
  });
});
