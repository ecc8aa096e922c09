import { beforeAll, describe, expect, it } from 'vitest';
import { suggestion, type ApiHarness } from './helpers/api.ts';
import { fillOwners } from '../src/store/migrations/013-token-owner.ts';
import type { Store } from '../src/store/store.ts';
import { newAction } from './helpers/actions.ts';
import { ENGINES, kyselyFor, storePerSuite, type TestDatabase } from './helpers/databases.ts';
import { apiPerSuite, mintToken, signIn } from './helpers/people.ts';
import { addUser, browse, login, type Browser } from './helpers/session.ts';

const PASSWORD = 'correct horse battery staple';
let bucketCount = 0;
const bucket = () => `persons-${process.pid}-${++bucketCount}`;

describe.each(ENGINES)('people behind tokens on %s', { timeout: 60_000 }, (engine) => {
  let api: ApiHarness;
  let now = Date.parse('2026-06-01T10:00:00Z');
  apiPerSuite(engine, { clock: () => new Date(now) }, (started) => {
    api = started;
  });
  beforeAll(async () => {
    // Another enabled admin user, so the ones under test may be disabled.
    await addUser(api, 'root', 'admin', PASSWORD);
  }, 60_000);

  const head = async () => (await api.store.verifyAudit()).head.seq;
  const signInAdmin = (username: string) => signIn(api, username, 'admin', PASSWORD);
  const createAs = async (as: { token: string } | Browser) => {
    const body = suggestion(bucket());
    const res =
      'token' in as
        ? await api.call('POST', '/api/v1/actions', { as, body })
        : await browse(api, as, 'POST', '/api/v1/actions', { body });
    expect(res.status, res.text).toBeLessThan(300);
    return (res.body as any).action.id as string;
  };

  it('refuses the tokens a user created while that user is disabled, and lists who created each', async () => {
    const dan = await signInAdmin('dan');
    const own = await mintToken(api, dan, 'dan-token');
    // A token made with dan's token belongs to dan too.
    const child = await api.call('POST', '/api/v1/tokens', {
      as: { token: own.token },
      body: { role: 'admin', name: 'dan-child' },
    });
    expect(child.status).toBe(201);
    const childToken = { token: child.body.token as string };

    const listed = (await api.call('GET', '/api/v1/tokens')).body.items;
    const createdBy = (name: string) => listed.find((t: any) => t.name === name).createdBy;
    expect(createdBy('dan-token')).toBe('user:dan');
    expect(createdBy('dan-child')).toBe('token:dan-token');
    expect(createdBy('admin-test')).toBe('local');

    expect((await api.call('POST', '/api/v1/users/dan/disable')).status).toBe(200);
    for (const token of [{ token: own.token }, childToken]) {
      const refused = await api.call('GET', '/api/v1/actions', { as: token });
      expect(refused.status).toBe(401);
      expect(refused.body.error.message).toContain('created by user "dan", who is disabled');
    }
    // The disabled admin cannot enable themselves with a token they made earlier.
    const before = await head();
    const self = await api.call('POST', '/api/v1/users/dan/enable', { as: { token: own.token } });
    expect(self.status).toBe(401);
    expect(await head()).toBe(before);
    const users = (await api.call('GET', '/api/v1/users')).body.items;
    expect(users.find((u: any) => u.username === 'dan').disabledAt).not.toBeNull();

    expect((await api.call('POST', '/api/v1/users/dan/enable')).status).toBe(200);
    expect((await api.call('GET', '/api/v1/actions', { as: { token: own.token } })).status).toBe(
      200,
    );
    expect((await api.call('GET', '/api/v1/actions', { as: childToken })).status).toBe(200);
  });

  it('counts a user and the tokens they made as one person for four-eyes', async () => {
    const ann = await signInAdmin('ann');
    const second = await mintToken(api, ann, 'ann-second');
    const grandchild = await api.call('POST', '/api/v1/tokens', {
      as: { token: second.token },
      body: { role: 'admin', name: 'ann-third' },
    });
    const third = { token: grandchild.body.token as string };

    // Created in the console, approved with a token the same person minted: refused.
    const id = await createAs(ann);
    const before = await head();
    for (const as of [{ token: second.token }, third]) {
      const res = await api.call('POST', `/api/v1/actions/${id}/approve`, { as });
      expect(res.status).toBe(403);
      expect(res.body.error).toMatchObject({
        code: 'forbidden',
        details: { rule: 'four_eyes', createdBy: 'user:ann', person: 'user:ann' },
      });
      expect(res.body.error.message).toContain('acting for user:ann');
    }
    expect(await head()).toBe(before);
    expect((await api.store.getAction(id))!.status).toBe('pending_approval');

    // Created with the token, approved in the console by its maker: refused as well.
    const other = await createAs({ token: second.token });
    const fromConsole = await browse(api, ann, 'POST', `/api/v1/actions/${other}/approve`);
    expect(fromConsole.status).toBe(403);
    expect((fromConsole.body as any).error.details.person).toBe('user:ann');

    // Another person approves both.
    expect((await api.call('POST', `/api/v1/actions/${id}/approve`)).status).toBe(200);
    expect((await api.call('POST', `/api/v1/actions/${other}/approve`)).status).toBe(200);
  });

  it('treats the first-start admin token as the first-start admin user', async () => {
    // What serve does on an empty database: user `admin` and token `admin`, both by system.
    await addUser(api, 'admin', 'admin', PASSWORD);
    const first = await api.store.createToken({
      role: 'admin',
      name: 'admin',
      now: new Date(now),
      actor: 'system',
    });
    const admin = (await login(api, 'admin', PASSWORD)).browser!;
    const id = await createAs({ token: first.token });
    const res = await browse(api, admin, 'POST', `/api/v1/actions/${id}/approve`);
    expect(res.status).toBe(403);
    expect((res.body as any).error.details).toMatchObject({
      rule: 'four_eyes',
      createdBy: 'token:admin',
      person: 'user:admin',
    });
    // Disabling that user stops the first-start token too: it belongs to that user.
    await addUser(api, 'backup', 'admin', PASSWORD);
    expect((await api.call('POST', '/api/v1/users/admin/disable')).status).toBe(200);
    expect((await api.call('GET', '/api/v1/actions', { as: { token: first.token } })).status).toBe(
      401,
    );
    expect((await api.call('POST', '/api/v1/users/admin/enable')).status).toBe(200);
    expect((await api.call('GET', '/api/v1/actions', { as: { token: first.token } })).status).toBe(
      200,
    );
  });

  it('lets a person approve their own action only while allowSelfApproval is on, audited', async () => {
    const eve = await signInAdmin('eve');
    const eveToken = await mintToken(api, eve, 'eve-token');
    const relax = await api.call('PUT', '/api/v1/settings/remediation', {
      body: { allowSelfApproval: true },
    });
    expect(relax.status).toBe(200);
    try {
      const id = await createAs(eve);
      const res = await api.call('POST', `/api/v1/actions/${id}/approve`, {
        as: { token: eveToken.token },
      });
      expect(res.status).toBe(200);
      const events = (await api.store.auditLog({ actionId: id, type: ['transition'] })).items;
      expect(events.find((e) => e.to === 'approved')!.data).toMatchObject({ selfApproval: true });
    } finally {
      await api.call('PUT', '/api/v1/settings/remediation', { body: { allowSelfApproval: false } });
    }
  });

  it('never counts expiring admin tokens, or those of a disabled user, as the last admin token', async () => {
    const tokens = (await api.call('GET', '/api/v1/tokens')).body.items as any[];
    // Leave exactly one lasting admin token besides admin-test's: none.
    for (const t of tokens) {
      if (t.role === 'admin' && t.revokedAt === null && t.name !== 'admin-test') {
        const res = await api.call('DELETE', `/api/v1/tokens/${t.id}`);
        expect(res.status, res.text).toBe(200);
      }
    }
    const expiring = await api.call('POST', '/api/v1/tokens', {
      body: { role: 'admin', name: 'short-admin', expiresInMinutes: 30 },
    });
    expect(expiring.status).toBe(201);
    const fay = await signInAdmin('fay');
    await mintToken(api, fay, 'fay-token');
    expect((await api.call('POST', '/api/v1/users/fay/disable')).status).toBe(200);

    const adminTest = tokens.find((t) => t.name === 'admin-test');
    const before = await head();
    const refused = await api.call('DELETE', `/api/v1/tokens/${adminTest.id}`, {
      as: { token: expiring.body.token },
    });
    expect(refused.status).toBe(409);
    expect(refused.body.error.message).toContain('last active admin token that keeps working');
    expect(refused.body.error.message).toContain('with an expiry');
    expect(await head()).toBe(before);
    expect((await api.call('GET', '/api/v1/actions')).status).toBe(200);

    const lasting = await api.call('POST', '/api/v1/tokens', {
      body: { role: 'admin', name: 'lasting-admin' },
    });
    const revoked = await api.call('DELETE', `/api/v1/tokens/${adminTest.id}`, {
      as: { token: lasting.body.token },
    });
    expect(revoked.status).toBe(200);
    api.tokens.admin = lasting.body.token;
  });
});

