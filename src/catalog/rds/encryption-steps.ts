import { isDeepStrictEqual } from 'node:util';
import type { PlannedCall, ResourceRef } from '../../domain/action.ts';
import { AppError } from '../../domain/errors.ts';
import type { FixContext, FixInput } from '../fix.ts';
import { hasAwsCode, RDS_ERROR } from './aws-errors.ts';
import { rdsCall, runRdsCall } from './calls.ts';
import {
  type EncryptionState,
  namesFor,
  readEncryption,
  type RestoreConfig,
} from './encryption-state.ts';
import { findInstance, findSnapshot } from './instance.ts';
import { waitFor } from './wait.ts';

/** Marks what the fix created, so a person can find it. */
const CREATED_BY = { Key: 'created-by', Value: 'infraudit' };

/** The three calls that make the encrypted instance, in order. */
export function encryptionCalls(s: EncryptionState, input: FixInput) {
  const names = namesFor(s.instance);
  return {
    sourceSnapshot: rdsCall('CreateDBSnapshot', {
      DBInstanceIdentifier: s.instance,
      DBSnapshotIdentifier: names.sourceSnapshot,
      Tags: [CREATED_BY],
    }),
    encryptedSnapshot: rdsCall('CopyDBSnapshot', {
      SourceDBSnapshotIdentifier: names.sourceSnapshot,
      TargetDBSnapshotIdentifier: names.encryptedSnapshot,
      KmsKeyId: input.options.rdsKmsKeyId,
      Tags: [CREATED_BY],
    }),
    encryptedInstance: rdsCall('RestoreDBInstanceFromDBSnapshot', {
      DBInstanceIdentifier: names.encryptedInstance,
      DBSnapshotIdentifier: names.encryptedSnapshot,
      ...restoreSettings(s.config),
      Tags: [...s.config.tags.filter((t) => t.Key !== CREATED_BY.Key), CREATED_BY],
    }),
  };
}

/**
 * The original's settings for the restore, leaving out what RDS did not report. A
 * single-AZ original is restored into its own zone; a Multi-AZ one where RDS chooses.
 */
function restoreSettings(c: RestoreConfig): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const put = (key: string, value: unknown) => {
    if (value !== null && value !== undefined) out[key] = value;
  };
  put('DBInstanceClass', c.instanceClass);
  put('MultiAZ', c.multiAZ);
  if (c.multiAZ !== true) put('AvailabilityZone', c.availabilityZone);
  put('DBSubnetGroupName', c.subnetGroup);
  if (c.securityGroups.length > 0) out.VpcSecurityGroupIds = [...c.securityGroups];
  put('PubliclyAccessible', c.publiclyAccessible);
  put('Port', c.port);
  put('StorageType', c.storageType);
  put('Iops', c.iops);
  put('DBParameterGroupName', c.parameterGroup);
  put('OptionGroupName', c.optionGroup);
  put('CopyTagsToSnapshot', c.copyTagsToSnapshot);
  put('BackupRetentionPeriod', c.backupRetentionPeriod);
  put('PreferredBackupWindow', c.backupWindow);
  return out;
}

/** The rollback: the new instance without a final snapshot, then both snapshots. */
export function removalCalls(instance: string): PlannedCall[] {
  const names = namesFor(instance);
  return [
    rdsCall('DeleteDBInstance', {
      DBInstanceIdentifier: names.encryptedInstance,
      SkipFinalSnapshot: true,
      DeleteAutomatedBackups: true,
    }),
    rdsCall('DeleteDBSnapshot', { DBSnapshotIdentifier: names.encryptedSnapshot }),
    rdsCall('DeleteDBSnapshot', { DBSnapshotIdentifier: names.sourceSnapshot }),
  ];
}

type Step = 'sourceSnapshot' | 'encryptedSnapshot' | 'encryptedInstance';

/**
 * Snapshot, encrypted copy, restore; each waited for before the next. The name of each
 * resource is recorded before the call that creates it, so a retry after a failure, a
 * lost answer or a crash adopts what exists instead of making a second one. A resource
 * with one of these names that this action did not record is never adopted.
 */
