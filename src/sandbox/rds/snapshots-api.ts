import type { XmlValue } from '../query/xml.ts';
import { list } from '../query/xml.ts';
import {
  instanceOf,
  keyOrSourceKey,
  type RdsCall,
  record,
  requiredIdentifier,
  snapshotOf,
  transition,
} from './context.ts';
import {
  instanceExists,
  invalidCombination,
  invalidInstanceState,
  invalidSnapshotState,
  invalidValue,
  snapshotExists,
} from './errors.ts';
import { endpoint } from './create-instance.ts';
import { arn, type AwsRecord, identifierOf, recordXml, resourceId, statusOf } from './model.ts';
import { type ParamType, page, paging, type Tag, typedParams } from './params.ts';
import { otherZone } from './pending.ts';
import { snapshotFromInstance } from './snapshot-record.ts';

/** A manual snapshot; the instance is `backing-up` while it is `creating`. */
export function createDBSnapshot(call: RdsCall): XmlValue {
  const snapshotId = requiredIdentifier(call, 'DBSnapshotIdentifier', 255);
  const id = requiredIdentifier(call, 'DBInstanceIdentifier');
  const p = typedParams(call.read, call.raw, {
    DBSnapshotIdentifier: 'string',
    DBInstanceIdentifier: 'string',
    Tags: 'tags',
  });
  const instance = instanceOf(call, id);
  if (typeof instance.DBClusterIdentifier === 'string') {
    throw invalidCombination(
      `DB instance ${id} is an Aurora member; snapshot its cluster with CreateDBClusterSnapshot.`,
    );
  }
  const status = statusOf(instance);
  if (status !== 'available' && status !== 'storage-optimization') {
    throw invalidInstanceState(
      `Cannot create a snapshot because the database instance ${id} is not currently in the ` +
        'available state.',
    );
  }
  if (call.rds.snapshots.has(snapshotId)) throw snapshotExists(snapshotId);

  const snapshot = snapshotFromInstance(call, instance, snapshotId, (p.Tags ?? []) as Tag[]);
  call.rds.snapshots.set(snapshotId, snapshot);
  transition(call, 'snapshot', snapshotId, 'available');
  instance.DBInstanceStatus = 'backing-up';
  transition(call, 'instance', id, status);
  record(call, 'CreateDBSnapshot', snapshotId, p);
  return { DBSnapshot: recordXml(snapshot, 'snapshot') };
}

const FILTERS: Record<string, (s: AwsRecord) => string[]> = {
  'db-snapshot-id': (s) => [String(s.DBSnapshotIdentifier), String(s.DBSnapshotArn)],
  'db-instance-id': (s) => [String(s.DBInstanceIdentifier)],
  'snapshot-type': (s) => [String(s.SnapshotType)],
  engine: (s) => (typeof s.Engine === 'string' ? [s.Engine] : []),
};

export function describeDBSnapshots(call: RdsCall): XmlValue {
  const { max, marker } = paging(call.read);
  let found = [...call.rds.snapshots.entries()];
  const named = call.read.str('DBSnapshotIdentifier');
  if (named !== undefined) {
    const id = identifierOf(named, 'snapshot');
    snapshotOf(call, id);
    found = found.filter(([key]) => key === id);
  }
  const instance = call.read.str('DBInstanceIdentifier');
  if (instance !== undefined) {
    const id = identifierOf(instance, 'db');
    found = found.filter(([, s]) => s.DBInstanceIdentifier === id);
  }
  const type = call.read.str('SnapshotType');
  if (type !== undefined) found = found.filter(([, s]) => s.SnapshotType === type);
  const params = typedParams(call.read, call.raw, { Filters: 'filters' });
  for (const filter of (params.Filters ?? []) as { Name: string; Values: string[] }[]) {
    const values = FILTERS[filter.Name];
    if (!values) throw invalidValue(`Unrecognized filter name: ${filter.Name}.`);
    found = found.filter(([, s]) => values(s).some((v) => filter.Values.includes(v)));
  }
  const result = page(found, max, marker);
  return {
    DBSnapshots: list(
      'DBSnapshot',
      result.items.map((s) => recordXml(s, 'snapshot')),
    ),
    Marker: result.marker,
  };
}