describe.each(ENGINES)(
  'sign-in rate limit under concurrency on %s',
  { timeout: 120_000 },
  (engine) => {
    let api: ApiHarness;
    const now = Date.parse('2026-06-01T10:00:00Z');
    apiPerSuite(
      engine,
      {
        clock: () => new Date(now),
        auth: { loginMaxFailures: 5, loginMaxFailuresPerIp: 10_000 },
      },
      (started) => {
        api = started;
      },
    );

    const statuses = (results: { status: number }[]) => {
      const counts: Record<number, number> = {};
      for (const r of results) counts[r.status] = (counts[r.status] ?? 0) + 1;
      return counts;
    };

    it('lets only five of forty concurrent guesses be checked, the right one included', async () => {
      await addUser(api, 'gus', 'viewer', PASSWORD);
      const guesses = Array.from({ length: 40 }, (_, i) => (i === 20 ? PASSWORD : `wrong-${i}`));
      const results = await Promise.all(guesses.map((p) => login(api, 'gus', p)));
      const counts = statuses(results);
      expect(counts[429]).toBe(35);
      expect((counts[401] ?? 0) + (counts[200] ?? 0)).toBe(5);
      expect(counts[200] ?? 0).toBeLessThanOrEqual(1);
      // The window is full: even the right password waits now.
      expect((await login(api, 'gus', PASSWORD)).status).toBe(429);
    });

    it('caps concurrent wrong guesses at five, then answers 429', async () => {
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, i) => login(api, 'nobody-here', `guess-${i}`)),
      );
      expect(statuses(results)).toEqual({ 401: 5, 429: 15 });
    });

    it('caps concurrent current-password guesses on a password change the same way', async () => {
      const hal = await signIn(api, 'hal', 'viewer', PASSWORD);
      const results = await Promise.all(
        Array.from({ length: 12 }, (_, i) =>
          browse(api, hal, 'POST', '/api/v1/session/password', {
            body: { currentPassword: `guess-${i}`, newPassword: 'a brand new password' },
          }),
        ),
      );
      expect(statuses(results)).toEqual({ 403: 5, 429: 7 });
      const change = await browse(api, hal, 'POST', '/api/v1/session/password', {
        body: { currentPassword: PASSWORD, newPassword: 'a brand new password' },
      });
      expect(change.status).toBe(429);
      expect((await login(api, 'hal', 'a brand new password')).status).toBe(429);
    });

    it('takes a right password’s count back', async () => {
      await addUser(api, 'ivy', 'viewer', PASSWORD);
      for (let i = 0; i < 10; i++) expect((await login(api, 'ivy', PASSWORD)).status).toBe(200);
      for (let i = 0; i < 5; i++) expect((await login(api, 'ivy', `wrong-${i}`)).status).toBe(401);
      expect((await login(api, 'ivy', PASSWORD)).status).toBe(429);
    });
  },
);

