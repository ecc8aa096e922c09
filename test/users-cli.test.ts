import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.ts';
import { DEMO_ADMIN_PASSWORD } from '../src/cli/server.ts';
import { cli } from './helpers/cli.ts';
import { createTestDatabase, ENGINES, type TestDatabase } from './helpers/databases.ts';
import { startServe, type ServeProcess } from './helpers/serve.ts';

async function signIn(api: string, username: string, password: string) {
  const res = await fetch(`${api}/api/v1/session`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username, password }),
  });
  return { status: res.status, body: (await res.json()) as any };
}

describe.each(ENGINES)(
  'first start and `infraudit users` on %s',
  { timeout: 120_000 },
  (engine) => {
    let database: TestDatabase;
    let serve: ServeProcess | undefined;
    let env: Record<string, string>;
    let oneTime: string;

    const start = async () => {
      serve = await startServe(
        ['--data', database.dataDir, '--port', '0'],
        database.url ? { DATABASE_URL: database.url } : {},
      );
      return serve;
    };

    beforeAll(async () => {
      database = await createTestDatabase(engine);
      const first = await start();
      const token = (await readFile(first.endpoints['admin token']!, 'utf8')).trim();
      env = { INFRAUDIT_URL: first.endpoints.api!, INFRAUDIT_TOKEN: token };
    }, 60_000);
    afterAll(async () => {
      await serve?.stop();
      await database.drop();
    }, 60_000);

    it('prints a one-time admin password once, beside the token, and stores only its hash', async () => {
      const line = serve!.endpoints['admin login']!;
      const match = /^admin \/ (\S+) \(one-time password: change it at first sign-in\)$/.exec(line);
      expect(match, line).not.toBeNull();
      oneTime = match![1]!;
      const first = await signIn(env.INFRAUDIT_URL!, 'admin', oneTime);
      expect(first.status).toBe(200);
      expect(first.body.user).toMatchObject({ username: 'admin', mustChangePassword: true });

      expect(serve!.stderr()).not.toContain(oneTime);
      for (const file of await readdir(database.dataDir)) {
        const text = (await readFile(path.join(database.dataDir, file))).toString('latin1');
        expect(text.includes(oneTime), file).toBe(false);
      }

      // A later start creates nobody and prints no password.
      expect(await serve!.stop()).toBe(0);
      const again = await start();
      expect(again.endpoints['admin login']).toBeUndefined();
      env.INFRAUDIT_URL = again.endpoints.api!;
      expect((await signIn(env.INFRAUDIT_URL, 'admin', oneTime)).status).toBe(200);
    });

    it('creates, lists, disables, enables and resets users', async () => {
      const created = await cli(['users', 'create', 'kim', '--role', 'operator'], env);
      expect(created.code, created.stderr).toBe(0);
      const password = /one-time password: (\S+)/.exec(created.stdout)?.[1];
      expect(password).toMatch(/^[A-Za-z0-9_-]{20}$/);
      expect(created.stdout).toContain('the user must change it at first sign-in');

      const named = await cli(
        ['-o', 'json', 'users', 'create', 'lee', '--role', 'viewer', '--display-name', 'Lee Park'],
        env,
      );
      expect(JSON.parse(named.stdout)).toMatchObject({
        user: { username: 'lee', displayName: 'Lee Park', role: 'viewer' },
        oneTimePassword: expect.any(String),
      });

      const listed = await cli(['users', 'list'], env);
      expect(listed.stdout).toMatch(/kim\s+kim\s+operator\s+never\s+active, must change password/);
      expect(listed.stdout).not.toContain(password!);
      const json = JSON.parse((await cli(['-o', 'json', 'users', 'list'], env)).stdout);
      expect(json.items.map((u: any) => u.username)).toEqual(['admin', 'kim', 'lee']);

      const off = await cli(['users', 'disable', 'kim'], env);
      expect(off.stdout).toBe('user kim disabled\n');
      expect((await signIn(env.INFRAUDIT_URL!, 'kim', password!)).status).toBe(401);
      expect((await cli(['users', 'list'], env)).stdout).toMatch(
        /kim .*disabled .* by token:admin/,
      );
      expect((await cli(['users', 'enable', 'kim'], env)).stdout).toBe('user kim enabled\n');

      const reset = await cli(['users', 'reset-password', 'kim'], env);
      const fresh = /one-time password: (\S+)/.exec(reset.stdout)?.[1];
      expect(fresh).toBeDefined();
      expect(fresh).not.toBe(password);
      expect((await signIn(env.INFRAUDIT_URL!, 'kim', password!)).status).toBe(401);
      expect((await signIn(env.INFRAUDIT_URL!, 'kim', fresh!)).status).toBe(200);
    });

    it('refuses bad input with a clear error and changes nothing', async () => {
      const before = (await cli(['-o', 'json', 'users', 'list'], env)).stdout;
      const bad = await cli(['users', 'create', 'Not Valid', '--role', 'viewer'], env);
      expect(bad.code).toBe(2);
      expect(bad.stderr).toContain('lowercase letters');
      const role = await cli(['users', 'create', 'zed', '--role', 'root'], env);
      expect(role.code).toBe(2);
      expect(role.stderr).toContain('root');
      const dup = await cli(['users', 'create', 'kim', '--role', 'viewer'], env);
      expect(dup.code).toBe(1);
      expect(dup.stderr).toContain('"kim" already exists');
      const last = await cli(['users', 'disable', 'admin'], env);
      expect(last.code).toBe(1);
      expect(last.stderr).toContain('last enabled admin');
      const missing = await cli(['users', 'enable', 'nobody'], env);
      expect(missing.code).toBe(1);
      expect(missing.stderr).toContain('no user named "nobody"');
      expect((await cli(['-o', 'json', 'users', 'list'], env)).stdout).toBe(before);

      const viewer = JSON.parse(
        (await cli(['-o', 'json', 'tokens', 'create', '--role', 'viewer', '--name', 'v'], env))
          .stdout,
      ).token;
      const refused = await cli(['users', 'list'], { ...env, INFRAUDIT_TOKEN: viewer });
      expect(refused.code).toBe(1);
      expect(refused.stderr).toContain('admin role');
    });

    it('creates tokens that expire', async () => {
      const made = await cli(
        [
          '-o',
          'json',
          'tokens',
          'create',
          '--role',
          'viewer',
          '--name',
          'short-term',
          '--expires-in',
          '2h',
        ],
        env,
      );
      expect(made.code, made.stderr).toBe(0);
      const info = JSON.parse(made.stdout).info;
      const hours = (Date.parse(info.expiresAt) - Date.parse(info.createdAt)) / 3_600_000;
      expect(hours).toBe(2);
      expect((await cli(['tokens', 'list'], env)).stdout).toMatch(/short-term .* expires \d{4}-/);
      for (const bad of ['0m', '2w', 'soon', '3651d']) {
        const res = await cli(
          ['tokens', 'create', '--role', 'viewer', '--name', `bad-${bad}`, '--expires-in', bad],
          env,
        );
        expect(res.code, bad).toBe(2);
        expect(res.stderr).toContain('expected a duration');
      }
    });
  },
);

