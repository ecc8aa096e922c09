import type { XmlValue } from '../query/xml.ts';
import {
  instanceOf,
  type RdsCall,
  record,
  requiredIdentifier,
  retentionDays,
  transition,
} from './context.ts';
import { invalidCombination, notAvailable } from './errors.ts';
import { checkMaintenanceWindow, windowContains } from './maintenance-window.ts';
import { type AwsRecord, recordXml, statusOf, stringList } from './model.ts';
import { type ParamType, refuseUnknown, typedParams } from './params.ts';
import { addPending, PENDABLE, pendingOf, setField } from './pending.ts';

const MODIFY: Record<string, ParamType> = {
  DBInstanceIdentifier: 'string',
  ApplyImmediately: 'bool',
  MultiAZ: 'bool',
  BackupRetentionPeriod: 'int',
  DBInstanceClass: 'string',
  AllocatedStorage: 'int',
  PreferredMaintenanceWindow: 'string',
  PreferredBackupWindow: 'string',
  DeletionProtection: 'bool',
  CopyTagsToSnapshot: 'bool',
  AutoMinorVersionUpgrade: 'bool',
  PubliclyAccessible: 'bool',
};

/** Settings RDS changes at once whatever ApplyImmediately says. */
const ALWAYS_NOW = [
  'PreferredMaintenanceWindow',
  'PreferredBackupWindow',
  'DeletionProtection',
  'CopyTagsToSnapshot',
  'AutoMinorVersionUpgrade',
  'PubliclyAccessible',
];

/**
 * ModifyDBInstance. Multi-AZ, class, storage and turning backups on or off wait in
 * PendingModifiedValues for the maintenance window unless ApplyImmediately is true (then
 * `modifying`, and in force when that ends). Moving the window onto the current time
 * runs it, as on AWS. Other settings, and a retention change between two non-zero
 * values, take effect at once.
 */
export function modifyDBInstance(call: RdsCall): XmlValue {
  refuseUnknown(call.raw, MODIFY, 'ModifyDBInstance');
  const id = requiredIdentifier(call, 'DBInstanceIdentifier');
  const p = typedParams(call.read, call.raw, MODIFY);
  const instance = instanceOf(call, id);
  if (statusOf(instance) !== 'available') throw notAvailable();
  check(instance, p);

  for (const field of ALWAYS_NOW) {
    if (p[field] !== undefined) setField(instance, field, p[field]);
  }
  const deferred: AwsRecord = {};
  for (const field of PENDABLE) {
    if (p[field] !== undefined) deferred[field] = p[field];
  }
  const retention = deferred.BackupRetentionPeriod;
  const current = instance.BackupRetentionPeriod;
  if (retention !== undefined && retention !== 0 && current !== 0 && current !== undefined) {
    setField(instance, 'BackupRetentionPeriod', retention);
    delete deferred.BackupRetentionPeriod;
  }
  addPending(instance, deferred);

  const waiting = Object.keys(pendingOf(instance)).length > 0;
  const window = p.PreferredMaintenanceWindow as string | undefined;
  const runNow =
    p.ApplyImmediately === true || (window !== undefined && windowContains(window, call.now));
  if (!waiting) {
    call.rds.pendingSince.delete(id);
  } else if (runNow) {
    instance.DBInstanceStatus = 'modifying';
    transition(call, 'instance', id, 'available', { applyPending: true });
  } else if (!call.rds.pendingSince.has(id)) {
    call.rds.pendingSince.set(id, call.now.toISOString());
  }
  record(call, 'ModifyDBInstance', id, p);
  return { DBInstance: recordXml(instance, 'instance') };
}

function check(instance: AwsRecord, p: Record<string, unknown>): void {
  if (typeof instance.DBClusterIdentifier === 'string') {
    if (p.MultiAZ !== undefined) {
      throw invalidCombination(
        'The requested DB Instance is a member of a DB Cluster. Multi-AZ for Aurora comes ' +
          'from the DB Cluster having instances in more than one Availability Zone.',
      );
    }
    if (p.BackupRetentionPeriod !== undefined) {
      throw invalidCombination(
        'The requested DB Instance will be a member of a DB Cluster. Set backup retention ' +
          'period for the DB Cluster.',
      );
    }
  }
  const retention = retentionDays(p.BackupRetentionPeriod as number | undefined);
  if (retention === 0 && stringList(instance.ReadReplicaDBInstanceIdentifiers).length > 0) {
    throw invalidCombination(
      'Cannot turn off automated backups (BackupRetentionPeriod 0) on a DB instance ' +
        'that has read replicas.',
    );
  }
  if (p.MultiAZ === true && instance.Engine === 'sqlserver-ex') {
    throw invalidCombination('SQL Server Express Edition does not support Multi-AZ.');
  }
  if (typeof p.PreferredMaintenanceWindow === 'string') {
    checkMaintenanceWindow(p.PreferredMaintenanceWindow);
  }
}