const COPY: Record<string, ParamType> = {
  SourceDBSnapshotIdentifier: 'string',
  TargetDBSnapshotIdentifier: 'string',
  KmsKeyId: 'string',
  CopyTags: 'bool',
  Tags: 'tags',
};

/** Copies an available snapshot; a KmsKeyId makes the copy encrypted with that key. */
export function copyDBSnapshot(call: RdsCall): XmlValue {
  const sourceId = identifierOf(call.read.required('SourceDBSnapshotIdentifier'), 'snapshot');
  const targetId = requiredIdentifier(call, 'TargetDBSnapshotIdentifier', 255);
  const p = typedParams(call.read, call.raw, COPY);
  const source = snapshotOf(call, sourceId);
  if (statusOf(source, 'Status') !== 'available') {
    throw invalidSnapshotState(`Snapshot ${sourceId} is not in available state.`);
  }
  if (call.rds.snapshots.has(targetId)) throw snapshotExists(targetId);
  const key = keyOrSourceKey(call, p.KmsKeyId, source);
  const copy: AwsRecord = {
    ...structuredClone(source),
    DBSnapshotIdentifier: targetId,
    SnapshotCreateTime: call.now.toISOString(),
    OriginalSnapshotCreateTime: source.OriginalSnapshotCreateTime ?? source.SnapshotCreateTime,
    Status: 'creating',
    SnapshotType: 'manual',
    SourceDBSnapshotIdentifier: source.DBSnapshotArn,
    SourceRegion: call.region,
    Encrypted: key !== undefined,
    DBSnapshotArn: arn('snapshot', call.region, call.account, targetId),
    TagList: [
      ...(p.CopyTags === true ? ((source.TagList ?? []) as Tag[]) : []),
      ...((p.Tags ?? []) as Tag[]),
    ],
  };
  if (key !== undefined) copy.KmsKeyId = key;
  else delete copy.KmsKeyId;
  call.rds.snapshots.set(targetId, copy);
  transition(call, 'snapshot', targetId, 'available');
  record(call, 'CopyDBSnapshot', targetId, p);
  return { DBSnapshot: recordXml(copy, 'snapshot') };
}

export function deleteDBSnapshot(call: RdsCall): XmlValue {
  const id = requiredIdentifier(call, 'DBSnapshotIdentifier', 255);
  const snapshot = snapshotOf(call, id);
  if (snapshot.SnapshotType === 'automated') {
    throw invalidSnapshotState(`Cannot delete automated snapshot ${id}; delete its DB instance.`);
  }
  if (statusOf(snapshot, 'Status') !== 'available') {
    throw invalidSnapshotState(`Cannot delete the snapshot ${id} because it is not available.`);
  }
  call.rds.snapshots.delete(id);
  call.rds.transitions = call.rds.transitions.filter(
    (t) => !(t.kind === 'snapshot' && t.id === id),
  );
  record(call, 'DeleteDBSnapshot', id, { DBSnapshotIdentifier: id });
  return { DBSnapshot: recordXml({ ...snapshot, Status: 'deleted' }, 'snapshot') };
}

const RESTORE: Record<string, ParamType> = {
  DBInstanceIdentifier: 'string',
  DBSnapshotIdentifier: 'string',
  DBInstanceClass: 'string',
  Port: 'int',
  AvailabilityZone: 'string',
  DBSubnetGroupName: 'string',
  MultiAZ: 'bool',
  PubliclyAccessible: 'bool',
  AutoMinorVersionUpgrade: 'bool',
  StorageType: 'string',
  Iops: 'int',
  OptionGroupName: 'string',
  Tags: 'tags',
  VpcSecurityGroupIds: 'strings',
  CopyTagsToSnapshot: 'bool',
  DBParameterGroupName: 'string',
  DeletionProtection: 'bool',
  BackupRetentionPeriod: 'int',
  PreferredBackupWindow: 'string',
};

