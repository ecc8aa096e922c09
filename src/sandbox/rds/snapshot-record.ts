import type { RdsCall } from './context.ts';
import { arn, type AwsRecord } from './model.ts';
import type { Tag } from './params.ts';

/**
 * A manual snapshot of an instance, in `creating`, carrying what a restore needs: the
 * engine, storage, encryption and network of the instance as it was. Fields the
 * instance does not report are left out of the snapshot too.
 */
export function snapshotFromInstance(
  call: RdsCall,
  instance: AwsRecord,
  id: string,
  tags: Tag[],
): AwsRecord {
  const copied: AwsRecord = {};
  for (const [from, to] of FROM_INSTANCE) {
    if (instance[from] !== undefined) copied[to] = structuredClone(instance[from]);
  }
  const port = (instance.Endpoint as AwsRecord | undefined)?.Port;
  const vpc = (instance.DBSubnetGroup as AwsRecord | undefined)?.VpcId;
  const option = (instance.OptionGroupMemberships as AwsRecord[] | undefined)?.[0];
  const copyTags = instance.CopyTagsToSnapshot === true && Array.isArray(instance.TagList);
  return {
    DBSnapshotIdentifier: id,
    DBInstanceIdentifier: instance.DBInstanceIdentifier,
    SnapshotCreateTime: call.now.toISOString(),
    ...copied,
    Status: 'creating',
    ...(typeof port === 'number' ? { Port: port } : {}),
    ...(typeof vpc === 'string' ? { VpcId: vpc } : {}),
    ...(typeof option?.OptionGroupName === 'string'
      ? { OptionGroupName: option.OptionGroupName }
      : {}),
    SnapshotType: 'manual',
    PercentProgress: 100,
    Encrypted: instance.StorageEncrypted === true,
    DBSnapshotArn: arn('snapshot', call.region, call.account, id),
    TagList: [...(copyTags ? (instance.TagList as Tag[]) : []), ...tags],
  };
}

const FROM_INSTANCE: [string, string][] = [
  ['Engine', 'Engine'],
  ['AllocatedStorage', 'AllocatedStorage'],
  ['AvailabilityZone', 'AvailabilityZone'],
  ['InstanceCreateTime', 'InstanceCreateTime'],
  ['MasterUsername', 'MasterUsername'],
  ['EngineVersion', 'EngineVersion'],
  ['LicenseModel', 'LicenseModel'],
  ['Iops', 'Iops'],
  ['StorageType', 'StorageType'],
  ['KmsKeyId', 'KmsKeyId'],
  ['DbiResourceId', 'DbiResourceId'],
  ['BackupRetentionPeriod', 'BackupRetentionPeriod'],
  ['PreferredBackupWindow', 'PreferredBackupWindow'],
];
