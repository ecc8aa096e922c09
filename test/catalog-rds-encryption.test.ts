import {
  CreateDBSnapshotCommand,
  type DBInstance,
  DescribeDBSnapshotsCommand,
  ModifyDBInstanceCommand,
  StopDBInstanceCommand,
} from '@aws-sdk/client-rds';
import { describe, expect, it } from 'vitest';
import { createCatalog } from '../src/catalog/index.ts';
import { enableStorageEncryption } from '../src/catalog/rds/enable-storage-encryption.ts';
import { planFor } from '../src/engine/plan.ts';
import { resolveKmsKey } from '../src/sandbox/rds/model.ts';
import {
  ACCOUNT,
  appliedSince,
  createAuroraCluster,
  createInstance,
  createReadReplica,
  describe as describeInstance,
  failure,
  fixContext,
  inputWith,
  instanceRef,
  lastSeq,
  putRegion,
  type RdsWorld,
  REGION,
  setSettings,
  startRdsWorld,
} from './helpers/rds.ts';
import { perTest } from './helpers/world.ts';

const fix = enableStorageEncryption;
const KEY = `arn:aws:kms:${REGION}:${ACCOUNT}:key/6f1e0c52-9d4b-4c3a-8a57-2e9b1f0d7c41`;
const INPUT = inputWith({ rdsKmsKeyId: KEY });
const ALIAS = inputWith({ rdsKmsKeyId: 'alias/aws/rds' });

let world: RdsWorld;
perTest(startRdsWorld, (started) => {
  world = started;
});

/** The original's configuration: what must stay as it was, status aside. */
function configOf(db: DBInstance) {
  const { DBInstanceStatus: _status, ...rest } = db;
  return rest;
}

async function snapshotIds(): Promise<string[]> {
  const out = await world.rds.send(new DescribeDBSnapshotsCommand({}));
  return (out.DBSnapshots ?? []).map((s) => s.DBSnapshotIdentifier ?? '').sort();
}

async function crm() {
  return createInstance(world.rds, 'legacy-crm', {
    Engine: 'mysql',
    DBInstanceClass: 'db.m5.large',
    MultiAZ: false,
    AvailabilityZone: 'us-east-1c',
    VpcSecurityGroupIds: ['sg-0c3a7d9e1f4b6a803'],
    DBSubnetGroupName: 'db-private',
    BackupRetentionPeriod: 7,
    CopyTagsToSnapshot: true,
    Tags: [{ Key: 'environment', Value: 'production' }],
  });
}

/** The CRM instance, created and read through a fresh context for `input`. */
async function readCrm(input = INPUT) {
  await crm();
  const ctx = fixContext(world, input);
  const resource = instanceRef('legacy-crm');
  return { ctx, resource, state: await fix.read(ctx, resource) };
}