describe.each(ENGINES)('names and password changes on %s', { timeout: 60_000 }, (engine) => {
  let api: ApiHarness;
  apiPerSuite(engine, {}, (started) => {
    api = started;
  });

  it('refuses control and bidirectional characters in display names, creating nothing', async () => {
    const before = (await api.call('GET', '/api/v1/users')).body.items.length;
    for (const [displayName, code] of [
      ['Mallory\u202Etxt.exe', 'U+202E'],
      ['bell\u0007', 'U+0007'],
      ['two\nlines', 'U+000A'],
      ['\u2066isolated', 'U+2066'],
    ] as const) {
      const res = await api.call('POST', '/api/v1/users', {
        body: { username: `odd-${code.slice(2).toLowerCase()}`, role: 'viewer', displayName },
      });
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe('invalid_input');
      expect(res.body.error.message).toContain(`displayName contains ${code}`);
    }
    expect((await api.call('GET', '/api/v1/users')).body.items.length).toBe(before);
    const fine = await api.call('POST', '/api/v1/users', {
      body: { username: 'zoe', role: 'viewer', displayName: 'Zoë Ångström-Ñúñez' },
    });
    expect(fine.status).toBe(201);
  });

  it('issues a new session id and CSRF token when the password changes', async () => {
    const old = await signIn(api, 'kim', 'viewer', PASSWORD);
    const changed = await browse(api, old, 'POST', '/api/v1/session/password', {
      body: { currentPassword: PASSWORD, newPassword: 'another long password' },
    });
    expect(changed.status).toBe(200);
    const setCookie = changed.headers.get('set-cookie') ?? '';
    const cookie = setCookie.split(';')[0]!;
    expect(cookie).toMatch(/^infraudit_session=.+/);
    expect(cookie).not.toBe(old.cookie);
    const csrf = (changed.body as any).csrfToken as string;
    expect(csrf).not.toBe(old.csrf);

    expect((await browse(api, old, 'GET', '/api/v1/session')).status).toBe(401);
    const fresh: Browser = { cookie, csrf, setCookie, body: changed.body };
    const me = await browse(api, fresh, 'GET', '/api/v1/session');
    expect(me.status).toBe(200);
    expect((me.body as any).csrfToken).toBe(csrf);
    expect((me.body as any).expiresAt).toBe(old.body.expiresAt);
    // The old CSRF token is no good with the new session.
    const stale = await browse(api, fresh, 'DELETE', '/api/v1/session', { csrf: old.csrf });
    expect(stale.status).toBe(403);
  });

  it('never echoes a password in an error', async () => {
    const secret = 'tiny';
    const created = await api.call('POST', '/api/v1/users', {
      body: { username: 'pia', role: 'viewer', password: secret },
    });
    expect(created.status).toBe(400);
    expect(created.body.error.message).toContain('password');
    expect(created.text).not.toContain(secret);
    const quin = await signIn(api, 'quin', 'viewer', PASSWORD);
    const res = await browse(api, quin, 'POST', '/api/v1/session/password', {
      body: { currentPassword: PASSWORD, newPassword: 'short' },
    });
    expect(res.status).toBe(400);
    expect(res.text).not.toContain('"short');
    const long = 'x'.repeat(5000);
    const tooLong = await login(api, 'quin', long);
    expect(tooLong.status).toBe(400);
    expect(tooLong.text).not.toContain('xxxxxxxx');
    expect(api.logLines.join('')).not.toContain(secret);
  });
});

