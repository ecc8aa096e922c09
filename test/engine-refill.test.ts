import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Engine } from '../src/engine/engine.ts';
import type { Store } from '../src/store/store.ts';
import { createTestDatabase, ENGINES, type TestDatabase } from './helpers/databases.ts';
import { actionFor, createBucket, startWorld, type World } from './helpers/world.ts';
import { actionWhen, quickEngine, stopEngineSuite } from './helpers/actions.ts';

// Long enough that the slow actions are still running whatever the machine's load.
const SLOW_MS = 3_000;

describe.each(ENGINES)('engine slots on %s', (engine) => {
  let database: TestDatabase;
  let store: Store;
  let world: World;
  let worker: Engine;

  beforeAll(async () => {
    database = await createTestDatabase(engine);
    store = await database.open();
    world = await startWorld();
    // No poll in the test's lifetime: only a finished action can make the engine claim.
    worker = quickEngine({
      store,
      clients: world.clients,
      catalog: world.catalog,
      concurrency: 8,
      pollMs: 600_000,
    });
    await worker.start();
  });
  afterAll(() => stopEngineSuite({ worker, world, store, database }));

  async function approved(type: string, name: string) {
    await createBucket(world, name);
    const { action } = await store.createAction(actionFor(world, type, name), {
      actor: 'token:ops',
      now: new Date(),
      requireApproval: true,
    });
    worker.wake();
    await actionWhen(store, action.id, (a) => Boolean(a.plannedAt), { everyMs: 15 });
    return store.transition(action.id, 'approve', { actor: 'token:admin', now: new Date() });
  }

  it('claims queued work as soon as one slot frees, while the others still run', async () => {
    const first = await approved('s3.enable-default-encryption', `${engine}-refill-first`);
    const slow = [];
    for (let i = 0; i < 7; i += 1) {
      slow.push(await approved('s3.enable-versioning', `${engine}-refill-slow-${i}`));
    }
    const last = await approved('s3.enable-default-encryption', `${engine}-refill-last`);
    world.sandbox.injectFault({
      service: 's3',
      operation: 'GetBucketVersioning',
      kind: 'latency',
      ms: SLOW_MS,
      probability: 1,
    });
    try {
      // Requested in this order: the first and the slow ones fill all eight slots, and
      // the last waits for the first to finish.
      const base = Date.now();
      for (const [i, action] of [first, ...slow, last].entries()) {
        await store.request(action.id, 'execute', {
          actor: 'token:admin',
          now: new Date(base + i),
        });
      }
      worker.wake();

      const done = await actionWhen(store, last.id, (a) => a.status === 'completed', {
        ms: 30_000,
        everyMs: 15,
      });
      expect(done.result?.kind).toBe('applied');
      const others = await Promise.all(slow.map((a) => store.getAction(a.id)));
      expect(others.map((a) => a?.status)).toEqual(slow.map(() => 'executing'));
    } finally {
      world.sandbox.clearFaults();
    }
    for (const action of slow) {
      await actionWhen(store, action.id, (a) => a.status === 'completed', {
        ms: 60_000,
        everyMs: 50,
      });
    }
  }, 120_000);
});
