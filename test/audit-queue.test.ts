import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Store } from '../src/store/store.ts';
import { newAction } from './helpers/actions.ts';
import { createTestDatabase, ENGINES, type TestDatabase } from './helpers/databases.ts';
import { closeReplicaStores, replicaStores } from './helpers/replicas.ts';
import { appErrorOf } from './helpers/world.ts';

const CREATOR = 'token:creator';
const APPROVER = 'token:approver';

/**
 * Claims and transitions chain their events at the end of their transaction: the chain
 * must come out the same as when each event was chained where it was recorded.
 */
describe.each(ENGINES)('events chained at commit on %s', (engine) => {
  let database: TestDatabase;
  let replicas: Store[];
  let store: Store;

  beforeAll(async () => {
    database = await createTestDatabase(engine);
    replicas = await replicaStores(database);
    store = replicas[0]!;
  });
  afterAll(async () => {
    await closeReplicaStores(replicas);
    await database.drop();
  });

  async function requested(count: number) {
    const now = new Date();
    const created = await store.createActions(
      Array.from({ length: count }, () => newAction()),
      { actor: CREATOR, now, requireApproval: true },
    );
    for (const { action } of created) {
      await store.transition(action.id, 'approve', { actor: APPROVER, now });
      await store.request(action.id, 'execute', { actor: APPROVER, now });
    }
    return created.map(({ action }) => action.id);
  }

  it('keeps one claim’s events in claim order, each once, and the chain verifies', async () => {
    const ids = await requested(5);
    const claimed = await store.claim('engine-a', { now: new Date(), leaseMs: 60_000, limit: 5 });
    expect(claimed.map((a) => a.id).sort()).toEqual([...ids].sort());

    const log = await store.auditLog({ type: ['transition'], order: 'asc', limit: 1000 });
    const starts = log.items.filter((e) => e.to === 'executing' && ids.includes(e.actionId!));
    expect(starts.map((e) => e.actionId)).toEqual(claimed.map((a) => a.id));
    const seqs = starts.map((e) => e.seq);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    expect((await store.verifyAudit()).ok).toBe(true);
  });

  it('writes nothing for a refused transition and leaves the chain whole', async () => {
    const [id] = await requested(1);
    const before = (await store.verifyAudit()).entries;
    const error = await appErrorOf(
      store.transition(id!, 'complete', { actor: 'system', now: new Date() }),
    );
    expect(error.code).toBe('conflict');
    const after = await store.verifyAudit();
    expect(after).toMatchObject({ ok: true, entries: before });
  });

  it('chains every event once when replicas claim and settle at the same time', async () => {
    const ids = await requested(24);
    const before = (await store.verifyAudit()).entries;
    const settled = await Promise.all(
      replicas.map(async (replica, i) => {
        const owner = `engine-${i}`;
        const mine: string[] = [];
        for (;;) {
          const claimed = await replica.claim(owner, {
            now: new Date(),
            leaseMs: 60_000,
            limit: 3,
          });
          if (claimed.length === 0) return mine;
          await Promise.all(
            claimed.map((a) =>
              replica.transition(a.id, 'complete', {
                actor: 'system',
                now: new Date(),
                leaseOwner: owner,
              }),
            ),
          );
          mine.push(...claimed.map((a) => a.id));
        }
      }),
    );
    // The action left requested by the test before is taken too.
    const all = settled.flat();
    expect(all).toEqual(expect.arrayContaining(ids));
    expect(new Set(all).size).toBe(all.length);
    const result = await store.verifyAudit();
    // A claim and a completion for each.
    expect(result).toMatchObject({ ok: true, entries: before + all.length * 2, problem: null });
    expect(result.head.seq).toBe(result.entries);
  });
});