describe('rds.enable-storage-encryption', () => {
  it('is in the catalog', () => {
    expect(createCatalog().get('rds.enable-storage-encryption')).toBe(fix);
  });

  it('snapshots, copies with the key, restores encrypted, rolls it all back', async () => {
    const original = await crm();
    const ctx = fixContext(world, INPUT);
    const resource = instanceRef('legacy-crm');
    const state = await fix.read(ctx, resource);
    expect(state).toMatchObject({
      storageEncrypted: false,
      encryptedInstance: null,
      sourceSnapshot: null,
    });

    const plan = planFor(fix, resource, state, INPUT);
    expect(plan.refusal).toBeNull();
    expect(plan.reversibility).toMatchObject({ level: 'full' });
    expect(plan.reversibility.note).toContain('the original instance is never changed');
    expect(
      plan.calls.map((c) => [
        c.operation,
        c.parameters.DBSnapshotIdentifier ?? c.parameters.TargetDBSnapshotIdentifier,
      ]),
    ).toEqual([
      ['CreateDBSnapshot', 'legacy-crm-pre-encryption'],
      ['CopyDBSnapshot', 'legacy-crm-encrypted-copy'],
      ['RestoreDBInstanceFromDBSnapshot', 'legacy-crm-encrypted-copy'],
    ]);
    expect(plan.calls[1]?.parameters.KmsKeyId).toBe(KEY);
    expect(plan.calls[2]?.parameters).toMatchObject({
      DBInstanceIdentifier: 'legacy-crm-encrypted',
      DBInstanceClass: 'db.m5.large',
      MultiAZ: false,
      AvailabilityZone: 'us-east-1c',
      DBSubnetGroupName: 'db-private',
      VpcSecurityGroupIds: ['sg-0c3a7d9e1f4b6a803'],
      BackupRetentionPeriod: 7,
      Tags: [
        { Key: 'environment', Value: 'production' },
        { Key: 'created-by', Value: 'infraudit' },
      ],
    });
    expect(plan.rollbackCalls.map((c) => c.operation)).toEqual([
      'DeleteDBInstance',
      'DeleteDBSnapshot',
      'DeleteDBSnapshot',
    ]);
    const text = plan.warnings.join(' ');
    expect(text).toContain('legacy-crm keeps running unencrypted');
    expect(text).toContain('Cut-over is manual');
    expect(text).toContain('single-AZ: taking the snapshot suspends its I/O');

    const seq = lastSeq(world.sandbox);
    await fix.apply(ctx, resource, state);
    expect(appliedSince(world.sandbox, seq)).toEqual(plan.calls);
    expect(ctx.checkpoints).toEqual([
      { sourceSnapshot: 'legacy-crm-pre-encryption' },
      {
        sourceSnapshot: 'legacy-crm-pre-encryption',
        encryptedSnapshot: 'legacy-crm-encrypted-copy',
      },
      {
        sourceSnapshot: 'legacy-crm-pre-encryption',
        encryptedSnapshot: 'legacy-crm-encrypted-copy',
        encryptedInstance: 'legacy-crm-encrypted',
      },
    ]);

    const encrypted = await describeInstance(world.rds, 'legacy-crm-encrypted');
    expect(encrypted).toMatchObject({
      DBInstanceStatus: 'available',
      StorageEncrypted: true,
      KmsKeyId: KEY,
      Engine: 'mysql',
      DBInstanceClass: 'db.m5.large',
      AvailabilityZone: 'us-east-1c',
    });
    expect(configOf(await describeInstance(world.rds, 'legacy-crm'))).toEqual(configOf(original));
    const after = await fix.read(ctx, resource);
    expect(fix.isCompliant(after, INPUT)).toBe(true);
    expect(fix.isUnchangedSinceFix?.(after, state, INPUT)).toBe(true);

    const back = lastSeq(world.sandbox);
    await fix.restore(ctx, resource, state);
    expect(appliedSince(world.sandbox, back)).toEqual(plan.rollbackCalls);
    expect(fix.isRestored(await fix.read(ctx, resource), state, INPUT)).toBe(true);
    expect(await snapshotIds()).toEqual([]);
    expect(await failure(describeInstance(world.rds, 'legacy-crm-encrypted'))).toMatchObject({
      Code: 'DBInstanceNotFound',
    });
    expect(configOf(await describeInstance(world.rds, 'legacy-crm'))).toEqual(configOf(original));
    const touched = world.sandbox
      .mutations()
      .filter((m) => m.resource === 'legacy-crm' && m.seq > seq);
    expect(touched).toEqual([]);
  });

  it('waits for each step while RDS is still working on it', async () => {
    await crm();
    await setSettings(world.sandbox, { transitionMs: 150 });
    const ctx = fixContext(world, INPUT);
    const resource = instanceRef('legacy-crm');
    const state = await fix.read(ctx, resource);
    await fix.apply(ctx, resource, state);
    expect(await describeInstance(world.rds, 'legacy-crm-encrypted')).toMatchObject({
      DBInstanceStatus: 'available',
      StorageEncrypted: true,
    });
    await fix.restore(ctx, resource, state);
    expect(await snapshotIds()).toEqual([]);
    expect(fix.isRestored(await fix.read(ctx, resource), state, INPUT)).toBe(true);
  });

  it('checks the instance against the key RDS resolved an alias to', async () => {
    const { ctx, resource, state } = await readCrm(ALIAS);
    expect(fix.warnings(state, ALIAS).join(' ')).toContain('alias/aws/rds is an alias');
    await fix.apply(ctx, resource, state);
    const after = await fix.read(ctx, resource);
    expect(after.encryptedInstance).toMatchObject({
      kmsKeyId: resolveKmsKey('alias/aws/rds', REGION, ACCOUNT),
    });
    expect(fix.isCompliant(after, ALIAS)).toBe(true);
    expect(fix.isCompliant(after, inputWith({ rdsKmsKeyId: KEY }))).toBe(false);
  });

  it('resumes after a 5xx in the middle and never makes a second copy', async () => {
    const { ctx: first, resource, state } = await readCrm();
    world.sandbox.injectFault({
      service: 'rds',
      operation: 'CopyDBSnapshot',
      kind: 'error',
      count: 4,
    });
    const broken = await failure(fix.apply(first, resource, state));
    expect(broken).toMatchObject({ name: 'InternalFailure' });
    expect(first.progress).toEqual({
      sourceSnapshot: 'legacy-crm-pre-encryption',
      encryptedSnapshot: 'legacy-crm-encrypted-copy',
    });
    expect(await snapshotIds()).toEqual(['legacy-crm-pre-encryption']);

    const retry = fixContext(world, INPUT, first.progress);
    await fix.apply(retry, resource, state);
    const ops = world.sandbox.mutations().map((m) => m.operation);
    expect(ops.filter((o) => o === 'CreateDBSnapshot')).toHaveLength(1);
    expect(ops.filter((o) => o === 'CopyDBSnapshot')).toHaveLength(1);
    expect(ops.filter((o) => o === 'RestoreDBInstanceFromDBSnapshot')).toHaveLength(1);
    expect(await snapshotIds()).toEqual(['legacy-crm-encrypted-copy', 'legacy-crm-pre-encryption']);
    expect(fix.isCompliant(await fix.read(retry, resource), INPUT)).toBe(true);
  });

  it('adopts a copy whose answer was lost instead of copying again', async () => {
    const { ctx: first, resource, state } = await readCrm();
    world.sandbox.injectFault({
      service: 'rds',
      operation: 'CopyDBSnapshot',
      kind: 'error',
      when: 'after',
      count: 4,
    });
    await failure(fix.apply(first, resource, state));
    expect(await snapshotIds()).toEqual(['legacy-crm-encrypted-copy', 'legacy-crm-pre-encryption']);

    await fix.apply(fixContext(world, INPUT, first.progress), resource, state);
    const copies = world.sandbox.mutations().filter((m) => m.operation === 'CopyDBSnapshot');
    expect(copies).toHaveLength(1);
    expect(await snapshotIds()).toEqual(['legacy-crm-encrypted-copy', 'legacy-crm-pre-encryption']);
  });

  it('takes a restore the SDK retried after a lost answer as done', async () => {
    const { ctx, resource, state } = await readCrm();
    world.sandbox.injectFault({
      service: 'rds',
      operation: 'RestoreDBInstanceFromDBSnapshot',
      kind: 'error',
      when: 'after',
      count: 1,
    });
    await fix.apply(ctx, resource, state);
    const restores = world.sandbox
      .mutations()
      .filter((m) => m.operation === 'RestoreDBInstanceFromDBSnapshot');
    expect(restores).toHaveLength(1);
    expect(fix.isCompliant(await fix.read(ctx, resource), INPUT)).toBe(true);
  });

  it('stops before creating anything when a resource with its name is not its own', async () => {
    await crm();
    await world.rds.send(
      new CreateDBSnapshotCommand({
        DBInstanceIdentifier: 'legacy-crm',
        DBSnapshotIdentifier: 'legacy-crm-pre-encryption',
      }),
    );
    const ctx = fixContext(world, INPUT);
    const resource = instanceRef('legacy-crm');
    const state = await fix.read(ctx, resource);
    const seq = lastSeq(world.sandbox);
    const refused = await failure(fix.apply(ctx, resource, state));
    expect(refused.message).toContain(
      'legacy-crm-pre-encryption already exists and this action did not create it',
    );
    expect(appliedSince(world.sandbox, seq)).toEqual([]);
    expect(ctx.checkpoints).toEqual([]);
  });

  it('will not roll back once the copy is protected or the original was swapped out', async () => {
    const { ctx, resource, state } = await readCrm();
    await fix.apply(ctx, resource, state);
    await world.rds.send(
      new ModifyDBInstanceCommand({
        DBInstanceIdentifier: 'legacy-crm-encrypted',
        DeletionProtection: true,
      }),
    );
    expect(fix.isUnchangedSinceFix?.(await fix.read(ctx, resource), state, INPUT)).toBe(false);
  });

  it('counts an encrypted original as done; refuses Aurora, replicas, stopped', async () => {
    await createInstance(world.rds, 'safe', { StorageEncrypted: true });
    const ctx = fixContext(world, INPUT);
    const safe = await fix.read(ctx, instanceRef('safe'));
    expect(fix.isCompliant(safe, INPUT)).toBe(true);

    await createAuroraCluster(world.rds, 'plain-cluster', 'aurora-mysql');
    await createInstance(world.rds, 'plain-member', {
      Engine: 'aurora-mysql',
      DBClusterIdentifier: 'plain-cluster',
      AllocatedStorage: undefined,
    });
    const member = await fix.read(ctx, instanceRef('plain-member'));
    expect(fix.refusal?.(member, INPUT)).toMatch(
      /Aurora cluster plain-cluster: Aurora storage encryption is set on the cluster/,
    );

    await createInstance(world.rds, 'source', { BackupRetentionPeriod: 1 });
    await createReadReplica(world.rds, 'source-replica', 'source');
    const replica = await fix.read(ctx, instanceRef('source-replica'));
    expect(fix.refusal?.(replica, INPUT)).toMatch(
      /read replica of source: a replica is encrypted as its source is/,
    );
    const source = await fix.read(ctx, instanceRef('source'));
    expect(fix.warnings(source, INPUT).join(' ')).toContain('has read replicas (source-replica)');

    await createInstance(world.rds, 'parked');
    await world.rds.send(new StopDBInstanceCommand({ DBInstanceIdentifier: 'parked' }));
    expect(fix.refusal?.(await fix.read(ctx, instanceRef('parked')), INPUT)).toMatch(
      /parked is stopped/,
    );

    await putRegion(world.sandbox, {
      DBInstances: [{ DBInstanceIdentifier: 'odd', DBInstanceStatus: 'available' }],
    });
    expect(fix.refusal?.(await fix.read(ctx, instanceRef('odd')), INPUT)).toMatch(
      /did not report StorageEncrypted for odd/,
    );
  });

  it('refuses a name that the encrypted copy could not carry', async () => {
    const long = `a${'b'.repeat(55)}`;
    await createInstance(world.rds, long);
    const state = await fix.read(fixContext(world, INPUT), instanceRef(long));
    expect(fix.refusal?.(state, INPUT)).toMatch(/longer than RDS's 63 characters/);
  });
});
