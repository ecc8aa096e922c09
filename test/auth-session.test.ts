import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashSessionId } from '../src/api/auth.ts';
import { startApi, suggestion, type ApiHarness } from './helpers/api.ts';
import { createTestDatabase, ENGINES, type TestDatabase } from './helpers/databases.ts';
import { addUser, browse, login, userEvents } from './helpers/session.ts';

const PASSWORD = 'correct horse battery';
const MINUTE = 60_000;

describe.each(ENGINES)('console sign-in on %s', { timeout: 60_000 }, (engine) => {
  let database: TestDatabase;
  let api: ApiHarness;
  let now = Date.parse('2026-03-01T10:00:00Z');
  const later = (ms: number) => {
    now += ms;
  };

  beforeAll(async () => {
    database = await createTestDatabase(engine);
    api = await startApi({
      database,
      clock: () => new Date(now),
      auth: { sessionIdleMs: 30 * MINUTE, sessionMaxMs: 8 * 60 * MINUTE, loginMaxFailures: 5 },
    });
    await addUser(api, 'alice', 'admin', PASSWORD);
    await addUser(api, 'olga', 'operator', PASSWORD);
    await addUser(api, 'vic', 'viewer', PASSWORD);
  }, 60_000);
  afterAll(async () => {
    await api.close();
    await database.drop();
  }, 60_000);

  it('signs in with a secure, http-only, strict cookie holding a random id stored as a hash', async () => {
    const res = await login(api, 'alice', PASSWORD);
    expect(res.status).toBe(200);
    const cookie = res.headers.get('set-cookie')!;
    expect(cookie).toMatch(/^infraudit_session=[A-Za-z0-9_-]{43};/);
    expect(cookie).toContain('HttpOnly');
    expect(cookie).toContain('SameSite=Strict');
    expect(cookie).toContain('Path=/');
    // Plain http on loopback with the `auto` setting: no Secure flag, or the browser drops it.
    expect(cookie).not.toContain('Secure');
    expect(res.body).toMatchObject({
      user: { username: 'alice', role: 'admin', mustChangePassword: false },
      csrfToken: expect.any(String),
    });
    expect(res.body.user.passwordHash).toBeUndefined();

    const id = res.browser!.cookie.split('=')[1]!;
    expect(await api.store.findSession(hashSessionId(id))).toMatchObject({
      user: { username: 'alice' },
    });
    // Only the hash is a key: the id itself finds nothing.
    expect(await api.store.findSession(id)).toBeUndefined();

    const me = await browse(api, res.browser!, 'GET', '/api/v1/session');
    expect(me.status).toBe(200);
    expect(me.body).toMatchObject({ user: { username: 'alice' }, csrfToken: res.body.csrfToken });
  });

  it('answers a wrong password, an unknown user and a disabled user alike, and changes nothing', async () => {
    await addUser(api, 'gone', 'viewer', PASSWORD);
    await api.store.setUserDisabled('gone', true, { actor: 'system', now: new Date(now) });
    const wrong = await login(api, 'olga', 'not the password');
    const unknown = await login(api, 'nobody', PASSWORD);
    const disabled = await login(api, 'gone', PASSWORD);
    for (const res of [wrong, unknown, disabled]) {
      expect(res.status).toBe(401);
      expect(res.body).toEqual({
        error: { code: 'unauthorized', message: 'wrong username or password' },
      });
      expect(res.headers.get('set-cookie')).toBeNull();
    }
    const users = await api.store.listUsers();
    expect(users.find((u) => u.username === 'olga')?.lastLoginAt).toBeNull();
  });

  it('refuses bad sign-in bodies with 400', async () => {
    for (const body of [
      {},
      { username: 'alice' },
      { username: 'alice', password: PASSWORD, x: 1 },
    ]) {
      const res = await api.call('POST', '/api/v1/session', { as: null, body });
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe('invalid_input');
    }
  });

  it('wants the CSRF header on every change made with the cookie, and not on reads or tokens', async () => {
    const olga = (await login(api, 'olga', PASSWORD)).browser!;
    const before = await api.call('GET', '/api/v1/actions?limit=500');

    const none = await browse(api, olga, 'POST', '/api/v1/actions', {
      body: suggestion('csrf-none'),
      csrf: false,
    });
    const wrong = await browse(api, olga, 'POST', '/api/v1/actions', {
      body: suggestion('csrf-wrong'),
      csrf: 'A'.repeat(olga.csrf.length),
    });
    for (const res of [none, wrong]) {
      expect(res.status).toBe(403);
      expect((res.body as any).error.message).toContain('X-CSRF-Token');
    }
    // Another session's token is no good either: it is bound to its own session.
    const other = (await login(api, 'alice', PASSWORD)).browser!;
    const crossed = await browse(api, olga, 'POST', '/api/v1/actions', {
      body: suggestion('csrf-crossed'),
      csrf: other.csrf,
    });
    expect(crossed.status).toBe(403);
    expect((await api.call('GET', '/api/v1/actions?limit=500')).body.items).toHaveLength(
      before.body.items.length,
    );

    expect((await browse(api, olga, 'GET', '/api/v1/actions', { csrf: false })).status).toBe(200);
    const made = await browse(api, olga, 'POST', '/api/v1/actions', {
      body: suggestion('csrf-ok'),
    });
    expect(made.status).toBe(201);
    // The audit trail names the person.
    expect((made.body as any).action.createdBy).toBe('user:olga');
    const events = await api.store.events((made.body as any).action.id);
    expect(events[0]?.actor).toBe('user:olga');

    // A bearer token needs no CSRF header.
    const byToken = await api.call('POST', '/api/v1/actions', {
      as: 'operator',
      body: suggestion('csrf-token'),
    });
    expect(byToken.status).toBe(201);
  });

  it('applies the role of the signed-in user', async () => {
    const vic = (await login(api, 'vic', PASSWORD)).browser!;
    expect((await browse(api, vic, 'GET', '/api/v1/actions')).status).toBe(200);
    const refused = await browse(api, vic, 'POST', '/api/v1/actions', {
      body: suggestion('viewer-tries'),
    });
    expect(refused.status).toBe(403);
    expect((refused.body as any).error.message).toContain('user "vic" has the viewer role');
    expect((await browse(api, vic, 'GET', '/api/v1/users')).status).toBe(403);
  });

  it('signs out: the session ends, the cookie is cleared, and only with the CSRF header', async () => {
    const res = await login(api, 'olga', PASSWORD);
    const olga = res.browser!;
    const forged = await browse(api, olga, 'DELETE', '/api/v1/session', { csrf: false });
    expect(forged.status).toBe(403);
    expect((await browse(api, olga, 'GET', '/api/v1/session')).status).toBe(200);

    const out = await browse(api, olga, 'DELETE', '/api/v1/session');
    expect(out.status).toBe(204);
    expect(out.headers.get('set-cookie')).toMatch(/^infraudit_session=;.*Max-Age=0/);
    const after = await browse(api, olga, 'GET', '/api/v1/session');
    expect(after.status).toBe(401);
    expect((after.body as any).error.message).toContain('sign in again');
    expect((await browse(api, olga, 'GET', '/api/v1/actions')).status).toBe(401);
  });

  it('ends a session after the idle time, and after the absolute lifetime however busy', async () => {
    const idle = (await login(api, 'vic', PASSWORD)).browser!;
    later(29 * MINUTE);
    expect((await browse(api, idle, 'GET', '/api/v1/session')).status).toBe(200);
    later(29 * MINUTE);
    // Used 29 minutes ago: still alive, the idle expiry moved with the last use.
    expect((await browse(api, idle, 'GET', '/api/v1/session')).status).toBe(200);
    later(31 * MINUTE);
    expect((await browse(api, idle, 'GET', '/api/v1/session')).status).toBe(401);

    const busy = (await login(api, 'vic', PASSWORD)).browser!;
    for (let i = 0; i < 16; i++) {
      later(29 * MINUTE);
      expect((await browse(api, busy, 'GET', '/api/v1/session')).status).toBe(200);
    }
    later(29 * MINUTE); // 8 h 3 min after sign-in
    const ended = await browse(api, busy, 'GET', '/api/v1/session');
    expect(ended.status).toBe(401);
  });

  it('ends the sessions of a disabled user at once', async () => {
    await addUser(api, 'dora', 'operator', PASSWORD);
    const dora = (await login(api, 'dora', PASSWORD)).browser!;
    const off = await api.call('POST', '/api/v1/users/dora/disable');
    expect(off.status).toBe(200);
    expect((await browse(api, dora, 'GET', '/api/v1/actions')).status).toBe(401);
    await api.call('POST', '/api/v1/users/dora/enable');
    // Enabling again does not bring the old session back.
    expect((await browse(api, dora, 'GET', '/api/v1/actions')).status).toBe(401);
    expect((await login(api, 'dora', PASSWORD)).status).toBe(200);
  });

  it('rate-limits failed sign-ins per username, known or not, with Retry-After', async () => {
    await addUser(api, 'rita', 'viewer', PASSWORD);
    for (const username of ['rita', 'nosuchuser']) {
      for (let i = 0; i < 5; i++) {
        expect((await login(api, username, `wrong-${i}`)).status).toBe(401);
        later(1000);
      }
      const blocked = await login(api, username, PASSWORD);
      expect(blocked.status).toBe(429);
      expect(blocked.body.error.code).toBe('too_many_requests');
      const retry = Number(blocked.headers.get('retry-after'));
      // The first failure was 5 s ago, so it leaves the 15-minute window in 895 s.
      expect(retry).toBe(15 * 60 - 5);
      expect(blocked.headers.get('set-cookie')).toBeNull();
    }
    // The same answer whether or not the user exists; other users are not affected.
    expect((await login(api, 'olga', PASSWORD)).status).toBe(200);
    later(15 * MINUTE);
    expect((await login(api, 'rita', PASSWORD)).status).toBe(200);
  });

  it('expires and revokes API tokens', async () => {
    const created = await api.call('POST', '/api/v1/tokens', {
      body: { role: 'viewer', name: 'short-lived', expiresInMinutes: 60 },
    });
    expect(created.status).toBe(201);
    expect(created.body.info.expiresAt).toBe(new Date(now + 60 * MINUTE).toISOString());
    const token = { token: created.body.token as string };
    expect((await api.call('GET', '/api/v1/actions', { as: token })).status).toBe(200);
    later(61 * MINUTE);
    const expired = await api.call('GET', '/api/v1/actions', { as: token });
    expect(expired.status).toBe(401);
    expect(expired.body.error.message).toContain('"short-lived" expired at');
    const listed = (await api.call('GET', '/api/v1/tokens')).body.items;
    expect(listed.find((t: any) => t.name === 'short-lived').expiresAt).toBe(
      created.body.info.expiresAt,
    );

    const other = await api.call('POST', '/api/v1/tokens', {
      body: { role: 'viewer', name: 'to-revoke' },
    });
    expect(other.body.info.expiresAt).toBeNull();
    await api.call('DELETE', `/api/v1/tokens/${other.body.info.id}`);
    const revoked = await api.call('GET', '/api/v1/actions', { as: { token: other.body.token } });
    expect(revoked.status).toBe(401);
    expect(revoked.body.error.message).toContain('revoked');

    for (const bad of [0, -1, 1.5, '60', 10_000_000]) {
      const res = await api.call('POST', '/api/v1/tokens', {
        body: { role: 'viewer', name: `bad-${String(bad)}`, expiresInMinutes: bad },
      });
      expect(res.status).toBe(400);
    }
    const names = (await api.call('GET', '/api/v1/tokens')).body.items.map((t: any) => t.name);
    expect(names.filter((n: string) => n.startsWith('bad-'))).toEqual([]);
  });

  it('records sign-in and sign-out in the audit log', async () => {
    const res = await login(api, 'alice', PASSWORD);
    await browse(api, res.browser!, 'DELETE', '/api/v1/session');
    const events = await userEvents(api, database);
    const alice = events.filter((e) => e.actor === 'user:alice');
    expect(alice.map((e) => e.comment).slice(-2)).toEqual(['signed in', 'signed out']);
    const dora = events.filter((e) => e.data.includes('"dora"')).map((e) => [e.actor, e.comment]);
    expect(dora).toContainEqual(['token:admin-test', 'user disabled']);
    expect(dora).toContainEqual(['token:admin-test', 'user enabled']);
  });
});

describe('sign-in rate limit per address', { timeout: 60_000 }, () => {
  let api: ApiHarness;
  beforeAll(async () => {
    api = await startApi({ auth: { loginMaxFailures: 100, loginMaxFailuresPerIp: 3 } });
    await addUser(api, 'amy', 'viewer', PASSWORD);
  }, 60_000);
  afterAll(() => api.close(), 60_000);

  it('blocks an address that fails across many usernames', async () => {
    for (const name of ['u1', 'u2', 'u3'])
      expect((await login(api, name, 'guess')).status).toBe(401);
    const blocked = await login(api, 'amy', PASSWORD);
    expect(blocked.status).toBe(429);
    expect(Number(blocked.headers.get('retry-after'))).toBeGreaterThan(0);
  });
});

describe('the Secure cookie flag', { timeout: 60_000 }, () => {
  it('is set when configured for a TLS-terminating proxy', async () => {
    const api = await startApi({ auth: { cookieSecure: 'always' } });
    try {
      await addUser(api, 'sam', 'viewer', PASSWORD);
      const res = await login(api, 'sam', PASSWORD);
      expect(res.headers.get('set-cookie')).toMatch(/; Secure$/);
    } finally {
      await api.close();
    }
  });
});