export async function applyEncryption(
  ctx: FixContext,
  resource: ResourceRef,
  s: EncryptionState,
): Promise<void> {
  const calls = encryptionCalls(s, ctx);
  const names = namesFor(s.instance);
  const region = resource.region;
  for (const step of STEPS) {
    const name = names[step];
    const instance = step === 'encryptedInstance';
    const find = () =>
      instance ? findInstance(ctx, region, name) : findSnapshot(ctx, region, name);
    await ensure(ctx, region, step, name, find, calls[step]);
    await waitFor(ctx, region, instance ? 'instance available' : 'snapshot available', name);
  }
  await checkOriginal(ctx, resource, s);
}

const STEPS = ['sourceSnapshot', 'encryptedSnapshot', 'encryptedInstance'] as const;

async function ensure(
  ctx: FixContext,
  region: string,
  step: Step,
  name: string,
  find: () => Promise<unknown>,
  call: PlannedCall,
): Promise<void> {
  const ours = ctx.progress[step] === name;
  if (await find()) {
    if (!ours) {
      throw new AppError(
        'conflict',
        `${name} already exists and this action did not create it, so it was not used: ` +
          'rename or delete it (or run the action on a fresh copy), then retry; the steps ' +
          'done so far are recorded and are not repeated',
        { step, name },
      );
    }
    ctx.log.info({ step, name }, 'adopting what an earlier attempt created');
    return;
  }
  if (!ours) await ctx.checkpoint({ ...ctx.progress, [step]: name });
  try {
    await runRdsCall(ctx, region, call);
  } catch (err) {
    // The SDK retried a create whose first answer was lost: it exists, and it is ours.
    const exists =
      step === 'encryptedInstance' ? RDS_ERROR.instanceExists : RDS_ERROR.snapshotExists;
    if (!hasAwsCode(err, exists)) throw err;
    ctx.log.warn({ step, name }, 'the create call was answered after it took effect; adopting');
  }
}

/** The original's settings that a cut-over relies on; its zone may move on failover. */
function comparable(s: EncryptionState) {
  const { availabilityZone: _zone, ...config } = s.config;
  return { storageEncrypted: s.storageEncrypted, kmsKeyId: s.kmsKeyId, config };
}

async function checkOriginal(ctx: FixContext, resource: ResourceRef, before: EncryptionState) {
  const now = await readEncryption(ctx, resource);
  if (isDeepStrictEqual(comparable(now), comparable(before))) return;
  throw new AppError(
    'conflict',
    `DB instance ${before.instance} changed while its encrypted copy was made ` +
      `(${JSON.stringify(comparable(before))} became ${JSON.stringify(comparable(now))}); ` +
      `${namesFor(before.instance).encryptedInstance} holds the data as it was at the ` +
      'snapshot. Review both before any cut-over; the created resources are recorded on ' +
      'the action',
  );
}

/** Deletes what the fix created, whatever of it exists, waiting for each to go. */
export async function removeEncryption(ctx: FixContext, resource: ResourceRef, instance: string) {
  const region = resource.region;
  const names = namesFor(instance);
  const [deleteInstance, deleteCopy, deleteSource] = removalCalls(instance) as [
    PlannedCall,
    PlannedCall,
    PlannedCall,
  ];
  const created = await findInstance(ctx, region, names.encryptedInstance);
  if (created && created.DBInstanceStatus !== 'deleting') {
    await ignoreMissing(() => runRdsCall(ctx, region, deleteInstance));
  }
  if (created) await waitFor(ctx, region, 'instance deleted', names.encryptedInstance);
  for (const [name, call] of [
    [names.encryptedSnapshot, deleteCopy],
    [names.sourceSnapshot, deleteSource],
  ] as const) {
    const snapshot = await findSnapshot(ctx, region, name);
    if (!snapshot) continue;
    if (snapshot.Status !== 'available') await waitFor(ctx, region, 'snapshot available', name);
    await ignoreMissing(() => runRdsCall(ctx, region, call));
    await waitFor(ctx, region, 'snapshot deleted', name);
  }
}

async function ignoreMissing(run: () => Promise<void>): Promise<void> {
  try {
    await run();
  } catch (err) {
    if (
      hasAwsCode(err, RDS_ERROR.instanceNotFound) ||
      hasAwsCode(err, RDS_ERROR.snapshotNotFound)
    ) {
      return;
    }
    throw err;
  }
}
