import { StopDBInstanceCommand } from '@aws-sdk/client-rds';
import { describe, expect, it } from 'vitest';
import { createCatalog } from '../src/catalog/index.ts';
import { enableAutomatedBackups, targetDays } from '../src/catalog/rds/enable-automated-backups.ts';
import { AppError } from '../src/domain/errors.ts';
import { planFor } from '../src/engine/plan.ts';
import {
  appliedSince,
  createAuroraCluster,
  createInstance,
  createReadReplica,
  describe as describeInstance,
  failure,
  fieldsOf,
  fixContext,
  inputWith,
  instanceRef,
  lastSeq,
  putRegion,
  type RdsWorld,
  startRdsWorld,
} from './helpers/rds.ts';
import { perTest } from './helpers/world.ts';

const fix = enableAutomatedBackups;
const LATER = inputWith({ rdsApplyImmediately: false, rdsBackupRetentionDays: 7 });
const NOW = inputWith({ rdsApplyImmediately: true, rdsBackupRetentionDays: 7 });

let world: RdsWorld;
perTest(startRdsWorld, (started) => {
  world = started;
});

const observed = (id: string) =>
  fieldsOf(world.rds, id, [
    'BackupRetentionPeriod',
    'PendingModifiedValues',
    'LatestRestorableTime',
    'DBInstanceStatus',
  ]);

