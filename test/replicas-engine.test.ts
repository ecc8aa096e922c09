import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createCatalog } from '../src/catalog/index.ts';
import type { Fix } from '../src/catalog/fix.ts';
import type { Action } from '../src/domain/action.ts';
import type { Engine } from '../src/engine/engine.ts';
import { createRemediationService } from '../src/service/remediation.ts';
import type { Store } from '../src/store/store.ts';
import { actionWhen, quickEngine } from './helpers/actions.ts';
import { createTestDatabase, ENGINES, type TestDatabase } from './helpers/databases.ts';
import { closeReplicaStores, replicaStores } from './helpers/replicas.ts';
import { actionFor, appErrorOf, createBucket, startWorld, type World } from './helpers/world.ts';

const TYPE = 's3.enable-default-encryption';
const CREATOR = 'token:creator';
const APPROVER = 'token:approver';
const HOUR = 3_600_000;

describe.each(ENGINES)('engines of several replicas on %s', (engine) => {
  let database: TestDatabase;
  let world: World;
  let replicas: Store[];
  let store: Store;
  let engines: Engine[] = [];
  let n = 0;

  beforeAll(async () => {
    database = await createTestDatabase(engine);
    replicas = await replicaStores(database);
    store = replicas[0]!;
    world = await startWorld();
  });
  afterEach(async () => {
    await Promise.all(engines.map((e) => e.stop()));
    engines = [];
    world.sandbox.clearFaults();
  });
  afterAll(async () => {
    await closeReplicaStores(replicas);
    await world.close();
    await database.drop();
  });

  function startEngines(opts: { catalog?: typeof world.catalog; leaseMs?: number } = {}) {
    engines = replicas.map((replica, i) =>
      quickEngine({
        store: replica,
        clients: world.clients,
        catalog: opts.catalog ?? world.catalog,
        owner: `${engine}-replica-${i}`,
        leaseMs: opts.leaseMs ?? 2_000,
        finalizeEveryMs: 50,
      }),
    );
    return Promise.all(engines.map((e) => e.start()));
  }

  async function buckets(count: number): Promise<string[]> {
    const names = Array.from({ length: count }, () => `${engine}-replica-bucket-${++n}`);
    await Promise.all(names.map((name) => createBucket(world, name)));
    return names;
  }

  async function created(names: string[]): Promise<Action[]> {
    const results = await store.createActions(
      names.map((name) => actionFor(world, TYPE, name)),
      { actor: CREATOR, now: new Date(), requireApproval: true },
    );
    return results.map((r) => r.action);
  }

  const settled = (id: string, ms = 20_000) =>
    actionWhen(store, id, (a) => ['completed', 'failed'].includes(a.status) && !a.requestedOp, {
      ms,
      everyMs: 25,
    });

  const putsOn = (name: string) =>
    world.sandbox
      .mutations()
      .filter((m) => m.resource === name && m.operation === 'PutBucketEncryption');

  it(
    'runs each auto-executed approval once, whichever replica takes it',
    { timeout: 30_000 },
    async () => {
      await store.updateSettings({ autoExecute: true }, { actor: APPROVER, now: new Date() });
      const names = await buckets(40);
      const actions = await created(names);
      await startEngines();
      // Approvals arrive through different replicas, as a load balancer spreads them.
      await Promise.all(
        actions.map(async (action, i) => {
          const replica = replicas[i % replicas.length]!;
          await actionWhen(replica, action.id, (a) => Boolean(a.plannedAt), { everyMs: 25 });
          await replica.transition(action.id, 'approve', {
            actor: APPROVER,
            now: new Date(),
            autoExecute: { unlessTypes: [] },
          });
        }),
      );
      const done = await Promise.all(actions.map((a) => settled(a.id)));
      await store.updateSettings({ autoExecute: false }, { actor: APPROVER, now: new Date() });
      expect(done.map((a) => a.status)).toEqual(done.map(() => 'completed'));
      for (const name of names) expect(putsOn(name)).toHaveLength(1);
      const owners = new Set<string>();
      for (const action of actions) {
        const starts = (await store.events(action.id)).filter((e) => e.to === 'executing');
        expect(starts).toHaveLength(1);
        owners.add(String(starts[0]!.data?.engine));
      }
      // With three engines polling one queue, the work is shared out.
      expect(owners.size).toBeGreaterThan(1);
    },
  );

  it(
    'hands running work back at the end of the grace period; another replica settles it',
    { timeout: 30_000 },
    async () => {
      const [name] = await buckets(1);
      const [action] = await created([name!]);
      // The first engine alone runs the action, and its first read hangs.
      const leaving = quickEngine({
        store: replicas[0]!,
        clients: world.clients,
        catalog: world.catalog,
        owner: `${engine}-leaving`,
        leaseMs: 30_000,
      });
      engines = [leaving];
      await leaving.start();
      await actionWhen(store, action!.id, (a) => Boolean(a.plannedAt), { everyMs: 25 });
      world.sandbox.injectFault({
        service: 's3',
        operation: 'GetBucketEncryption',
        kind: 'latency',
        ms: 1_500,
        count: 1,
      });
      await store.transition(action!.id, 'approve', {
        actor: APPROVER,
        now: new Date(),
        thenRequest: 'execute',
      });
      leaving.wake();
      await actionWhen(store, action!.id, (a) => a.status === 'executing', { everyMs: 10 });
      await leaving.stop({ graceMs: 100 });
      const handedBack = (await store.getAction(action!.id))!;
      expect(handedBack.status).toBe('executing');
      expect(await store.renewLease(action!.id, `${engine}-leaving`, new Date(), 30_000)).toBe(
        false,
      );
      expect((await store.stranded(new Date())).map((a) => a.id)).toContain(action!.id);

      // Another replica takes it over on its first sweep, long before the 30 s lease.
      const heir = quickEngine({
        store: replicas[1]!,
        clients: world.clients,
        catalog: world.catalog,
        owner: `${engine}-heir`,
      });
      engines = [heir];
      await heir.start();
      const failed = await settled(action!.id, 5_000);
      expect(failed.status).toBe('failed');
      expect(failed.error?.code).toBe('interrupted');
      // The hanging read comes back to an engine that no longer holds the action.
      await new Promise((r) => setTimeout(r, 1_700));
      expect(putsOn(name!)).toHaveLength(0);
      expect((await store.getAction(action!.id))!.status).toBe('failed');

      await store.request(action!.id, 'execute', { actor: APPROVER, now: new Date() });
      heir.wake();
      expect((await settled(action!.id)).status).toBe('completed');
      expect(putsOn(name!)).toHaveLength(1);
    },
  );

  it(
    'runs the step after the window exactly once across replicas, catching up after an outage',
    { timeout: 30_000 },
    async () => {
      const finals: string[] = [];
      const real = createCatalog();
      const base = real.get(TYPE)!;
      const withFinal: Fix = {
        ...base,
        async finalize(_ctx, resource) {
          finals.push(resource.name);
          await new Promise((r) => setTimeout(r, 20));
          return `final step done on ${resource.name}`;
        },
      };
      const catalog = {
        get: (t: string) => (t === TYPE ? withFinal : real.get(t)),
        all: () => [withFinal],
      };

      const names = await buckets(12);
      const actions = await created(names);
      // Run and complete every action while the windows are still open.
      await startEngines({ catalog });
      for (const action of actions) {
        await actionWhen(store, action.id, (a) => Boolean(a.plannedAt), { everyMs: 25 });
        await store.transition(action.id, 'approve', {
          actor: APPROVER,
          now: new Date(),
          thenRequest: 'execute',
        });
      }
      for (const action of actions) expect((await settled(action.id)).status).toBe('completed');
      // The outage: every engine is down while the windows close.
      await Promise.all(engines.map((e) => e.stop()));
      expect(finals).toEqual([]);

      const later = new Date(Date.now() + 2 * HOUR);
      engines = replicas.map((replica, i) =>
        quickEngine({
          store: replica,
          clients: world.clients,
          catalog,
          owner: `${engine}-after-outage-${i}`,
          finalizeEveryMs: 20,
          clock: () => later,
        }),
      );
      await Promise.all(engines.map((e) => e.start()));
      const deadline = Date.now() + 15_000;
      const mine = () => finals.filter((f) => names.includes(f)).length;
      while (mine() < names.length && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 25));
      }
      // A little longer, for any second run to show itself.
      await new Promise((r) => setTimeout(r, 300));
      // Earlier tests' actions are due as well; those of this test ran once each.
      expect(finals.filter((f) => names.includes(f)).sort()).toEqual([...names].sort());
      for (const action of actions) {
        const events = await store.events(action.id);
        expect(events.filter((e) => e.type === 'finalize')).toHaveLength(1);
        expect(events.filter((e) => e.comment?.startsWith('final step done'))).toHaveLength(1);
      }
    },
  );

  describe('races between replicas', () => {
    const services = () =>
      replicas.map((replica, i) =>
        createRemediationService({
          store: replica,
          catalog: world.catalog,
          clock: () => new Date(Date.now() + i),
        }),
      );

    it('lets one of concurrent approvals, execute requests and rejections win', async () => {
      const names = await buckets(10);
      const actions = await created(names);
      const [a, b, c] = services();
      for (const action of actions) {
        const approvals = await Promise.allSettled([
          a!.approve(action.id, APPROVER),
          b!.approve(action.id, 'token:other-admin'),
        ]);
        expect(approvals.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
        const events = await store.events(action.id);
        expect(events.filter((e) => e.to === 'approved')).toHaveLength(1);

        const requests = await Promise.allSettled([
          a!.execute(action.id, APPROVER),
          b!.execute(action.id, 'token:other-admin'),
          c!.reject(action.id, 'token:third-admin', 'changed our mind'),
        ]);
        const final = (await store.getAction(action.id))!;
        const won = requests.filter((o) => o.status === 'fulfilled').length;
        for (const lost of requests.filter((o) => o.status === 'rejected')) {
          expect((lost as PromiseRejectedResult).reason.code).toBe('conflict');
        }
        if (final.status === 'rejected') {
          // A rejection drops any request queued before it, so nothing can run.
          expect(final.requestedOp).toBeNull();
        } else {
          expect(final.status).toBe('approved');
          expect(final.requestedOp).toBe('execute');
          expect(won).toBe(1);
        }
      }
    });

    it('takes a rollback in the window’s last millisecond and refuses it at the deadline', async () => {
      const [name] = await buckets(1);
      const [action] = await created([name!]);
      await startEngines();
      await actionWhen(store, action!.id, (a) => Boolean(a.plannedAt), { everyMs: 25 });
      await store.transition(action!.id, 'approve', {
        actor: APPROVER,
        now: new Date(),
        thenRequest: 'execute',
      });
      const completed = await settled(action!.id);
      const deadline = new Date(completed.rollbackDeadline!);
      const at = (ms: number) =>
        createRemediationService({
          store: replicas[2]!,
          catalog: world.catalog,
          clock: () => new Date(deadline.getTime() + ms),
        });
      const refused = await appErrorOf(at(0).rollback(action!.id, APPROVER));
      expect(refused.code).toBe('window_closed');
      expect((await store.getAction(action!.id))!.requestedOp).toBeNull();

      // Two admins on two replicas ask in the last millisecond: one request is queued.
      const asks = await Promise.allSettled([
        at(-1).rollback(action!.id, APPROVER),
        at(-1).rollback(action!.id, 'token:other-admin'),
      ]);
      expect(asks.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
      const rolled = await actionWhen(store, action!.id, (a) => a.status === 'rolled_back', {
        everyMs: 25,
      });
      expect(rolled.result?.kind).toBe('rolled_back');
    });

    it('runs an action with the settings it was approved with when they change mid-way', async () => {
      const [name] = await buckets(1);
      const [action] = await created([name!]);
      await startEngines();
      const planned = await actionWhen(store, action!.id, (a) => Boolean(a.plannedAt), {
        everyMs: 25,
      });
      world.sandbox.injectFault({
        service: 's3',
        operation: 'PutBucketEncryption',
        kind: 'latency',
        ms: 600,
        count: 1,
      });
      const before = await store.getFixOptions();
      await store.transition(action!.id, 'approve', {
        actor: APPROVER,
        now: new Date(),
        thenRequest: 'execute',
      });
      await actionWhen(store, action!.id, (a) => a.status === 'executing', { everyMs: 10 });
      // Changed through another replica while the change is on its way.
      await replicas[1]!.updateSettings(
        { rollbackWindowMinutes: 90 },
        { actor: APPROVER, now: new Date() },
      );
      await replicas[1]!.updateFixOptions(
        { rdsBackupRetentionDays: before.rdsBackupRetentionDays + 3 },
        { actor: APPROVER, now: new Date() },
      );
      const done = await settled(action!.id);
      await store.updateSettings(
        { rollbackWindowMinutes: 30 },
        { actor: APPROVER, now: new Date() },
      );
      await store.updateFixOptions(before, { actor: APPROVER, now: new Date() });
      expect(done.status).toBe('completed');
      // The plan's input, not the options in force at the end, is what ran.
      expect(done.plan.input).toEqual(planned.plan.input);
      // The window in force when the action completed fixes its deadline.
      const window =
        new Date(done.rollbackDeadline!).getTime() - new Date(done.completedAt!).getTime();
      expect(window).toBe(90 * 60_000);
      expect(putsOn(name!)).toHaveLength(1);
    });
  });
});
