import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDispatcher } from '../src/alerts/dispatcher.ts';
import type { Engine } from '../src/engine/engine.ts';
import type { Store } from '../src/store/store.ts';
import { actionWhen, quickEngine, stopEngineSuite } from './helpers/actions.ts';
import { startHttpReceiver, type HttpReceiver } from './helpers/alert-receivers.ts';
import { createTestDatabase, ENGINES, type TestDatabase } from './helpers/databases.ts';
import {
  actionFor,
  createBucket,
  encryptionOf,
  silentLog,
  startWorld,
  type World,
} from './helpers/world.ts';

describe.each(ENGINES)('alerts during a real remediation on %s', (engine) => {
  let database: TestDatabase;
  let store: Store;
  let world: World;
  let worker: Engine;
  let http: HttpReceiver;

  beforeAll(async () => {
    database = await createTestDatabase(engine);
    store = await database.open();
    world = await startWorld();
    http = await startHttpReceiver();
    worker = quickEngine({ store, clients: world.clients, catalog: world.catalog });
    await worker.start();
  });
  afterAll(async () => {
    await http?.close();
    await stopEngineSuite({ worker, world, store, database });
  });

  it('executes and rolls back while the receiver is down; the alerts arrive once it is back', async () => {
    const channel = await store.createAlertChannel(
      {
        name: 'ops',
        type: 'webhook',
        config: {},
        secrets: { url: http.url('/ops'), secret: 'engine-test-hmac-key-000' },
      },
      { actor: 'token:admin', now: new Date() },
    );
    await store.createAlertRule(
      {
        name: 'lifecycle',
        events: ['approved', 'executed', 'rolled_back'],
        minSeverity: 'informational',
        channels: [channel.id],
      },
      { actor: 'token:admin', now: new Date() },
    );
    await http.down();
    // The dispatcher's clock keeps up with the events but stays short of the backoff until
    // the receiver is back, so the first alert is tried once during the outage and then
    // waits, and the later ones wait behind it.
    let now = Date.now() + 1_000;
    const pass = () => {
      now = Math.max(now, Date.now() + 1_000);
      return dispatcher.runOnce();
    };
    const dispatcher = createDispatcher({
      store,
      log: silentLog,
      publicUrl: 'https://console.example.test',
      backoffMs: 60_000,
      clock: () => new Date(now),
    });

    await createBucket(world, `${engine}-alerts-bucket`);
    const { action } = await store.createAction(
      actionFor(world, 's3.enable-default-encryption', `${engine}-alerts-bucket`),
      { actor: 'token:ops', now: new Date(), requireApproval: true },
    );
    await actionWhen(store, action.id, (a) => Boolean(a.plannedAt));
    await store.transition(action.id, 'approve', { actor: 'token:admin', now: new Date() });
    await pass();

    await store.request(action.id, 'execute', { actor: 'token:admin', now: new Date() });
    worker.wake();
    const completed = await actionWhen(store, action.id, (a) => a.status === 'completed');
    expect(completed.error).toBeNull();
    expect(await encryptionOf(world, `${engine}-alerts-bucket`)).not.toBeNull();
    await pass();

    await store.request(action.id, 'rollback', { actor: 'token:admin', now: new Date() });
    worker.wake();
    await actionWhen(store, action.id, (a) => a.status === 'rolled_back');
    await pass();

    const deliveries = (await store.listAlertDeliveries({ limit: 50 })).filter(
      (d) => d.actionId === action.id,
    );
    expect(deliveries.map((d) => d.event).sort()).toEqual(['approved', 'executed', 'rolled_back']);
    const tries = (event: string) => deliveries.find((d) => d.event === event)!.attempts;
    expect(deliveries.every((d) => d.status === 'pending')).toBe(true);
    expect([tries('approved'), tries('executed'), tries('rolled_back')]).toEqual([1, 0, 0]);

    await http.up();
    now += 60_000;
    await dispatcher.runOnce();
    const got = http.received.filter((r) => r.path === '/ops');
    expect(got.map((r) => r.json.event)).toEqual(['approved', 'executed', 'rolled_back']);
    expect(got.every((r) => r.json.action.id === action.id)).toBe(true);
    const executed = got.find((r) => r.json.event === 'executed')!;
    expect(executed.json).toMatchObject({ fromStatus: 'executing', toStatus: 'completed' });
    for (const d of deliveries) {
      const detail = (await store.getAlertDelivery(d.id))!;
      expect(detail.status).toBe('delivered');
      expect(detail.attemptLog.map((a) => a.ok)).toEqual(
        d.event === 'approved' ? [false, true] : [true],
      );
    }
  });
});
