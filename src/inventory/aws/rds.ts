import { type DBInstance, DescribeDBInstancesCommand } from '@aws-sdk/client-rds';
import type { CloudClients } from '../../cloud/clients.ts';
import type { DiscoveredResource, RdsDbInstanceConfig } from '../types.ts';
import { type Reading, tagMap } from './reading.ts';

async function describe(
  clients: CloudClients,
  region: string,
  identifier?: string,
): Promise<DBInstance[]> {
  const rds = clients.rds(region);
  const instances: DBInstance[] = [];
  let marker: string | undefined;
  do {
    const page = await rds.send(
      identifier
        ? new DescribeDBInstancesCommand({ DBInstanceIdentifier: identifier })
        : new DescribeDBInstancesCommand({ MaxRecords: 100, Marker: marker }),
    );
    instances.push(...(page.DBInstances ?? []));
    marker = page.Marker || undefined;
  } while (marker);
  return instances.filter((d) => d.DBInstanceIdentifier);
}

function instanceResource(reading: Reading, d: DBInstance): DiscoveredResource {
  const { account, region } = reading.unit;
  const name = d.DBInstanceIdentifier as string;
  const arn = d.DBInstanceArn ?? `arn:aws:rds:${region}:${account}:db:${name}`;
  const config: RdsDbInstanceConfig = {
    dbInstanceIdentifier: name,
    dbInstanceArn: arn,
    dbInstanceClass: d.DBInstanceClass ?? '',
    engine: d.Engine ?? '',
    engineVersion: d.EngineVersion ?? null,
    status: d.DBInstanceStatus ?? '',
    multiAZ: d.MultiAZ ?? false,
    backupRetentionPeriod: d.BackupRetentionPeriod ?? 0,
    storageEncrypted: d.StorageEncrypted ?? false,
    kmsKeyId: d.KmsKeyId ?? null,
    publiclyAccessible: d.PubliclyAccessible ?? false,
    deletionProtection: d.DeletionProtection ?? false,
    autoMinorVersionUpgrade: d.AutoMinorVersionUpgrade ?? false,
    dbClusterIdentifier: d.DBClusterIdentifier ?? null,
    vpcSecurityGroupIds: (d.VpcSecurityGroups ?? [])
      .map((g) => g.VpcSecurityGroupId ?? '')
      .filter(Boolean),
  };
  return {
    provider: 'aws',
    account,
    region,
    type: 'AwsRdsDbInstance',
    id: arn,
    name,
    tags: tagMap(d.TagList),
    config: { ...config },
  };
}

/** Every database instance of the unit's region (tags come with the listing). */
export async function discoverRds(
  clients: CloudClients,
  reading: Reading,
): Promise<(DiscoveredResource | null)[]> {
  const instances = await describe(clients, reading.unit.region);
  return instances.map((d) => instanceResource(reading, d));
}

/** One instance by identifier; RDS answers DBInstanceNotFound for one that does not exist. */
export async function discoverDbInstance(
  clients: CloudClients,
  reading: Reading,
  identifier: string,
): Promise<DiscoveredResource | null> {
  const [instance] = await describe(clients, reading.unit.region, identifier);
  return instance ? instanceResource(reading, instance) : null;
}
