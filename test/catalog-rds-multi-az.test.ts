import { ModifyDBInstanceCommand, StopDBInstanceCommand } from '@aws-sdk/client-rds';
import { describe, expect, it } from 'vitest';
import { createCatalog } from '../src/catalog/index.ts';
import { enableMultiAz } from '../src/catalog/rds/enable-multi-az.ts';
import { planFor } from '../src/engine/plan.ts';
import { windowAround } from '../src/sandbox/rds/maintenance-window.ts';
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
  setSettings,
  startRdsWorld,
} from './helpers/rds.ts';
import { perTest } from './helpers/world.ts';

const fix = enableMultiAz;
const LATER = inputWith({ rdsApplyImmediately: false });
const NOW = inputWith({ rdsApplyImmediately: true });

let world: RdsWorld;
perTest(startRdsWorld, (started) => {
  world = started;
});

/** The instance fields a rollback must give back, read through the SDK. */
const observed = (id: string) =>
  fieldsOf(world.rds, id, [
    'MultiAZ',
    'PendingModifiedValues',
    'SecondaryAvailabilityZone',
    'DBInstanceStatus',
  ]);

describe('rds.enable-multi-az', () => {
  it('is in the catalog', () => {
    expect(createCatalog().get('rds.enable-multi-az')).toBe(fix);
  });

  it('waits for the window: verified on the pending value, rolled back before it', async () => {
    await createInstance(world.rds, 'orders');
    const before = await observed('orders');
    const ctx = fixContext(world, LATER);
    const resource = instanceRef('orders');

    const state = await fix.read(ctx, resource);
    const plan = planFor(fix, resource, state, LATER);
    expect(plan).toMatchObject({
      alreadyCompliant: false,
      refusal: null,
      reversibility: { level: 'full' },
      calls: [
        {
          service: 'rds',
          operation: 'ModifyDBInstance',
          parameters: { DBInstanceIdentifier: 'orders', MultiAZ: true, ApplyImmediately: false },
        },
      ],
      rollbackCalls: [
        {
          operation: 'ModifyDBInstance',
          parameters: { DBInstanceIdentifier: 'orders', MultiAZ: false, ApplyImmediately: false },
        },
      ],
    });
    expect(plan.warnings.join(' ')).toContain('next maintenance window (sun:05:00-sun:05:30, UTC)');
    expect(plan.warnings.join(' ')).toContain('verified when that pending value is visible');

    const seq = lastSeq(world.sandbox);
    await fix.apply(ctx, resource, state);
    expect(appliedSince(world.sandbox, seq)).toEqual(plan.calls);
    const after = await fix.read(ctx, resource);
    expect(fix.isCompliant(after, LATER)).toBe(true);
    expect(after).toEqual(fix.target(state, LATER));
    expect(await observed('orders')).toMatchObject({
      MultiAZ: false,
      PendingModifiedValues: { MultiAZ: true },
    });

    expect(fix.isUnchangedSinceFix?.(after, state, LATER)).toBe(true);
    const back = lastSeq(world.sandbox);
    await fix.restore(ctx, resource, state);
    expect(appliedSince(world.sandbox, back)).toEqual(plan.rollbackCalls);
    expect(fix.isRestored(await fix.read(ctx, resource), state, LATER)).toBe(true);
    expect(await observed('orders')).toEqual(before);
  });

  it('applies at once and waits for the conversion, then rolls back to single-AZ', async () => {
    await createInstance(world.rds, 'orders');
    const before = await observed('orders');
    await setSettings(world.sandbox, { transitionMs: 120 });
    const ctx = fixContext(world, NOW);
    const resource = instanceRef('orders');
    const state = await fix.read(ctx, resource);
    expect(fix.calls(resource, state, NOW)[0]?.parameters.ApplyImmediately).toBe(true);
    expect(fix.warnings(state, NOW).join(' ')).toContain('RDS starts the conversion now');

    await fix.apply(ctx, resource, state);
    expect(await observed('orders')).toMatchObject({
      MultiAZ: true,
      DBInstanceStatus: 'available',
      PendingModifiedValues: {},
      SecondaryAvailabilityZone: 'us-east-1b',
    });
    const after = await fix.read(ctx, resource);
    expect(fix.isCompliant(after, NOW)).toBe(true);

    await fix.restore(ctx, resource, state);
    expect(fix.isRestored(await fix.read(ctx, resource), state, NOW)).toBe(true);
    expect(await observed('orders')).toEqual(before);
  });

  it('rolls back after the window ran by scheduling single-AZ for the next one', async () => {
    await createInstance(world.rds, 'orders');
    const ctx = fixContext(world, LATER);
    const resource = instanceRef('orders');
    const state = await fix.read(ctx, resource);
    await fix.apply(ctx, resource, state);
    await world.rds.send(
      new ModifyDBInstanceCommand({
        DBInstanceIdentifier: 'orders',
        PreferredMaintenanceWindow: windowAround(new Date()),
      }),
    );
    const live = await fix.read(ctx, resource);
    expect(live).toMatchObject({ multiAZ: true, pendingMultiAZ: null });
    expect(fix.isUnchangedSinceFix?.(live, state, LATER)).toBe(true);

    await fix.restore(ctx, resource, state);
    expect(await observed('orders')).toMatchObject({
      MultiAZ: true,
      PendingModifiedValues: { MultiAZ: false },
    });
    expect(fix.isRestored(await fix.read(ctx, resource), state, LATER)).toBe(true);
  });

  it('refuses stopped, creating and failed instances, saying why', async () => {
    await createInstance(world.rds, 'parked');
    await world.rds.send(new StopDBInstanceCommand({ DBInstanceIdentifier: 'parked' }));
    const ctx = fixContext(world, LATER);
    const stopped = await fix.read(ctx, instanceRef('parked'));
    expect(fix.refusal?.(stopped, LATER)).toMatch(
      /parked is stopped: RDS refuses changes to a stopped instance/,
    );

    await setSettings(world.sandbox, { transitionMs: 60_000 });
    await createInstance(world.rds, 'fresh');
    const creating = await fix.read(ctx, instanceRef('fresh'));
    expect(fix.refusal?.(creating, LATER)).toMatch(/fresh is still being created/);

    await putRegion(world.sandbox, {
      DBInstances: [{ DBInstanceIdentifier: 'broken', DBInstanceStatus: 'failed', MultiAZ: false }],
    });
    const failed = await fix.read(ctx, instanceRef('broken'));
    expect(fix.refusal?.(failed, LATER)).toMatch(/broken is in the failed state/);
  });

  it('refuses an Aurora member of a one-zone cluster; a multi-zone cluster is done', async () => {
    await createAuroraCluster(world.rds, 'analytics', 'aurora-mysql');
    const member = { Engine: 'aurora-mysql', DBClusterIdentifier: 'analytics' };
    await createInstance(world.rds, 'analytics-1', {
      ...member,
      AvailabilityZone: 'us-east-1a',
      AllocatedStorage: undefined,
    });
    const ctx = fixContext(world, LATER);
    const one = await fix.read(ctx, instanceRef('analytics-1'));
    expect(fix.isCompliant(one, LATER)).toBe(false);
    expect(fix.refusal?.(one, LATER)).toMatch(
      /Aurora cluster analytics: Multi-AZ belongs to the cluster.*1 instance\(s\) \(analytics-1\)/,
    );

    await createInstance(world.rds, 'analytics-2', {
      ...member,
      AvailabilityZone: 'us-east-1b',
      AllocatedStorage: undefined,
    });
    const two = await fix.read(ctx, instanceRef('analytics-1'));
    expect(fix.isCompliant(two, LATER)).toBe(true);
    expect(fix.refusal?.(two, LATER)).toBeNull();
  });

  it('turns on Multi-AZ for a read replica, with a warning about its source', async () => {
    await createInstance(world.rds, 'primary', { BackupRetentionPeriod: 7 });
    await createReadReplica(world.rds, 'primary-replica', 'primary');
    const ctx = fixContext(world, NOW);
    const state = await fix.read(ctx, instanceRef('primary-replica'));
    expect(fix.refusal?.(state, NOW)).toBeNull();
    expect(fix.warnings(state, NOW).join(' ')).toContain('read replica of primary');
    await fix.apply(ctx, instanceRef('primary-replica'), state);
    expect((await describeInstance(world.rds, 'primary-replica')).MultiAZ).toBe(true);
    expect((await describeInstance(world.rds, 'primary')).MultiAZ).toBe(false);
  });

  it('treats a MultiAZ field RDS did not report as single-AZ and says so', async () => {
    await putRegion(world.sandbox, {
      DBInstances: [
        {
          DBInstanceIdentifier: 'trimmed',
          DBInstanceStatus: 'available',
          BackupRetentionPeriod: 7,
        },
      ],
    });
    const ctx = fixContext(world, LATER);
    const state = await fix.read(ctx, instanceRef('trimmed'));
    expect(state).toMatchObject({ multiAZ: null, engine: null });
    const plan = planFor(fix, instanceRef('trimmed'), state, LATER);
    expect(plan.refusal).toBeNull();
    expect(plan.warnings.join(' ')).toContain('did not report MultiAZ for trimmed');
    expect(plan.warnings.join(' ')).toContain('did not report the engine');
    expect(plan.rollbackCalls[0]?.parameters.MultiAZ).toBe(false);
  });

  it('refuses SQL Server Express, which has no Multi-AZ', async () => {
    await createInstance(world.rds, 'express', { Engine: 'sqlserver-ex' });
    const state = await fix.read(fixContext(world, LATER), instanceRef('express'));
    expect(fix.refusal?.(state, LATER)).toMatch(/SQL Server Express Edition/);
  });

  it('retries throttling through the SDK and fails at once on a permanent error', async () => {
    await createInstance(world.rds, 'orders');
    const ctx = fixContext(world, LATER);
    const resource = instanceRef('orders');
    const state = await fix.read(ctx, resource);
    world.sandbox.injectFault({
      service: 'rds',
      operation: 'ModifyDBInstance',
      kind: 'throttle',
      count: 2,
    });
    const seq = lastSeq(world.sandbox);
    await fix.apply(ctx, resource, state);
    expect(appliedSince(world.sandbox, seq).map((c) => c.operation)).toEqual(['ModifyDBInstance']);

    await createInstance(world.rds, 'parked');
    const parked = await fix.read(ctx, instanceRef('parked'));
    await world.rds.send(new StopDBInstanceCommand({ DBInstanceIdentifier: 'parked' }));
    const refused = await failure(fix.apply(ctx, instanceRef('parked'), parked));
    expect(refused).toMatchObject({
      name: 'InvalidDBInstanceStateFault',
      Code: 'InvalidDBInstanceState',
    });
    expect(refused.$metadata.attempts).toBe(1);
  });

  it('fails on a missing instance with RDS code', async () => {
    const missing = await failure(fix.read(fixContext(world, LATER), instanceRef('ghost')));
    expect(missing).toMatchObject({ Code: 'DBInstanceNotFound' });
  });
});