describe('serve --demo', { timeout: 120_000 }, () => {
  let serve: ServeProcess | undefined;
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase('sqlite');
    serve = await startServe(['--demo', '--data', database.dataDir, '--port', '0']);
  }, 60_000);
  afterAll(async () => {
    await serve?.stop();
    await database.drop();
  }, 60_000);

  it('prints the documented demo login, which needs no change', async () => {
    expect(serve!.endpoints['admin login']).toBe(`admin / ${DEMO_ADMIN_PASSWORD} (demo)`);
    const res = await signIn(serve!.endpoints.api!, 'admin', DEMO_ADMIN_PASSWORD);
    expect(res.status).toBe(200);
    expect(res.body.user.mustChangePassword).toBe(false);
  });
});

describe('sign-in settings', () => {
  it('has defaults and refuses values out of range, naming the variable', () => {
    expect(loadConfig({}, '/').auth).toEqual({
      sessionMaxMs: 12 * 3_600_000,
      sessionIdleMs: 30 * 60_000,
      cookieSecure: 'auto',
      loginMaxFailures: 5,
      loginMaxFailuresPerIp: 20,
      loginWindowMs: 15 * 60_000,
    });
    expect(
      loadConfig(
        {
          INFRAUDIT_SESSION_HOURS: '1',
          INFRAUDIT_SESSION_IDLE_MINUTES: '5',
          INFRAUDIT_COOKIE_SECURE: 'always',
          INFRAUDIT_LOGIN_MAX_FAILURES: '3',
          INFRAUDIT_LOGIN_MAX_FAILURES_PER_IP: '10',
          INFRAUDIT_LOGIN_WINDOW_MINUTES: '60',
        },
        '/',
      ).auth,
    ).toEqual({
      sessionMaxMs: 3_600_000,
      sessionIdleMs: 5 * 60_000,
      cookieSecure: 'always',
      loginMaxFailures: 3,
      loginMaxFailuresPerIp: 10,
      loginWindowMs: 60 * 60_000,
    });
    for (const [name, value] of [
      ['INFRAUDIT_SESSION_HOURS', '0'],
      ['INFRAUDIT_SESSION_IDLE_MINUTES', 'soon'],
      ['INFRAUDIT_COOKIE_SECURE', 'yes'],
      ['INFRAUDIT_LOGIN_MAX_FAILURES', '-1'],
      ['INFRAUDIT_LOGIN_MAX_FAILURES_PER_IP', '0'],
      ['INFRAUDIT_LOGIN_WINDOW_MINUTES', '100000'],
    ] as const) {
      expect(() => loadConfig({ [name]: value }, '/'), name).toThrow(name);
    }
  });
});