describe('rds.enable-automated-backups', () => {
  it('is in the catalog', () => {
    expect(createCatalog().get('rds.enable-automated-backups')).toBe(fix);
  });

  it('turns backups on at the window with both warnings, and rolls back to 0', async () => {
    await createInstance(world.rds, 'reporting', { BackupRetentionPeriod: 0 });
    const before = await observed('reporting');
    const ctx = fixContext(world, LATER);
    const resource = instanceRef('reporting');
    const state = await fix.read(ctx, resource);
    expect(state).toMatchObject({ backupRetentionPeriod: 0, pendingBackupRetentionPeriod: null });

    const plan = planFor(fix, resource, state, LATER);
    expect(plan.calls).toEqual([
      {
        service: 'rds',
        operation: 'ModifyDBInstance',
        parameters: {
          DBInstanceIdentifier: 'reporting',
          BackupRetentionPeriod: 7,
          ApplyImmediately: false,
        },
      },
    ]);
    expect(plan.rollbackCalls[0]?.parameters).toEqual({
      DBInstanceIdentifier: 'reporting',
      BackupRetentionPeriod: 0,
      ApplyImmediately: false,
    });
    const text = plan.warnings.join(' ');
    expect(text).toContain('(0 to 7 days) causes an outage in the next maintenance window');
    expect(text).toContain('deletes every automated backup of the instance');
    expect(plan.reversibility).toMatchObject({ level: 'full' });
    expect(plan.reversibility.note).toContain('deletes every automated backup');

    const seq = lastSeq(world.sandbox);
    await fix.apply(ctx, resource, state);
    expect(appliedSince(world.sandbox, seq)).toEqual(plan.calls);
    expect(await observed('reporting')).toMatchObject({
      BackupRetentionPeriod: 0,
      PendingModifiedValues: { BackupRetentionPeriod: 7 },
    });
    const after = await fix.read(ctx, resource);
    expect(fix.isCompliant(after, LATER)).toBe(true);
    expect(fix.isUnchangedSinceFix?.(after, state, LATER)).toBe(true);

    const back = lastSeq(world.sandbox);
    await fix.restore(ctx, resource, state);
    expect(appliedSince(world.sandbox, back)).toEqual(plan.rollbackCalls);
    expect(fix.isRestored(await fix.read(ctx, resource), state, LATER)).toBe(true);
    expect(await observed('reporting')).toEqual(before);
  });

  it('applies at once when told to, and the rollback turns backups off again', async () => {
    await createInstance(world.rds, 'reporting', { BackupRetentionPeriod: 0 });
    const before = await observed('reporting');
    const ctx = fixContext(world, NOW);
    const resource = instanceRef('reporting');
    const state = await fix.read(ctx, resource);
    expect(fix.warnings(state, NOW).join(' ')).toContain(
      'causes an outage now (ApplyImmediately is on)',
    );
    await fix.apply(ctx, resource, state);
    const on = await observed('reporting');
    expect(on).toMatchObject({
      BackupRetentionPeriod: 7,
      PendingModifiedValues: {},
      DBInstanceStatus: 'available',
    });
    expect(on.LatestRestorableTime).toBeInstanceOf(Date);
    expect(fix.isCompliant(await fix.read(ctx, resource), NOW)).toBe(true);

    await fix.restore(ctx, resource, state);
    expect(fix.isRestored(await fix.read(ctx, resource), state, NOW)).toBe(true);
    expect(await observed('reporting')).toEqual(before);
  });

  it("raises a short retention to the check's minimum at once, and puts it back", async () => {
    await createInstance(world.rds, 'short', { BackupRetentionPeriod: 3 });
    const rds11 = inputWith(
      { rdsApplyImmediately: false, rdsBackupRetentionDays: 5 },
      { minimumDays: 7 },
    );
    const ctx = fixContext(world, rds11);
    const resource = instanceRef('short');
    const state = await fix.read(ctx, resource);
    expect(fix.isCompliant(state, inputWith({}, {}))).toBe(true);
    expect(fix.isCompliant(state, rds11)).toBe(false);
    expect(fix.calls(resource, state, rds11)[0]?.parameters.BackupRetentionPeriod).toBe(7);
    expect(fix.warnings(state, rds11).join(' ')).toContain('goes from 3 to 7 days');

    await fix.apply(ctx, resource, state);
    expect(await observed('short')).toMatchObject({
      BackupRetentionPeriod: 7,
      PendingModifiedValues: {},
    });
    expect(fix.target(state, rds11)).toEqual(await fix.read(ctx, resource));
    await fix.restore(ctx, resource, state);
    expect((await observed('short')).BackupRetentionPeriod).toBe(3);
  });

  it('takes the larger of the configured days and the minimum, and refuses a bad minimum', () => {
    expect(targetDays(inputWith({ rdsBackupRetentionDays: 14 }, { minimumDays: 7 }))).toBe(14);
    expect(targetDays(inputWith({ rdsBackupRetentionDays: 3 }, { minimumDays: 7 }))).toBe(7);
    expect(() => targetDays(inputWith({}, { minimumDays: 90 }))).toThrow(AppError);
  });

  it('refuses a read replica, pointing at its source', async () => {
    await createInstance(world.rds, 'primary', { BackupRetentionPeriod: 7 });
    await createReadReplica(world.rds, 'primary-replica', 'primary');
    const state = await fix.read(fixContext(world, LATER), instanceRef('primary-replica'));
    expect(state).toMatchObject({ backupRetentionPeriod: 0, replicaSource: 'primary' });
    expect(fix.refusal?.(state, LATER)).toMatch(
      /read replica of primary: its data is protected by the backups of primary/,
    );
  });

  it('reads an Aurora member from its cluster: fine at 1 day, refused under 7', async () => {
    await createAuroraCluster(world.rds, 'analytics', 'aurora-postgresql', {
      BackupRetentionPeriod: 1,
    });
    await createInstance(world.rds, 'analytics-1', {
      Engine: 'aurora-postgresql',
      DBClusterIdentifier: 'analytics',
      AllocatedStorage: undefined,
    });
    const state = await fix.read(fixContext(world, LATER), instanceRef('analytics-1'));
    expect(fix.isCompliant(state, LATER)).toBe(true);
    const rds11 = inputWith({}, { minimumDays: 7 });
    expect(fix.isCompliant(state, rds11)).toBe(false);
    expect(fix.refusal?.(state, rds11)).toMatch(
      /backups belong to the cluster, not the instance \(Aurora cluster analytics keeps 1/,
    );
  });

  it('refuses a stopped instance and one whose retention RDS did not report', async () => {
    await createInstance(world.rds, 'parked', { BackupRetentionPeriod: 0 });
    await world.rds.send(new StopDBInstanceCommand({ DBInstanceIdentifier: 'parked' }));
    const ctx = fixContext(world, LATER);
    expect(fix.refusal?.(await fix.read(ctx, instanceRef('parked')), LATER)).toMatch(
      /parked is stopped/,
    );

    await putRegion(world.sandbox, {
      DBInstances: [{ DBInstanceIdentifier: 'trimmed', DBInstanceStatus: 'available' }],
    });
    const trimmed = await fix.read(ctx, instanceRef('trimmed'));
    expect(trimmed).toMatchObject({ backupRetentionPeriod: null });
    expect(fix.refusal?.(trimmed, LATER)).toMatch(
      /did not report BackupRetentionPeriod for trimmed/,
    );
  });

  it('retries throttling, and fails at once on a permanent error', async () => {
    await createInstance(world.rds, 'reporting', { BackupRetentionPeriod: 0 });
    const ctx = fixContext(world, LATER);
    const resource = instanceRef('reporting');
    const state = await fix.read(ctx, resource);
    world.sandbox.injectFault({
      service: 'rds',
      operation: 'ModifyDBInstance',
      kind: 'throttle',
      count: 1,
    });
    await fix.apply(ctx, resource, state);
    expect(fix.isCompliant(await fix.read(ctx, resource), LATER)).toBe(true);

    await world.rds.send(new StopDBInstanceCommand({ DBInstanceIdentifier: 'reporting' }));
    const refused = await failure(fix.restore(ctx, resource, state));
    expect(refused).toMatchObject({ name: 'InvalidDBInstanceStateFault' });
    expect(refused.$metadata.attempts).toBe(1);
  });
});
