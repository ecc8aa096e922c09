import type { AwsRecord } from './model.ts';

/** Fields ModifyDBInstance can leave pending until the maintenance window. */
export const PENDABLE = ['MultiAZ', 'BackupRetentionPeriod', 'DBInstanceClass', 'AllocatedStorage'];

export function pendingOf(instance: AwsRecord): AwsRecord {
  const pending = instance.PendingModifiedValues;
  return typeof pending === 'object' && pending !== null && !Array.isArray(pending)
    ? (pending as AwsRecord)
    : {};
}

/**
 * Adds changes to PendingModifiedValues. A value equal to the one in force cancels the
 * pending change of that field instead, which is how a waiting change is taken back.
 */
export function addPending(instance: AwsRecord, changes: AwsRecord): void {
  const pending = { ...pendingOf(instance) };
  for (const [field, value] of Object.entries(changes)) {
    if (instance[field] === value || (field === 'MultiAZ' && !value && !instance[field])) {
      delete pending[field];
    } else {
      pending[field] = value;
    }
  }
  instance.PendingModifiedValues = pending;
}

/** Puts every pending change in force, as the maintenance window does. */
export function applyPending(instance: AwsRecord): void {
  const pending = pendingOf(instance);
  for (const [field, value] of Object.entries(pending)) setField(instance, field, value);
  instance.PendingModifiedValues = {};
}

/** Sets one field and what RDS reports along with it. */
export function setField(instance: AwsRecord, field: string, value: unknown): void {
  instance[field] = value;
  if (field === 'MultiAZ') {
    const az = typeof instance.AvailabilityZone === 'string' ? instance.AvailabilityZone : '';
    if (value === true && az) instance.SecondaryAvailabilityZone = otherZone(az);
    else delete instance.SecondaryAvailabilityZone;
  }
  if (field === 'BackupRetentionPeriod') {
    if (value === 0) delete instance.LatestRestorableTime;
    else instance.LatestRestorableTime ??= new Date().toISOString();
  }
}

/** Another zone of the same region: `us-east-1a` gives `us-east-1b`. */
export function otherZone(zone: string): string {
  const last = zone.at(-1) ?? 'a';
  return zone.slice(0, -1) + (last === 'b' ? 'a' : 'b');
}
