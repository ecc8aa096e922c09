import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Action } from '../src/domain/action.ts';
import type { Store } from '../src/store/store.ts';
import { newAction } from './helpers/actions.ts';
import { createTestDatabase, ENGINES, type TestDatabase } from './helpers/databases.ts';
import { closeReplicaStores, replicaStores } from './helpers/replicas.ts';
import { appErrorOf } from './helpers/world.ts';

const HOUR = 3_600_000;
const CREATOR = 'token:creator';
const APPROVER = 'token:approver';

/**
 * Replicas are separate processes with their own connection pools: on PostgreSQL each
 * "replica" here is its own store. An SQLite file serves one server, so there the
 * replicas share its store and contend only through concurrent calls.
 */
describe.each(ENGINES)('claims across replicas on %s', (engine) => {
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

  /** Approved actions with an execute request queued, as an admin leaves them. */
  async function requested(
    count: number,
    opts: { account?: string; at?: Date } = {},
  ): Promise<Action[]> {
    const now = opts.at ?? new Date();
    const created = await store.createActions(
      Array.from({ length: count }, () => {
        const input = newAction();
        if (opts.account) input.resource = { ...input.resource, account: opts.account };
        return input;
      }),
      { actor: CREATOR, now, requireApproval: true },
    );
    const out: Action[] = [];
    for (const { action } of created) {
      await store.transition(action.id, 'approve', { actor: APPROVER, now });
      out.push(await store.request(action.id, 'execute', { actor: APPROVER, now }));
    }
    return out;
  }

  /** Which claimer took each action. */
  const owners = new Map<string, string>();

  /** Every replica claims in two concurrent loops until a pass finds nothing. */
  async function drain(
    limits: { maxExecutionsPerHour?: number; maxExecutionsPerHourPerAccount?: number } = {},
    now = new Date(),
  ): Promise<Action[]> {
    const claimed: Action[] = [];
    await Promise.all(
      replicas.flatMap((replica, r) =>
        [0, 1].map(async (loop) => {
          for (;;) {
            const got = await replica.claim(`replica-${r}-${loop}`, {
              now,
              leaseMs: 60_000,
              limit: 7,
              ...limits,
            });
            if (got.length === 0) return;
            for (const action of got) owners.set(action.id, `replica-${r}-${loop}`);
            claimed.push(...got);
          }
        }),
      ),
    );
    return claimed;
  }

  async function claimEvents(id: string) {
    return (await store.events(id)).filter((e) => e.to === 'executing');
  }

  async function cleanQueue() {
    // Each test starts with an empty queue: what an earlier test left queued is claimed
    // by a replica outside the hourly limit, so it never counts against the next test.
    for (const action of await drain({}, new Date(Date.now() - 2 * HOUR))) {
      await store.transition(action.id, 'fail', {
        actor: 'system',
        now: new Date(Date.now() - 2 * HOUR),
        leaseOwner: owners.get(action.id)!,
        patch: { error: { code: 'test', message: 'cleared by the test', at: '' } },
      });
    }
  }

  it(
    'gives every requested action to exactly one of several concurrent claimers',
    { timeout: 30_000 },
    async () => {
      await cleanQueue();
      const actions = await requested(120);
      const claimed = await drain();
      const ids = claimed.map((a) => a.id);
      expect(new Set(ids).size).toBe(ids.length);
      expect(new Set(ids)).toEqual(new Set(actions.map((a) => a.id)));
      for (const action of claimed) {
        expect(action.status).toBe('executing');
        expect(action.requestedOp).toBeNull();
      }
      for (const action of actions.slice(0, 20)) {
        const events = await claimEvents(action.id);
        expect(events).toHaveLength(1);
        // The lease names the claimer that won, and only that claimer can renew it.
        const owner = owners.get(action.id)!;
        expect(await store.renewLease(action.id, owner, new Date(), 60_000)).toBe(true);
        expect(await store.renewLease(action.id, `${owner}-not`, new Date(), 60_000)).toBe(false);
      }
    },
  );

  it('holds execute requests past the hourly limit, across replicas, and never a rollback', async () => {
    await cleanQueue();
    // An hour of its own, so the claims of the other tests do not count against it.
    const now = new Date(Date.now() + 10 * HOUR);
    // One execution done in this hour already: the limit of 4 leaves 3.
    const [done] = await requested(1, { at: now });
    const [running] = await store.claim('earlier', { now, leaseMs: 60_000, limit: 1 });
    expect(running!.id).toBe(done!.id);
    const completed = await store.transition(done!.id, 'complete', {
      actor: 'system',
      now,
      leaseOwner: 'earlier',
      openRollbackWindow: true,
    });
    const waiting = await requested(6, { at: now });
    await store.request(completed.id, 'rollback', { actor: APPROVER, now });

    const claimed = await drain({ maxExecutionsPerHour: 4 }, now);
    const executes = claimed.filter((a) => a.status === 'executing');
    expect(executes).toHaveLength(3);
    expect(claimed.filter((a) => a.status === 'rolling_back').map((a) => a.id)).toEqual([
      completed.id,
    ]);
    const held = waiting.filter((a) => !executes.some((e) => e.id === a.id));
    for (const action of held) {
      const row = (await store.getAction(action.id))!;
      expect(row.status).toBe('approved');
      expect(row.requestedOp).toBe('execute');
    }

    // An hour later the claims of this hour no longer count.
    const later = await drain({ maxExecutionsPerHour: 4 }, new Date(now.getTime() + HOUR + 1));
    expect(new Set(later.map((a) => a.id))).toEqual(new Set(held.map((a) => a.id)));
  });

  it('counts the per-account limit for each account separately', async () => {
    await cleanQueue();
    const a = await requested(3, { account: '444455556666' });
    const b = await requested(3, { account: '777788889999' });
    const claimed = await drain({ maxExecutionsPerHourPerAccount: 2 });
    const accountOf = (action: Action) => action.resource.account;
    expect(claimed.filter((x) => accountOf(x) === '444455556666')).toHaveLength(2);
    expect(claimed.filter((x) => accountOf(x) === '777788889999')).toHaveLength(2);
    const queued = [...a, ...b].filter((x) => !claimed.some((c) => c.id === x.id));
    expect(queued).toHaveLength(2);
  });

  it('hands a lease back so another replica can take the work over at once', async () => {
    await cleanQueue();
    const [action] = await requested(1);
    const now = new Date();
    await replicas[0]!.claim('leaving', { now, leaseMs: 60_000, limit: 5 });
    expect(await replicas[1]!.stranded(now)).toEqual([]);

    expect(await replicas[0]!.releaseLeases('leaving')).toEqual([action!.id]);
    expect(await replicas[0]!.releaseLeases('leaving')).toEqual([]);
    const stranded = await replicas[1]!.stranded(now);
    expect(stranded.map((a) => a.id)).toEqual([action!.id]);
    expect(await replicas[0]!.renewLease(action!.id, 'leaving', now, 60_000)).toBe(false);
    const taken = await Promise.all(
      replicas.map((r, i) => r.takeOver(action!.id, stranded[0]!.version, `heir-${i}`, now, 1000)),
    );
    expect(taken.filter(Boolean)).toHaveLength(1);
  });

  describe('the final step after the rollback window', () => {
    /** Completed actions whose window closed `ago` ms before now, with a snapshot. */
    async function closedWindow(count: number): Promise<Action[]> {
      const at = new Date(Date.now() - 2 * HOUR);
      await requested(count, { at });
      const claimed = await store.claim('runner', { now: at, leaseMs: HOUR, limit: count });
      const out: Action[] = [];
      for (const action of claimed) {
        await store.saveSnapshot(action.id, { capturedAt: at.toISOString(), state: {} }, 'runner');
        out.push(
          await store.transition(action.id, 'complete', {
            actor: 'system',
            now: at,
            leaseOwner: 'runner',
            openRollbackWindow: true,
          }),
        );
      }
      return out;
    }

    it('is taken by exactly one replica', async () => {
      await cleanQueue();
      const actions = await closedWindow(10);
      const now = new Date();
      const wins = await Promise.all(
        actions.flatMap((action) =>
          replicas.map((replica) =>
            replica.markFinalized(action.id, action.version, { now, message: 'final step' }),
          ),
        ),
      );
      expect(wins.filter(Boolean)).toHaveLength(actions.length);
      for (const action of actions) {
        const finalizes = (await store.events(action.id)).filter((e) => e.type === 'finalize');
        expect(finalizes).toHaveLength(1);
      }
      const types = [actions[0]!.type];
      expect((await store.finalizable(types, now, 100)).map((a) => a.id)).not.toContain(
        actions[0]!.id,
      );
    });

    it('waits for a rollback requested inside the window, and refuses one after it ran', async () => {
      await cleanQueue();
      const [first, second] = await closedWindow(2);
      const now = new Date();
      // Requested at the window's last moment: the store takes it, the final step waits.
      const queued = await store.request(first!.id, 'rollback', { actor: APPROVER, now });
      const types = [first!.type];
      const due = (await store.finalizable(types, now, 100)).map((a) => a.id);
      expect(due).not.toContain(first!.id);
      expect(due).toContain(second!.id);
      expect(await store.markFinalized(first!.id, queued.version, { now, message: 'x' })).toBe(
        false,
      );

      expect(await store.markFinalized(second!.id, second!.version, { now, message: 'x' })).toBe(
        true,
      );
      const refused = await appErrorOf(
        replicas[1]!.request(second!.id, 'rollback', { actor: APPROVER, now }),
      );
      expect(refused.code).toBe('conflict');
      expect(refused.message).toMatch(/final step ran/);
      const after = (await store.getAction(second!.id))!;
      expect(after.requestedOp).toBeNull();
      expect(after.status).toBe('completed');
    });
  });
});

