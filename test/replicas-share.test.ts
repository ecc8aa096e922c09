import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createCatalog } from '../src/catalog/index.ts';
import { createCloudClients } from '../src/cloud/clients.ts';
import { createEngine, type Engine } from '../src/engine/engine.ts';
import { createPresence } from '../src/engine/presence.ts';
import { registry } from '../src/metrics/metrics.ts';
import { ownFirstStartTokens } from '../src/store/migrations/014-replica-presence.ts';
import type { Store } from '../src/store/store.ts';
import {
  createTestDatabase,
  ENGINES,
  kyselyFor,
  storePerSuite,
  type TestDatabase,
} from './helpers/databases.ts';

const silent = pino({ level: 'silent' });

describe.each(ENGINES)('live replicas on %s', (engine) => {
  let store: Store;
  let database: TestDatabase;
  storePerSuite(engine, (s, d) => {
    store = s;
    database = d;
  });

  it('counts the replicas whose heartbeat has not expired, and forgets those that left', async () => {
    const t0 = new Date('2026-08-01T10:00:00Z');
    const at = (ms: number) => new Date(t0.getTime() + ms);
    expect(await store.beatReplica('r1', t0, 30_000)).toBe(1);
    expect(await store.beatReplica('r2', at(1_000), 30_000)).toBe(2);
    // r1 stops beating: once its expiry passes, r2 counts itself alone.
    expect(await store.beatReplica('r2', at(20_000), 30_000)).toBe(2);
    expect(await store.beatReplica('r2', at(31_000), 30_000)).toBe(1);
    // r1 comes back, then leaves cleanly.
    expect(await store.beatReplica('r1', at(32_000), 30_000)).toBe(2);
    await store.leaveReplica('r1');
    expect(await store.beatReplica('r2', at(33_000), 30_000)).toBe(1);
  });

  it('reports the live replicas it counted at its last beat as a gauge', async () => {
    const gauge = async () =>
      (await registry.getSingleMetric('infraudit_live_replicas')!.get()).values[0]?.value;
    const counted: number[] = [];
    const presence = (id: string, on: Pick<Store, 'beatReplica' | 'leaveReplica'> = store) =>
      createPresence({
        store: on,
        id,
        ttlMs: 60_000,
        clock: () => new Date(),
        log: silent,
        onLive: (live) => counted.push(live),
      });
    const a = presence('gauge-a');
    const b = presence('gauge-b');
    await a.beat();
    expect(await gauge()).toBe(1);
    await b.beat();
    expect(await gauge()).toBe(2);
    await a.beat();
    expect(await gauge()).toBe(2);
    await b.stop();
    await a.beat();
    expect(await gauge()).toBe(1);
    // A beat the database did not answer keeps the last count.
    const away = presence('gauge-c', {
      beatReplica: () => Promise.reject(new Error('database away')),
      leaveReplica: () => Promise.resolve(),
    });
    await away.beat();
    expect(await gauge()).toBe(1);
    expect(counted).toEqual([1, 2, 2, 1]);
    await a.stop();
  });

  it('ties an upgraded first-start token, and those made with it, to user admin', async () => {
    const system = await store.createToken({
      role: 'admin',
      name: 'first',
      now: new Date(),
      actor: 'system',
    });
    await store.createToken({
      role: 'admin',
      name: 'second',
      now: new Date(),
      actor: 'token:first',
    });
    await store.createToken({ role: 'admin', name: 'mine', now: new Date(), actor: 'user:dora' });
    const db = kyselyFor(database);
    try {
      // As migration 013 left them: the person known, no user behind it.
      await db
        .updateTable('api_tokens')
        .set({ created_by_user: null })
        .where('name', 'in', ['first', 'second'])
        .execute();
      await ownFirstStartTokens(db);
      const rows = await db
        .selectFrom('api_tokens')
        .select(['name', 'created_by_user'])
        .where('name', 'in', ['first', 'second', 'mine'])
        .orderBy('name')
        .execute();
      expect(rows).toEqual([
        { name: 'first', created_by_user: 'admin' },
        { name: 'mine', created_by_user: 'dora' },
        { name: 'second', created_by_user: 'admin' },
      ]);
    } finally {
      await db.destroy();
    }
    expect((await store.lookupToken(system.token))?.ownerUser).toBe('admin');
  });
});

describe('two replicas on one PostgreSQL database', () => {
  let database: TestDatabase;
  const stores: Store[] = [];
  const engines: Engine[] = [];
  const clients = createCloudClients({});

  beforeAll(async () => {
    database = await createTestDatabase('postgres');
    for (let i = 0; i < 2; i++) stores.push(await database.open());
  }, 60_000);
  afterAll(async () => {
    await Promise.all(engines.map((e) => e.stop()));
    clients.destroy();
    await Promise.all(stores.map((s) => s.close()));
    await database.drop();
  }, 60_000);

  const start = async (i: number) => {
    const engine = createEngine({
      store: stores[i]!,
      clients,
      catalog: createCatalog(),
      log: silent,
      owner: `replica-${i}`,
      // Short leases make the heartbeat, and so each new count, come quickly.
      leaseMs: 600,
      cloudLimits: { concurrency: 8, ratePerSecond: 20 },
    });
    engines.push(engine);
    await engine.start();
    return engine;
  };

  it('each takes half of the configured limits, and the whole once the other stops', async () => {
    const first = await start(0);
    expect(first.cloudLimits()).toMatchObject({ concurrency: 8, ratePerSecond: 20 });
    const second = await start(1);
    expect(second.cloudLimits()).toMatchObject({ concurrency: 4, ratePerSecond: 10 });
    await vi.waitFor(() =>
      expect(first.cloudLimits()).toMatchObject({ concurrency: 4, ratePerSecond: 10 }),
    );

    await second.stop();
    await vi.waitFor(() =>
      expect(first.cloudLimits()).toMatchObject({ concurrency: 8, ratePerSecond: 20 }),
    );

    // A replica that dies without leaving counts until its heartbeat expires.
    await stores[1]!.beatReplica('replica-killed', new Date(), 1_500);
    await vi.waitFor(() => expect(first.cloudLimits()).toMatchObject({ concurrency: 4 }));
    await vi.waitFor(() => expect(first.cloudLimits()).toMatchObject({ concurrency: 8 }), {
      timeout: 5_000,
    });
  }, 30_000);
});
