import { DEMO_GROUPS, DEMO_VPC } from '../ec2/seed.ts';
import type { StateDocument } from '../types.ts';
import type { AwsRecord } from './model.ts';
import type { RdsRegionDocument } from './store.ts';

interface DemoInstance {
  id: string;
  engine: string;
  version: string;
  cls: string;
  zone: string;
  multiAZ: boolean;
  retention: number;
  encrypted: boolean;
  status?: string;
  cluster?: string;
  env: string;
  created: string;
}

/**
 * A production account's databases, each sound apart from one named gap, so each
 * finding maps to one fix or one refusal: a single-AZ production database, one without
 * automated backups, an unencrypted one, an Aurora member whose cluster sits in one
 * zone, a stopped staging database, and a compliant one around them.
 */
const INSTANCES: DemoInstance[] = [
  {
    id: 'orders-prod',
    engine: 'postgres',
    version: '16.6',
    cls: 'db.m6g.large',
    zone: 'a',
    multiAZ: false,
    retention: 7,
    encrypted: true,
    env: 'production',
    created: '2022-03-08T10:12:44Z',
  },
  {
    id: 'reporting-db',
    engine: 'mysql',
    version: '8.0.40',
    cls: 'db.r6g.large',
    zone: 'b',
    multiAZ: true,
    retention: 0,
    encrypted: true,
    env: 'production',
    created: '2021-11-19T15:40:02Z',
  },
  {
    id: 'legacy-crm',
    engine: 'mysql',
    version: '8.0.40',
    cls: 'db.m5.large',
    zone: 'a',
    multiAZ: true,
    retention: 7,
    encrypted: false,
    env: 'production',
    created: '2018-05-02T08:01:37Z',
  },
  {
    id: 'analytics-writer',
    engine: 'aurora-postgresql',
    version: '16.6',
    cls: 'db.r6g.xlarge',
    zone: 'a',
    multiAZ: false,
    retention: 7,
    encrypted: true,
    cluster: 'analytics-cluster',
    env: 'production',
    created: '2023-06-14T12:30:00Z',
  },
  {
    id: 'staging-db',
    engine: 'postgres',
    version: '16.6',
    cls: 'db.t4g.medium',
    zone: 'c',
    multiAZ: false,
    retention: 1,
    encrypted: true,
    status: 'stopped',
    env: 'staging',
    created: '2024-02-27T09:45:10Z',
  },
  {
    id: 'billing-prod',
    engine: 'postgres',
    version: '16.6',
    cls: 'db.m6g.xlarge',
    zone: 'b',
    multiAZ: true,
    retention: 14,
    encrypted: true,
    env: 'production',
    created: '2021-01-05T10:30:00Z',
  },
];

const KEY_ID = '0f3c9e27-5b1d-4a86-9c41-7e2d8b6a5f10';

/** Adds the demo databases to `regions[region].rds`. */
export function seedRds(doc: StateDocument, account: string, region: string): void {
  const key = `arn:aws:kms:${region}:${account}:key/${KEY_ID}`;
  const regions = (doc.accounts[account] ??= { regions: {} }).regions;
  const slot = (regions[region] ??= {});
  const rds: RdsRegionDocument = {
    DBInstances: INSTANCES.map((i) => instance(i, region, key)),
    DBClusters: [
      {
        DBClusterIdentifier: 'analytics-cluster',
        Status: 'available',
        Engine: 'aurora-postgresql',
        EngineVersion: '16.6',
        BackupRetentionPeriod: 7,
        MultiAZ: false,
        StorageEncrypted: true,
        KmsKeyId: key,
        AvailabilityZones: [`${region}a`, `${region}b`, `${region}c`],
        Port: 5432,
        MasterUsername: 'analytics',
        EngineMode: 'provisioned',
        DeletionProtection: true,
        ClusterCreateTime: '2023-06-14T12:20:00.000Z',
      },
    ],
  };
  slot.rds = rds;
}

function instance(i: DemoInstance, region: string, key: string): AwsRecord {
  const zone = `${region}${i.zone}`;
  const port = i.engine.includes('postgres') ? 5432 : 3306;
  return {
    DBInstanceIdentifier: i.id,
    DBInstanceClass: i.cls,
    Engine: i.engine,
    DBInstanceStatus: i.status ?? 'available',
    MasterUsername: 'dbadmin',
    Endpoint: {
      Address: `${i.id}.c9demo1rds2q.${region}.rds.amazonaws.com`,
      Port: port,
      HostedZoneId: 'Z2R2ITUGPM61AM',
    },
    AllocatedStorage: i.cluster ? 1 : 100,
    InstanceCreateTime: new Date(i.created).toISOString(),
    PreferredBackupWindow: '03:10-03:40',
    BackupRetentionPeriod: i.retention,
    VpcSecurityGroups: [{ VpcSecurityGroupId: DEMO_GROUPS.ordersDb, Status: 'active' }],
    AvailabilityZone: zone,
    ...(i.multiAZ ? { SecondaryAvailabilityZone: `${region}${i.zone === 'a' ? 'b' : 'a'}` } : {}),
    DBSubnetGroup: {
      DBSubnetGroupName: 'db-private',
      DBSubnetGroupDescription: 'private database subnets',
      VpcId: DEMO_VPC,
      SubnetGroupStatus: 'Complete',
    },
    PreferredMaintenanceWindow: 'sun:05:00-sun:05:30',
    PendingModifiedValues: {},
    MultiAZ: i.multiAZ,
    EngineVersion: i.version,
    AutoMinorVersionUpgrade: true,
    ReadReplicaDBInstanceIdentifiers: [],
    PubliclyAccessible: false,
    StorageType: i.cluster ? 'aurora' : 'gp3',
    ...(i.cluster ? { DBClusterIdentifier: i.cluster } : {}),
    StorageEncrypted: i.encrypted,
    ...(i.encrypted ? { KmsKeyId: key } : {}),
    CopyTagsToSnapshot: true,
    DeletionProtection: false,
    TagList: [{ Key: 'environment', Value: i.env }],
  };
}