/** A new instance from an available snapshot, encrypted exactly as the snapshot is. */
export function restoreDBInstanceFromDBSnapshot(call: RdsCall): XmlValue {
  const id = requiredIdentifier(call, 'DBInstanceIdentifier');
  const snapshotId = identifierOf(call.read.required('DBSnapshotIdentifier'), 'snapshot');
  const p = typedParams(call.read, call.raw, RESTORE);
  if (call.rds.instances.has(id)) throw instanceExists();
  const snapshot = snapshotOf(call, snapshotId);
  if (statusOf(snapshot, 'Status') !== 'available') {
    throw invalidSnapshotState(`Snapshot ${snapshotId} is not in available state.`);
  }
  if (p.MultiAZ === true && p.AvailabilityZone !== undefined) {
    throw invalidCombination(
      'Requesting a specific availability zone is not valid for Multi-AZ instances.',
    );
  }
  const instance = restoredInstance(call, id, snapshot, p);
  call.rds.instances.set(id, instance);
  transition(call, 'instance', id, 'available');
  record(call, 'RestoreDBInstanceFromDBSnapshot', id, p);
  return { DBInstance: recordXml(instance, 'instance') };
}

function restoredInstance(
  call: RdsCall,
  id: string,
  snapshot: AwsRecord,
  p: Record<string, unknown>,
): AwsRecord {
  const source = call.rds.instances.get(String(snapshot.DBInstanceIdentifier));
  const engine = snapshot.Engine;
  const zone = (p.AvailabilityZone as string | undefined) ?? `${call.region}a`;
  const port = (p.Port as number | undefined) ?? (snapshot.Port as number | undefined) ?? 3306;
  const copied: AwsRecord = {};
  for (const field of [
    'Engine',
    'EngineVersion',
    'AllocatedStorage',
    'MasterUsername',
    'LicenseModel',
  ]) {
    if (snapshot[field] !== undefined) copied[field] = snapshot[field];
  }
  const groups = (p.VpcSecurityGroupIds as string[] | undefined) ?? ['sg-0a1b2c3d4e5f60718'];
  return {
    DBInstanceIdentifier: id,
    DBInstanceClass: p.DBInstanceClass ?? source?.DBInstanceClass ?? 'db.t3.micro',
    ...copied,
    DBInstanceStatus: 'creating',
    Endpoint: endpoint(call, id, port),
    InstanceCreateTime: call.now.toISOString(),
    PreferredBackupWindow:
      p.PreferredBackupWindow ?? snapshot.PreferredBackupWindow ?? '03:00-03:30',
    BackupRetentionPeriod: p.BackupRetentionPeriod ?? snapshot.BackupRetentionPeriod ?? 1,
    DBSecurityGroups: [],
    VpcSecurityGroups: groups.map((sg) => ({ VpcSecurityGroupId: sg, Status: 'active' })),
    DBParameterGroups: [
      {
        DBParameterGroupName: p.DBParameterGroupName ?? `default.${String(engine)}`,
        ParameterApplyStatus: 'in-sync',
      },
    ],
    AvailabilityZone: zone,
    ...(p.MultiAZ === true ? { SecondaryAvailabilityZone: otherZone(zone) } : {}),
    DBSubnetGroup: {
      DBSubnetGroupName: p.DBSubnetGroupName ?? 'default',
      DBSubnetGroupDescription: 'default',
      VpcId: snapshot.VpcId ?? 'vpc-0a1b2c3d4e5f60718',
      SubnetGroupStatus: 'Complete',
      Subnets: [],
    },
    PreferredMaintenanceWindow: 'sun:05:00-sun:05:30',
    PendingModifiedValues: {},
    MultiAZ: p.MultiAZ ?? false,
    AutoMinorVersionUpgrade: p.AutoMinorVersionUpgrade ?? true,
    ReadReplicaDBInstanceIdentifiers: [],
    OptionGroupMemberships: [
      {
        OptionGroupName:
          p.OptionGroupName ?? snapshot.OptionGroupName ?? `default:${String(engine)}`,
        Status: 'in-sync',
      },
    ],
    PubliclyAccessible: p.PubliclyAccessible ?? false,
    StorageType: p.StorageType ?? snapshot.StorageType ?? 'gp3',
    ...(p.Iops !== undefined ? { Iops: p.Iops } : {}),
    DbInstancePort: 0,
    StorageEncrypted: snapshot.Encrypted === true,
    ...(typeof snapshot.KmsKeyId === 'string' ? { KmsKeyId: snapshot.KmsKeyId } : {}),
    DbiResourceId: resourceId('db'),
    CopyTagsToSnapshot: p.CopyTagsToSnapshot ?? false,
    DBInstanceArn: arn('db', call.region, call.account, id),
    DeletionProtection: p.DeletionProtection ?? false,
    TagList: p.Tags ?? [],
  };
}
