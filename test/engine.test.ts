import { DeleteBucketCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Action } from '../src/domain/action.ts';
import type { Engine } from '../src/engine/engine.ts';
import type { Store } from '../src/store/store.ts';
import { createTestDatabase, ENGINES, type TestDatabase } from './helpers/databases.ts';
import {
  actionFor,
  createBucket,
  encryptionOf,
  encryptWithKms,
  directContext,
  startWorld,
  type World,
} from './helpers/world.ts';
import { actionWhen, quickEngine, stopEngineSuite } from './helpers/actions.ts';

const SETTLED = ['completed', 'failed', 'rolled_back'];

describe.each(ENGINES)('engine on %s', (engine) => {
  let database: TestDatabase;
  let store: Store;
  let world: World;
  let worker: Engine;
  let n = 0;

  beforeAll(async () => {
    database = await createTestDatabase(engine);
    store = await database.open();
    world = await startWorld();
    worker = newEngine();
    await worker.start();
  });
  afterAll(() => stopEngineSuite({ worker, world, store, database }));

  function newEngine(opts: { leaseMs?: number; owner?: string } = {}) {
    return quickEngine({
      store,
      clients: world.clients,
      catalog: world.catalog,
      leaseMs: opts.leaseMs ?? 2_000,
      ...(opts.owner ? { owner: opts.owner } : {}),
    });
  }

  const bucket = async () => {
    n += 1;
    const name = `${engine}-bucket-${n}`;
    await createBucket(world, name);
    return name;
  };

  const waitFor = (id: string, statuses: string[], ms = 10_000) =>
    actionWhen(store, id, (a) => statuses.includes(a.status) && !a.requestedOp, {
      ms,
      everyMs: 15,
    });

  const planned = (id: string) =>
    actionWhen(store, id, (a) => Boolean(a.plannedAt), { everyMs: 15 });

  async function approvedAction(type: string, name: string) {
    const { action } = await store.createAction(actionFor(world, type, name), {
      actor: 'token:ops',
      now: new Date(),
      requireApproval: true,
    });
    await planned(action.id);
    return store.transition(action.id, 'approve', { actor: 'token:admin', now: new Date() });
  }

  async function run(id: string, op: 'execute' | 'rollback' = 'execute') {
    await store.request(id, op, { actor: 'token:admin', now: new Date() });
    worker.wake();
    return waitFor(id, SETTLED);
  }

  const puts = (name: string) =>
    world.sandbox
      .mutations()
      .filter((m) => m.resource === name && m.operation === 'PutBucketEncryption');

  it('reads the live state into the plan before anyone approves', async () => {
    const name = await bucket();
    const action = await approvedAction('s3.enable-default-encryption', name);
    expect(action.plan.before).toEqual({ bucket: name, encryption: null });
    expect(action.plan.calls.map((c) => c.operation)).toEqual(['PutBucketEncryption']);
    expect(action.plan.reversibility.level).toBe('partial');
  });

  it('never touches a resource of an account its credentials do not act in', async () => {
    const name = await bucket();
    const input = actionFor(world, 's3.enable-default-encryption', name);
    const elsewhere = { ...input, resource: { ...input.resource, account: '999999999999' } };
    // Without approval, so the engine's own check is what stands between it and the cloud.
    const { action } = await store.createAction(elsewhere, {
      actor: 'token:ops',
      now: new Date(),
      requireApproval: false,
    });
    const plannedAction = await planned(action.id);
    expect(plannedAction.plan).toMatchObject({ before: null, error: { code: 'wrong_account' } });
    expect(plannedAction.plan.error?.message).toMatch(/account 999999999999.*account 111122223333/);

    const before = world.sandbox.mutations().length;
    const failed = await run(action.id);
    expect(failed).toMatchObject({
      status: 'failed',
      error: { code: 'wrong_account' },
      snapshot: null,
    });
    expect(world.sandbox.mutations()).toHaveLength(before);
    expect(await encryptionOf(world, name)).toBeNull();
  });

  it('snapshots, applies, verifies and rolls back to exactly the old state', async () => {
    const name = await bucket();
    const approved = await approvedAction('s3.enable-default-encryption', name);
    const done = await run(approved.id);

    expect(done).toMatchObject({ status: 'completed', attempt: 1, result: { kind: 'applied' } });
    expect(done.snapshot?.state).toEqual({ bucket: name, encryption: null });
    expect(done.rollbackDeadline).not.toBeNull();
    expect(
      (await encryptionOf(world, name))?.Rules?.[0]?.ApplyServerSideEncryptionByDefault,
    ).toMatchObject({ SSEAlgorithm: 'AES256' });
    expect(puts(name)).toHaveLength(1);

    const back = await run(approved.id, 'rollback');
    expect(back).toMatchObject({ status: 'rolled_back', result: { kind: 'rolled_back' } });
    expect(await encryptionOf(world, name)).toBeNull();

    const trail = (await store.events(approved.id)).filter((e) => e.type === 'transition');
    expect(trail.map((e) => e.to)).toEqual([
      'suggested',
      'pending_approval',
      'approved',
      'executing',
      'completed',
      'rolling_back',
      'rolled_back',
    ]);
  });

  it('says so and changes nothing when the fix is already in place', async () => {
    const name = await bucket();
    const approved = await approvedAction('s3.enable-default-encryption', name);
    await encryptWithKms(world, name);
    const before = world.sandbox.mutations().length;
    const done = await run(approved.id);
    expect(done).toMatchObject({ status: 'completed', result: { kind: 'already_compliant' } });
    expect(done.rollbackDeadline).toBeNull();
    expect(world.sandbox.mutations()).toHaveLength(before);
  });

  it('sends a plan the resource outdated back for review, then applies once approved', async () => {
    const name = await bucket();
    const approved = await approvedAction('s3.block-public-access', name);
    await world.s3.send(
      new (await import('@aws-sdk/client-s3')).PutPublicAccessBlockCommand({
        Bucket: name,
        PublicAccessBlockConfiguration: { BlockPublicAcls: true, IgnorePublicAcls: false },
      }),
    );
    await store.request(approved.id, 'execute', { actor: 'token:admin', now: new Date() });
    worker.wake();
    const back = await waitFor(approved.id, ['pending_approval']);
    expect(back).toMatchObject({ error: { code: 'resource_changed' }, approvedBy: null });
    expect(back.plan.before).toMatchObject({ publicAccessBlock: { BlockPublicAcls: true } });
    expect((await store.events(approved.id)).at(-1)).toMatchObject({
      actor: 'system',
      from: 'executing',
      to: 'pending_approval',
      data: { planned: {}, live: {} },
    });

    await store.transition(approved.id, 'approve', { actor: 'token:admin', now: new Date() });
    const retried = await run(approved.id);
    expect(retried).toMatchObject({ status: 'completed', attempt: 2, error: null });
  });

  it('fails with the cloud error code when the bucket is gone, and retries cleanly', async () => {
    // Planned while the bucket was there, so the plan could be approved; gone by the run.
    const name = await bucket();
    const approved = await approvedAction('s3.enable-versioning', name);
    await world.s3.send(new DeleteBucketCommand({ Bucket: name }));
    const failed = await run(approved.id);
    expect(failed).toMatchObject({
      status: 'failed',
      error: { code: 'cloud_error', cloudCode: 'NoSuchBucket' },
    });
  });

  it('rides out throttling through the SDK retries and applies once', async () => {
    const name = await bucket();
    const approved = await approvedAction('s3.enable-default-encryption', name);
    world.sandbox.injectFault({
      service: 's3',
      operation: 'PutBucketEncryption',
      kind: 'throttle',
      count: 2,
    });
    const done = await run(approved.id);
    expect(done.status).toBe('completed');
    expect(puts(name)).toHaveLength(1);
  });

  it('keeps the first snapshot after a lost answer; the retry does not reapply', async () => {
    const name = await bucket();
    const approved = await approvedAction('s3.enable-default-encryption', name);
    // Every answer to the change is lost, more times than the SDK retries.
    world.sandbox.injectFault({
      service: 's3',
      operation: 'PutBucketEncryption',
      kind: 'error',
      when: 'after',
      count: 10,
    });
    const failed = await run(approved.id);
    world.sandbox.clearFaults();
    expect(failed).toMatchObject({ status: 'failed', error: { outcomeUnknown: true } });
    expect(await encryptionOf(world, name)).not.toBeNull();
    const putsBefore = puts(name).length;

    const retried = await run(approved.id);
    expect(retried).toMatchObject({ status: 'completed', result: { kind: 'applied' } });
    expect(retried.snapshot?.state).toEqual({ bucket: name, encryption: null });
    expect(puts(name)).toHaveLength(putsBefore);

    const back = await run(approved.id, 'rollback');
    expect(back.status).toBe('rolled_back');
    expect(await encryptionOf(world, name)).toBeNull();
  });

  it('finishes a rollback without calls when the old state is already back', async () => {
    const name = await bucket();
    const approved = await approvedAction('s3.enable-versioning', name);
    await run(approved.id);
    // Someone suspends versioning by hand, which is what the rollback would do.
    await world.s3.send(
      new (await import('@aws-sdk/client-s3')).PutBucketVersioningCommand({
        Bucket: name,
        VersioningConfiguration: { Status: 'Suspended' },
      }),
    );
    const writes = world.sandbox.mutations().length;
    const back = await run(approved.id, 'rollback');
    expect(back).toMatchObject({ status: 'rolled_back', result: { kind: 'rolled_back' } });
    expect(back.result?.message).toMatch(/already back/);
    expect(world.sandbox.mutations()).toHaveLength(writes);
  });

  it('does not overwrite a change made after the fix when rolling back', async () => {
    const name = await bucket();
    const approved = await approvedAction('s3.enable-default-encryption', name);
    await run(approved.id);
    await encryptWithKms(world, name);
    const refused = await run(approved.id, 'rollback');
    expect(refused).toMatchObject({ status: 'completed', error: { code: 'resource_changed' } });
    expect(
      (await encryptionOf(world, name))?.Rules?.[0]?.ApplyServerSideEncryptionByDefault,
    ).toMatchObject({ SSEAlgorithm: 'aws:kms' });
    const event = (await store.events(approved.id)).at(-1)!;
    expect(event.data).toMatchObject({ expected: { encryption: {} }, live: { encryption: {} } });
  });

  it('overwrites a change made after the fix only when an admin forces it', async () => {
    const name = await bucket();
    const approved = await approvedAction('s3.enable-default-encryption', name);
    await run(approved.id);
    await encryptWithKms(world, name);
    await store.request(approved.id, 'rollback', {
      actor: 'token:admin',
      now: new Date(),
      data: { force: true },
    });
    worker.wake();
    const forced = await waitFor(approved.id, SETTLED);
    expect(forced).toMatchObject({ status: 'rolled_back', error: null });
    expect(await encryptionOf(world, name)).toBeNull();
    const events = await store.events(approved.id);
    expect(
      events.find((e) => e.type === 'request' && e.data?.request === 'rollback')?.data,
    ).toMatchObject({ force: true });
    expect(events.at(-1)).toMatchObject({
      to: 'rolled_back',
      data: { forced: true, overwritten: { encryption: { rules: [{}] } } },
    });
  });

  it('makes no change once another engine has taken the action over', async () => {
    const name = await bucket();
    const approved = await approvedAction('s3.enable-default-encryption', name);
    await run(approved.id);
    world.sandbox.injectFault({
      service: 's3',
      operation: 'GetBucketEncryption',
      kind: 'latency',
      ms: 400,
    });
    await store.request(approved.id, 'rollback', { actor: 'token:admin', now: new Date() });
    worker.wake();
    let claimed = (await store.getAction(approved.id))!;
    while (claimed.status !== 'rolling_back') {
      await new Promise((r) => setTimeout(r, 10));
      claimed = (await store.getAction(approved.id))!;
    }
    expect(
      await store.takeOver(approved.id, claimed.version, 'other-engine', new Date(), 60_000),
    ).toBe(true);
    await new Promise((r) => setTimeout(r, 800));
    const deletes = world.sandbox
      .mutations()
      .filter((m) => m.resource === name && m.operation === 'DeleteBucketEncryption');
    expect(deletes).toHaveLength(0);
    expect((await store.getAction(approved.id))!.status).toBe('rolling_back');
    expect(await encryptionOf(world, name)).not.toBeNull();
  });

  describe('after a crash', () => {
    /** Leaves an action executing under a lease nobody will renew, as a killed process does. */
    async function strand(type: string, name: string, opts: { snapshot: boolean }) {
      const approved = await approvedAction(type, name);
      await worker.stop();
      await store.request(approved.id, 'execute', { actor: 'token:admin', now: new Date() });
      const claimed = await store.claim('crashed-engine', {
        now: new Date(),
        leaseMs: 1,
        limit: 50,
      });
      expect(claimed.map((a) => a.id)).toContain(approved.id);
      if (opts.snapshot) {
        const state = await world.catalog.get(type)!.read(directContext(world), approved.resource);
        await store.saveSnapshot(
          approved.id,
          { capturedAt: new Date().toISOString(), state },
          'crashed-engine',
        );
      }
      return approved;
    }

    async function restart() {
      worker = newEngine({ leaseMs: 2_000 });
      await worker.start();
    }

    it('completes an action whose change landed, without applying it again', async () => {
      const name = await bucket();
      const action = await strand('s3.enable-default-encryption', name, { snapshot: true });
      await world.catalog
        .get('s3.enable-default-encryption')!
        .apply(directContext(world), action.resource, { bucket: name, encryption: null });
      await restart();
      const settled = await waitFor(action.id, SETTLED);
      expect(settled).toMatchObject({ status: 'completed', result: { kind: 'recovered' } });
      expect(puts(name)).toHaveLength(1);
    });

    it('fails an action whose change did not land, and applies nothing', async () => {
      const name = await bucket();
      const action = await strand('s3.enable-default-encryption', name, { snapshot: true });
      await restart();
      const settled = await waitFor(action.id, SETTLED);
      expect(settled).toMatchObject({ status: 'failed', error: { code: 'interrupted' } });
      expect(puts(name)).toHaveLength(0);
      expect(await encryptionOf(world, name)).toBeNull();
    });

    it('fails an action stopped before its snapshot, saying nothing changed', async () => {
      const name = await bucket();
      const action = await strand('s3.enable-default-encryption', name, { snapshot: false });
      await restart();
      const settled = await waitFor(action.id, SETTLED);
      expect(settled.error?.message).toMatch(/nothing was changed/);
      expect(puts(name)).toHaveLength(0);
    });
  });
});
