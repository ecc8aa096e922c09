import { describe, expect, it } from 'vitest';
import type { ApiHarness } from './helpers/api.ts';
import { ENGINES, type TestDatabase } from './helpers/databases.ts';
import { apiPerSuite, signIn } from './helpers/people.ts';
import { addUser, browse, login, userEvents } from './helpers/session.ts';

const PASSWORD = 'a long enough password';

describe.each(ENGINES)('users over the API on %s', { timeout: 60_000 }, (engine) => {
  let database: TestDatabase;
  let api: ApiHarness;
  apiPerSuite(engine, {}, (started, created) => {
    api = started;
    database = created;
  });

  const usernames = async () =>
    (await api.call('GET', '/api/v1/users')).body.items.map((u: any) => u.username);

  it('creates a user with a one-time password shown once, which must be changed first', async () => {
    const created = await api.call('POST', '/api/v1/users', {
      body: { username: 'erin', role: 'operator', displayName: 'Erin Example' },
    });
    expect(created.status).toBe(201);
    expect(created.body.user).toMatchObject({
      username: 'erin',
      displayName: 'Erin Example',
      role: 'operator',
      mustChangePassword: true,
      disabledAt: null,
      createdBy: 'token:admin-test',
      lastLoginAt: null,
    });
    const oneTime: string = created.body.oneTimePassword;
    expect(oneTime).toMatch(/^[A-Za-z0-9_-]{20}$/);

    const listed = await api.call('GET', '/api/v1/users');
    expect(listed.text).not.toContain(oneTime);
    expect(listed.text).not.toContain('scrypt');
    expect(listed.body.items.find((u: any) => u.username === 'erin').passwordHash).toBeUndefined();

    const signedIn = await login(api, 'erin', oneTime);
    expect(signedIn.status).toBe(200);
    expect(signedIn.body.user.mustChangePassword).toBe(true);
    const erin = signedIn.browser!;
    const blocked = await browse(api, erin, 'GET', '/api/v1/actions');
    expect(blocked.status).toBe(403);
    expect((blocked.body as any).error.message).toContain('one-time password');

    const wrong = await browse(api, erin, 'POST', '/api/v1/session/password', {
      body: { currentPassword: 'not it at all', newPassword: 'my own new password' },
    });
    expect(wrong.status).toBe(403);
    const short = await browse(api, erin, 'POST', '/api/v1/session/password', {
      body: { currentPassword: oneTime, newPassword: 'short' },
    });
    expect(short.status).toBe(400);
    const same = await browse(api, erin, 'POST', '/api/v1/session/password', {
      body: { currentPassword: oneTime, newPassword: oneTime },
    });
    expect(same.status).toBe(400);
    // Refused changes changed nothing: the one-time password still signs in.
    const second = (await login(api, 'erin', oneTime)).browser!;

    const changed = await browse(api, erin, 'POST', '/api/v1/session/password', {
      body: { currentPassword: oneTime, newPassword: 'my own new password' },
    });
    expect(changed.status).toBe(200);
    expect((changed.body as any).user.mustChangePassword).toBe(false);
    // The session lives on under a new id and CSRF token; the old id is over.
    expect((await browse(api, erin, 'GET', '/api/v1/actions')).status).toBe(401);
    const setCookie = changed.headers.get('set-cookie') ?? '';
    const renewed = {
      cookie: setCookie.split(';')[0]!,
      csrf: (changed.body as any).csrfToken as string,
      setCookie,
      body: changed.body,
    };
    expect((await browse(api, renewed, 'GET', '/api/v1/actions')).status).toBe(200);
    // The other session ended with the password change; the old password is gone.
    expect((await browse(api, second, 'GET', '/api/v1/session')).status).toBe(401);
    expect((await login(api, 'erin', oneTime)).status).toBe(401);
    expect((await login(api, 'erin', 'my own new password')).status).toBe(200);

    const events = await userEvents(api, database);
    const comments = events.filter((e) => e.data.includes('"erin"')).map((e) => e.comment);
    expect(comments).toEqual([
      'user created',
      'signed in',
      'signed in',
      'password changed',
      'signed in',
    ]);
    expect(events.map((e) => `${e.data}`).join('\n')).not.toContain(oneTime);
  });

  it('refuses bad users with a clear error and creates nothing', async () => {
    const before = await usernames();
    const bad: [unknown, string][] = [
      [{ username: 'Upper', role: 'viewer' }, 'body.username'],
      [{ username: 'has space', role: 'viewer' }, 'body.username'],
      [{ username: 'x'.repeat(65), role: 'viewer' }, 'body.username'],
      [{ username: 'ok', role: 'superuser' }, 'body.role'],
      [{ username: 'ok', role: 'viewer', password: 'short' }, 'body.password'],
      [{ username: 'ok', role: 'viewer', isAdmin: true }, 'isAdmin'],
      [{ role: 'viewer' }, 'username'],
    ];
    for (const [body, mention] of bad) {
      const res = await api.call('POST', '/api/v1/users', { body });
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.body.error.code).toBe('invalid_input');
      expect(res.body.error.message).toContain(mention);
    }
    await api.call('POST', '/api/v1/users', { body: { username: 'twin', role: 'viewer' } });
    const dup = await api.call('POST', '/api/v1/users', {
      body: { username: 'twin', role: 'admin' },
    });
    expect(dup.status).toBe(409);
    expect(dup.body.error.message).toContain('"twin" already exists');
    expect(await usernames()).toEqual([...before, 'twin']);
  });

  it('is for admins only', async () => {
    for (const as of ['viewer', 'operator'] as const) {
      const res = await api.call('POST', '/api/v1/users', {
        as,
        body: { username: `by-${as}`, role: 'admin' },
      });
      expect(res.status).toBe(403);
      expect((await api.call('GET', '/api/v1/users', { as })).status).toBe(403);
    }
    expect(await usernames()).not.toContain('by-operator');
  });

  it('disables and enables, never the last enabled admin', async () => {
    await addUser(api, 'root1', 'admin', PASSWORD);
    const root2 = await signIn(api, 'root2', 'admin', PASSWORD);
    const off = await api.call('POST', '/api/v1/users/root2/disable');
    expect(off.status).toBe(200);
    expect(off.body.user).toMatchObject({ disabledBy: 'token:admin-test' });
    expect((await browse(api, root2, 'GET', '/api/v1/users')).status).toBe(401);
    expect((await login(api, 'root2', PASSWORD)).status).toBe(401);

    const refused = await api.call('POST', '/api/v1/users/root1/disable');
    expect(refused.status).toBe(409);
    expect(refused.body.error.message).toContain('last enabled admin');
    expect((await login(api, 'root1', PASSWORD)).status).toBe(200);

    const again = await api.call('POST', '/api/v1/users/root2/disable');
    expect(again.status).toBe(409);
    expect(again.body.error.message).toContain('already disabled');
    const on = await api.call('POST', '/api/v1/users/root2/enable');
    expect(on.status).toBe(200);
    expect(on.body.user.disabledAt).toBeNull();
    expect((await login(api, 'root2', PASSWORD)).status).toBe(200);
    expect((await api.call('POST', '/api/v1/users/nobody-here/disable')).status).toBe(404);
    expect((await api.call('POST', '/api/v1/users/Bad%20Name/disable')).status).toBe(400);
  });

  it('lets only one of two admins disabling each other at once win', async () => {
    for (const name of ['duel-a', 'duel-b']) await addUser(api, name, 'admin', PASSWORD);
    // Leave exactly these two enabled admins.
    for (const u of (await api.call('GET', '/api/v1/users')).body.items) {
      if (u.role === 'admin' && u.disabledAt === null && !u.username.startsWith('duel-')) {
        expect((await api.call('POST', `/api/v1/users/${u.username}/disable`)).status).toBe(200);
      }
    }
    const [a, b] = await Promise.all([
      api.store.setUserDisabled('duel-a', true, { actor: 'user:duel-b', now: new Date() }).then(
        () => 'ok',
        (e: { code: string }) => e.code,
      ),
      api.store.setUserDisabled('duel-b', true, { actor: 'user:duel-a', now: new Date() }).then(
        () => 'ok',
        (e: { code: string }) => e.code,
      ),
    ]);
    expect([a, b].sort()).toEqual(['conflict', 'ok']);
    const left = (await api.call('GET', '/api/v1/users')).body.items.filter(
      (u: any) => u.role === 'admin' && u.disabledAt === null,
    );
    expect(left).toHaveLength(1);
  });

  it('resets a password to a new one-time password and ends the sessions', async () => {
    const fay = await signIn(api, 'fay', 'viewer', PASSWORD);
    const reset = await api.call('POST', '/api/v1/users/fay/password');
    expect(reset.status).toBe(200);
    expect(reset.body.user.mustChangePassword).toBe(true);
    expect((await browse(api, fay, 'GET', '/api/v1/session')).status).toBe(401);
    expect((await login(api, 'fay', PASSWORD)).status).toBe(401);
    expect((await login(api, 'fay', reset.body.oneTimePassword)).status).toBe(200);
    const events = await userEvents(api, database);
    expect(events.at(-2)).toMatchObject({ actor: 'token:admin-test', comment: 'password reset' });
  });
});
