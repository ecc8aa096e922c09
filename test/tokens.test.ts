import { sql } from 'kysely';
import { Migrator, type Migration } from 'kysely/migration';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { migrate } from '../src/store/migrate.ts';
import * as initial from '../src/store/migrations/001-initial.ts';
import * as multiStep from '../src/store/migrations/002-multi-step-fixes.ts';
import type { Store } from '../src/store/store.ts';
import { startApi, type ApiHarness } from './helpers/api.ts';
import {
  createTestDatabase,
  ENGINES,
  kyselyFor,
  storePerSuite,
  type TestDatabase,
} from './helpers/databases.ts';
import { appErrorOf } from './helpers/world.ts';

const now = () => new Date();

describe.each(ENGINES)('tokens in the store on %s', (engine) => {
  let database: TestDatabase;
  let store: Store;
  storePerSuite(engine, (opened, created) => {
    store = opened;
    database = created;
  });

  it('keeps names unique, revoked tokens included', async () => {
    const first = await store.createToken({ role: 'admin', name: 'admin', now: now() });
    const again = await appErrorOf(
      store.createToken({ role: 'viewer', name: 'admin', now: now() }),
    );
    expect(again.code).toBe('conflict');
    expect(again.message).toContain('"admin"');
    // Case differs, so it is another name.
    await store.createToken({ role: 'viewer', name: 'Admin', now: now() });

    const racing = await Promise.allSettled(
      [1, 2, 3].map(() => store.createToken({ role: 'viewer', name: 'race', now: now() })),
    );
    expect(racing.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    for (const lost of racing.filter((r) => r.status === 'rejected')) {
      expect((lost as PromiseRejectedResult).reason).toMatchObject({ code: 'conflict' });
    }

    const spare = await store.createToken({ role: 'admin', name: 'spare', now: now() });
    await store.revokeToken(first.info.id, { actor: 'token:spare', now: now() });
    const reused = await appErrorOf(
      store.createToken({ role: 'admin', name: 'admin', now: now() }),
    );
    expect(reused.code).toBe('conflict');
    expect(await store.findToken(spare.token)).toEqual(spare.info);
  });

  it('revokes with an audit event, and never the last active admin token', async () => {
    const admins = await Promise.all(
      ['last-a', 'last-b'].map((name) => store.createToken({ role: 'admin', name, now: now() })),
    );
    for (const token of await store.listTokens()) {
      if (token.role === 'admin' && token.revokedAt === null && !token.name.startsWith('last-')) {
        await store.revokeToken(token.id, { actor: 'token:test', now: now() });
      }
    }
    const [a, b] = admins;
    const revoked = await store.revokeToken(a!.info.id, { actor: 'token:last-b', now: now() });
    expect(revoked).toMatchObject({ name: 'last-a', revokedBy: 'token:last-b' });
    expect(revoked.revokedAt).toEqual(expect.any(String));
    expect(await store.findToken(a!.token)).toBeUndefined();
    expect(await store.lookupToken(a!.token)).toEqual({
      ...revoked,
      ownerUser: null,
      ownerDisabledAt: null,
    });

    const last = await appErrorOf(store.revokeToken(b!.info.id, { actor: 'token:x', now: now() }));
    expect(last.code).toBe('conflict');
    expect(last.message).toContain('last active admin token');
    const twice = await appErrorOf(store.revokeToken(a!.info.id, { actor: 'token:x', now: now() }));
    expect(twice.code).toBe('conflict');
    expect(twice.message).toContain('already revoked');
    const missing = await appErrorOf(store.revokeToken('no-such-id', { actor: 'x', now: now() }));
    expect(missing.code).toBe('not_found');

    const events = await rawEvents(database, 'token revoked');
    expect(events).toContainEqual(
      expect.objectContaining({ actor: 'token:last-b', data: expect.stringContaining('last-a') }),
    );
  });

  it('lets only one of two admins revoking each other win', async () => {
    const pair = await Promise.all(
      ['duel-a', 'duel-b'].map((name) => store.createToken({ role: 'admin', name, now: now() })),
    );
    for (const token of await store.listTokens()) {
      if (token.role === 'admin' && token.revokedAt === null && !token.name.startsWith('duel-')) {
        await store.revokeToken(token.id, { actor: 'token:test', now: now() });
      }
    }
    const results = await Promise.allSettled([
      store.revokeToken(pair[0]!.info.id, { actor: 'token:duel-b', now: now() }),
      store.revokeToken(pair[1]!.info.id, { actor: 'token:duel-a', now: now() }),
    ]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    const active = (await store.listTokens()).filter(
      (t) => t.role === 'admin' && t.revokedAt === null,
    );
    expect(active).toHaveLength(1);
  });
});

async function rawEvents(database: TestDatabase, comment: string) {
  const db = kyselyFor(database);
  try {
    const { rows } = await sql<{ actor: string; data: string }>`
      select actor, data from events where type = 'token' and comment = ${comment}
    `.execute(db);
    return rows;
  } finally {
    await db.destroy();
  }
}

describe.each(ENGINES)('upgrading a database with duplicate token names on %s', (engine) => {
  let database: TestDatabase;
  beforeEach(async () => {
    database = await createTestDatabase(engine);
  });
  afterEach(async () => {
    await database.drop();
  });

  it('keeps the oldest name and renames the later ones', async () => {
    const db = kyselyFor(database);
    try {
      const older: Record<string, Migration> = {
        '001-initial': { up: (trx) => initial.up(trx, engine) },
        '002-multi-step-fixes': { up: (trx) => multiStep.up(trx) },
      };
      const migrator = new Migrator({
        db,
        provider: { getMigrations: async () => older },
        migrationTableName: 'schema_migrations',
        migrationLockTableName: 'schema_migrations_lock',
      });
      expect((await migrator.migrateToLatest()).error).toBeUndefined();
      const ids = ['aaaa1111', 'bbbb2222', 'cccc3333'];
      const rows = ids.map((id, i) => ({
        id: `${id}-0000-4000-8000-000000000000`,
        name: 'admin',
        role: 'admin',
        hash: `hash-${id}`,
        created_at: new Date(Date.UTC(2024, 0, 1 + i)).toISOString(),
        revoked_at: null,
      }));
      await db.insertInto('api_tokens').values(rows).execute();

      await migrate(db, engine);
      const names = await db
        .selectFrom('api_tokens')
        .select(['id', 'name'])
        .orderBy('created_at')
        .execute();
      expect(names.map((r: { name: string }) => r.name)).toEqual([
        'admin',
        'admin-bbbb2222',
        'admin-cccc3333',
      ]);
    } finally {
      await db.destroy();
    }
  });
});

type TokenRef = { id: string; name: string };

describe('tokens over the API', () => {
  let api: ApiHarness;
  beforeEach(async () => {
    api = await startApi();
  });
  afterEach(async () => {
    await api.close();
  });

  it('refuses a duplicate name with 409 and lists tokens without their secrets', async () => {
    const created = await api.call('POST', '/api/v1/tokens', {
      body: { role: 'viewer', name: 'dash' },
    });
    expect(created.status).toBe(201);
    const duplicate = await api.call('POST', '/api/v1/tokens', {
      body: { role: 'admin', name: 'admin-test' },
    });
    expect(duplicate.status).toBe(409);
    expect(duplicate.body.error).toMatchObject({
      code: 'conflict',
      details: { name: 'admin-test' },
    });

    const listed = await api.call('GET', '/api/v1/tokens');
    expect(listed.status).toBe(200);
    // Tokens made in the same millisecond list in id order, so compare as a set.
    expect(listed.body.items.map((t: { name: string }) => t.name).sort()).toEqual(
      ['viewer-test', 'operator-test', 'admin-test', 'dash'].sort(),
    );
    for (const item of listed.body.items) {
      expect(Object.keys(item).sort()).toEqual(
        [
          'createdAt',
          'createdBy',
          'expiresAt',
          'id',
          'name',
          'revokedAt',
          'revokedBy',
          'role',
        ].sort(),
      );
    }
    expect(listed.text).not.toContain(created.body.token);
    for (const token of Object.values(api.tokens)) expect(listed.text).not.toContain(token);
    expect((await api.call('GET', '/api/v1/tokens', { as: 'operator' })).status).toBe(403);
  });

  it('revokes a token, audits it, and answers its later use with 401 "revoked"', async () => {
    const items: TokenRef[] = (await api.call('GET', '/api/v1/tokens')).body.items;
    const operator = items.find((t) => t.name === 'operator-test')!;

    const revoked = await api.call('DELETE', `/api/v1/tokens/${operator.id}`);
    expect(revoked.status).toBe(200);
    expect(revoked.body.token).toMatchObject({
      name: 'operator-test',
      revokedBy: 'token:admin-test',
    });

    const refused = await api.call('GET', '/api/v1/actions', { as: 'operator' });
    expect(refused.status).toBe(401);
    expect(refused.body.error.code).toBe('unauthorized');
    expect(refused.body.error.message).toContain('revoked');
    const again = await api.call('DELETE', `/api/v1/tokens/${operator.id}`);
    expect(again.status).toBe(409);
    const unknown = await api.call('DELETE', '/api/v1/tokens/no-such-token');
    expect(unknown.status).toBe(404);

    const log = api.logLines.join('');
    expect(log).toContain('api token revoked');
    expect(log).toContain(`"tokenId":"${operator.id}"`);
    const events = await rawEvents(
      { engine: 'sqlite', url: undefined, dataDir: api.dataDir } as TestDatabase,
      'token revoked',
    );
    expect(events).toEqual([
      expect.objectContaining({
        actor: 'token:admin-test',
        data: expect.stringContaining(operator.id),
      }),
    ]);
  });

  it('refuses to revoke the last active admin token and says why', async () => {
    const items: TokenRef[] = (await api.call('GET', '/api/v1/tokens')).body.items;
    const admin = items.find((t) => t.name === 'admin-test')!;
    const res = await api.call('DELETE', `/api/v1/tokens/${admin.id}`);
    expect(res.status).toBe(409);
    expect(res.body.error.message).toContain('last active admin token');
    expect(res.body.error.message).toContain('Create another admin token first');
    expect((await api.call('GET', '/api/v1/actions')).status).toBe(200);
  });
});