describe('claims on postgres with row locks', () => {
  let database: TestDatabase;
  let store: Store;
  let client: pg.Client;

  beforeAll(async () => {
    database = await createTestDatabase('postgres');
    store = await database.open();
    client = new pg.Client({ connectionString: database.url });
    await client.connect();
  });
  afterAll(async () => {
    await client.end();
    await store.close();
    await database.drop();
  });

  it('skips a row another replica holds locked instead of waiting for it', async () => {
    const now = new Date();
    const created = await store.createActions([newAction(), newAction(), newAction()], {
      actor: CREATOR,
      now,
      requireApproval: true,
    });
    const ids = created.map((c) => c.action.id);
    for (const id of ids) {
      await store.transition(id, 'approve', { actor: APPROVER, now });
      await store.request(id, 'execute', { actor: APPROVER, now });
    }
    await client.query('BEGIN');
    await client.query('SELECT id FROM actions WHERE id = $1 FOR UPDATE', [ids[0]]);
    let timer: NodeJS.Timeout | undefined;
    const blocked = new Promise<'blocked'>((resolve) => {
      timer = setTimeout(() => resolve('blocked'), 5_000);
    });
    const first = await Promise.race([
      store.claim('replica-a', { now, leaseMs: 60_000, limit: 10 }),
      blocked,
    ]);
    clearTimeout(timer);
    expect(first).not.toBe('blocked');
    expect(new Set((first as Action[]).map((a) => a.id))).toEqual(new Set(ids.slice(1)));

    await client.query('COMMIT');
    const second = await store.claim('replica-b', { now, leaseMs: 60_000, limit: 10 });
    expect(second.map((a) => a.id)).toEqual([ids[0]]);
  });
});