describe.each(ENGINES)('filling in the owners of tokens from before on %s', (engine) => {
  let database: TestDatabase;
  let store: Store;
  storePerSuite(engine, (opened, created) => {
    store = opened;
    database = created;
  });

  it('reads each token’s creator from the audit trail, and each action’s person from it', async () => {
    const now = new Date();
    await store.createUser(
      {
        username: 'lee',
        displayName: 'Lee',
        role: 'admin',
        passwordHash: 'x',
        mustChangePassword: false,
      },
      { actor: 'system', now },
    );
    const made = [
      ['lee-t', 'user:lee'],
      ['lee-t2', 'token:lee-t'],
      ['boot', 'system'],
      ['cli', 'local:cli'],
    ] as const;
    for (const [name, actor] of made) {
      await store.createToken({ role: 'admin', name, now, actor });
    }
    const { action } = await store.createAction(newAction(), {
      actor: 'token:lee-t2',
      now,
      requireApproval: true,
    });

    const db = kyselyFor(database);
    try {
      const read = () =>
        db
          .selectFrom('api_tokens')
          .select(['name', 'created_by', 'created_by_user', 'person'])
          .where(
            'name',
            'in',
            made.map(([name]) => name),
          )
          .orderBy('name')
          .execute();
      const fresh = await read();
      await db
        .updateTable('api_tokens')
        .set({ created_by: null, created_by_user: null, person: null })
        .execute();
      await db.updateTable('actions').set({ created_by_person: null }).execute();

      await fillOwners(db);
      expect(await read()).toEqual(fresh);
      expect(fresh).toEqual([
        { name: 'boot', created_by: 'system', created_by_user: 'admin', person: 'user:admin' },
        { name: 'cli', created_by: 'local:cli', created_by_user: null, person: 'token:cli' },
        { name: 'lee-t', created_by: 'user:lee', created_by_user: 'lee', person: 'user:lee' },
        { name: 'lee-t2', created_by: 'token:lee-t', created_by_user: 'lee', person: 'user:lee' },
      ]);
      const row = await db
        .selectFrom('actions')
        .select('created_by_person')
        .where('id', '=', action.id)
        .executeTakeFirstOrThrow();
      expect(row.created_by_person).toBe('user:lee');
    } finally {
      await db.destroy();
    }
  });
});
