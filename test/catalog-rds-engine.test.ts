import { DescribeDBSnapshotsCommand, StopDBInstanceCommand } from '@aws-sdk/client-rds';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCatalog } from '../src/catalog/index.ts';
import type { Action } from '../src/domain/action.ts';
import type { Engine } from '../src/engine/engine.ts';
import type { Store } from '../src/store/store.ts';
import { createTestDatabase, ENGINES, type TestDatabase } from './helpers/databases.ts';
import {
  ACCOUNT,
  createInstance,
  describe as describeInstance,
  instanceRef,
  type RdsWorld,
  REGION,
  silent,
  startRdsWorld,
} from './helpers/rds.ts';
import { actionWhen, quickEngine, stopEngineSuite } from './helpers/actions.ts';
import { catalogAction } from './helpers/world.ts';

const SETTLED = ['completed', 'failed', 'rolled_back'];
const KEY = `arn:aws:kms:${REGION}:${ACCOUNT}:key/0f3c9e27-5b1d-4a86-9c41-7e2d8b6a5f10`;

describe.each(ENGINES)('RDS fixes through the engine on %s', (engine) => {
  let database: TestDatabase;
  let store: Store;
  let world: RdsWorld;
  let worker: Engine;
  const catalog = createCatalog();

  beforeAll(async () => {
    database = await createTestDatabase(engine);
    store = await database.open();
    world = await startRdsWorld();
    await store.updateFixOptions({ rdsKmsKeyId: KEY }, { actor: 'token:admin', now: new Date() });
    worker = quickEngine({ store, clients: world.clients, catalog, log: silent });
    await worker.start();
  });

  afterAll(() => stopEngineSuite({ worker, world, store, database }));

  const newAction = (type: string, id: string) =>
    catalogAction(catalog, type, instanceRef(id), { origin: 'securityhub', checkId: 'RDS.3' });

  const waitFor = (id: string, check: (a: Action) => boolean) =>
    actionWhen(store, id, check, { ms: 15_000, everyMs: 15 });

  async function approved(type: string, id: string): Promise<Action> {
    const { action } = await store.createAction(newAction(type, id), {
      actor: 'token:ops',
      now: new Date(),
      requireApproval: true,
    });
    await waitFor(action.id, (a) => a.plannedAt !== null);
    return store.transition(action.id, 'approve', { actor: 'token:admin', now: new Date() });
  }

  async function run(id: string, op: 'execute' | 'rollback' = 'execute') {
    await store.request(id, op, { actor: 'token:admin', now: new Date() });
    worker.wake();
    return waitFor(id, (a) => SETTLED.includes(a.status) && !a.requestedOp);
  }

  const count = (operation: string, resource?: string) =>
    world.sandbox
      .mutations()
      .filter((m) => m.operation === operation && (!resource || m.resource === resource)).length;

  it('records a failure mid-way with its progress, then resumes once and rolls back', async () => {
    const id = `${engine}-crm`;
    await createInstance(world.rds, id);
    const action = await approved('rds.enable-storage-encryption', id);
    expect(action.plan.calls.map((c) => c.operation)).toEqual([
      'CreateDBSnapshot',
      'CopyDBSnapshot',
      'RestoreDBInstanceFromDBSnapshot',
    ]);
    expect(action.plan.calls[1]?.parameters.KmsKeyId).toBe(KEY);

    world.sandbox.injectFault({
      service: 'rds',
      operation: 'CopyDBSnapshot',
      kind: 'error',
      count: 4,
    });
    const failed = await run(action.id);
    expect(failed).toMatchObject({
      status: 'failed',
      error: { code: 'cloud_error', cloudCode: 'InternalFailure' },
      progress: {
        sourceSnapshot: `${id}-pre-encryption`,
        encryptedSnapshot: `${id}-encrypted-copy`,
      },
    });

    const done = await run(action.id);
    expect(done).toMatchObject({ status: 'completed', attempt: 2, result: { kind: 'applied' } });
    expect(count('CreateDBSnapshot', `${id}-pre-encryption`)).toBe(1);
    expect(count('CopyDBSnapshot', `${id}-encrypted-copy`)).toBe(1);
    expect(count('RestoreDBInstanceFromDBSnapshot', `${id}-encrypted`)).toBe(1);
    expect(await describeInstance(world.rds, `${id}-encrypted`)).toMatchObject({
      StorageEncrypted: true,
      KmsKeyId: KEY,
    });
    expect((await describeInstance(world.rds, id)).StorageEncrypted).toBe(false);

    const back = await run(action.id, 'rollback');
    expect(back).toMatchObject({ status: 'rolled_back', result: { kind: 'rolled_back' } });
    const left = await world.rds.send(new DescribeDBSnapshotsCommand({ DBInstanceIdentifier: id }));
    expect(left.DBSnapshots).toEqual([]);
  });

  it('refuses a stopped instance at execution with the reason from the plan', async () => {
    const id = `${engine}-parked`;
    await createInstance(world.rds, id);
    const action = await approved('rds.enable-multi-az', id);
    expect(action.plan.refusal).toBeNull();
    await world.rds.send(new StopDBInstanceCommand({ DBInstanceIdentifier: id }));
    const failed = await run(action.id);
    expect(failed).toMatchObject({ status: 'failed', error: { code: 'refused' } });
    expect(failed.error?.message).toContain(`${id} is stopped`);
    expect(failed.plan.refusal).toContain('Start it');
    expect(count('ModifyDBInstance', id)).toBe(0);
  });

  it('turns backups on and rolls them back through the engine', async () => {
    const id = `${engine}-reporting`;
    await createInstance(world.rds, id, { BackupRetentionPeriod: 0 });
    const action = await approved('rds.enable-automated-backups', id);
    expect(action.plan.warnings.join(' ')).toContain('causes an outage');
    const done = await run(action.id);
    expect(done).toMatchObject({ status: 'completed', result: { kind: 'applied' } });
    expect((await describeInstance(world.rds, id)).PendingModifiedValues).toEqual({
      BackupRetentionPeriod: 7,
    });
    const back = await run(action.id, 'rollback');
    expect(back.status).toBe('rolled_back');
    expect(await describeInstance(world.rds, id)).toMatchObject({
      BackupRetentionPeriod: 0,
      PendingModifiedValues: {},
    });
  });
});
