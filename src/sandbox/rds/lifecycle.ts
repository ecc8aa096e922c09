import type { XmlValue } from '../query/xml.ts';
import {
  instanceOf,
  keyOrSourceKey,
  type RdsCall,
  record,
  requiredIdentifier,
  transition,
} from './context.ts';
import {
  instanceExists,
  invalidCombination,
  invalidInstanceState,
  snapshotExists,
} from './errors.ts';
import { endpoint } from './create-instance.ts';
import { type AwsRecord, arn, recordXml, resourceId, statusOf, stringList } from './model.ts';
import { type ParamType, typedParams } from './params.ts';
import { otherZone } from './pending.ts';
import { snapshotFromInstance } from './snapshot-record.ts';

/** Stops an available instance; replicas, their sources and Aurora members cannot be. */
export function stopDBInstance(call: RdsCall): XmlValue {
  const id = requiredIdentifier(call, 'DBInstanceIdentifier');
  const p = typedParams(call.read, call.raw, {
    DBInstanceIdentifier: 'string',
    DBSnapshotIdentifier: 'string',
  });
  const instance = instanceOf(call, id);
  if (typeof instance.DBClusterIdentifier === 'string') {
    throw invalidCombination(
      `DB instance ${id} is a member of an Aurora DB cluster; stop the cluster with StopDBCluster.`,
    );
  }
  const replica = typeof instance.ReadReplicaSourceDBInstanceIdentifier === 'string';
  if (replica || stringList(instance.ReadReplicaDBInstanceIdentifiers).length > 0) {
    throw invalidInstanceState(
      `Cannot stop DB instance ${id} because it is a read replica or has read replicas.`,
    );
  }
  const status = statusOf(instance);
  if (status !== 'available') {
    throw invalidInstanceState(`Instance ${id} cannot be stopped because it is ${status}.`);
  }
  const snapshotId = (p.DBSnapshotIdentifier as string | undefined)?.toLowerCase();
  if (snapshotId !== undefined) {
    if (call.rds.snapshots.has(snapshotId)) throw snapshotExists(snapshotId);
    call.rds.snapshots.set(snapshotId, snapshotFromInstance(call, instance, snapshotId, []));
    transition(call, 'snapshot', snapshotId, 'available');
  }
  instance.DBInstanceStatus = 'stopping';
  transition(call, 'instance', id, 'stopped');
  record(call, 'StopDBInstance', id, p);
  return { DBInstance: recordXml(instance, 'instance') };
}

export function startDBInstance(call: RdsCall): XmlValue {
  const id = requiredIdentifier(call, 'DBInstanceIdentifier');
  const instance = instanceOf(call, id);
  const status = statusOf(instance);
  if (status !== 'stopped') {
    throw invalidInstanceState(`Instance ${id} cannot be started because it is ${status}.`);
  }
  instance.DBInstanceStatus = 'starting';
  transition(call, 'instance', id, 'available');
  record(call, 'StartDBInstance', id, { DBInstanceIdentifier: id });
  return { DBInstance: recordXml(instance, 'instance') };
}

const REPLICA: Record<string, ParamType> = {
  DBInstanceIdentifier: 'string',
  SourceDBInstanceIdentifier: 'string',
  DBInstanceClass: 'string',
  AvailabilityZone: 'string',
  MultiAZ: 'bool',
  KmsKeyId: 'string',
  PubliclyAccessible: 'bool',
  Tags: 'tags',
  DeletionProtection: 'bool',
};

/** A read replica of an available instance whose automated backups are on. */
export function createDBInstanceReadReplica(call: RdsCall): XmlValue {
  const id = requiredIdentifier(call, 'DBInstanceIdentifier');
  const sourceId = requiredIdentifier(call, 'SourceDBInstanceIdentifier');
  const p = typedParams(call.read, call.raw, REPLICA);
  if (call.rds.instances.has(id)) throw instanceExists();
  const source = instanceOf(call, sourceId);
  if (typeof source.DBClusterIdentifier === 'string') {
    throw invalidCombination(
      `DB instance ${sourceId} is an Aurora member; add a reader to its cluster.`,
    );
  }
  if (statusOf(source) !== 'available') {
    throw invalidInstanceState(`DB instance ${sourceId} is not in available state.`);
  }
  if (!(Number(source.BackupRetentionPeriod) > 0)) {
    throw invalidInstanceState(
      'Automated backups are not enabled for this database instance. To enable automated ' +
        'backups, use ModifyDBInstance to set the backup retention period to a non-zero value.',
    );
  }
  const zone = (p.AvailabilityZone as string | undefined) ?? otherZone(`${call.region}a`);
  const encrypted = source.StorageEncrypted === true;
  const key = keyOrSourceKey(call, p.KmsKeyId, source);
  const replica: AwsRecord = {
    ...structuredClone(source),
    DBInstanceIdentifier: id,
    DBInstanceClass: p.DBInstanceClass ?? source.DBInstanceClass,
    DBInstanceStatus: 'creating',
    Endpoint: endpoint(call, id, Number((source.Endpoint as AwsRecord | undefined)?.Port ?? 3306)),
    InstanceCreateTime: call.now.toISOString(),
    AvailabilityZone: zone,
    MultiAZ: p.MultiAZ ?? false,
    BackupRetentionPeriod: 0,
    PendingModifiedValues: {},
    ReadReplicaSourceDBInstanceIdentifier: sourceId,
    ReadReplicaDBInstanceIdentifiers: [],
    PubliclyAccessible: p.PubliclyAccessible ?? source.PubliclyAccessible ?? false,
    StorageEncrypted: encrypted,
    DbiResourceId: resourceId('db'),
    DBInstanceArn: arn('db', call.region, call.account, id),
    DeletionProtection: p.DeletionProtection ?? false,
    TagList: p.Tags ?? [],
  };
  delete replica.LatestRestorableTime;
  delete replica.SecondaryAvailabilityZone;
  if (encrypted && key) replica.KmsKeyId = key;
  if (p.MultiAZ === true) replica.SecondaryAvailabilityZone = otherZone(zone);
  call.rds.instances.set(id, replica);
  source.ReadReplicaDBInstanceIdentifiers = [
    ...stringList(source.ReadReplicaDBInstanceIdentifiers),
    id,
  ];
  transition(call, 'instance', id, 'available');
  record(call, 'CreateDBInstanceReadReplica', id, p);
  return { DBInstance: recordXml(replica, 'instance') };
}
