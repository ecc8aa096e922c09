import type { XmlValue } from '../query/xml.ts';
import {
  type RdsCall,
  kmsKey,
  record,
  requiredIdentifier,
  retentionDays,
  transition,
} from './context.ts';
import { clusterNotFound, instanceExists, invalidCombination, invalidValue } from './errors.ts';
import { checkMaintenanceWindow } from './maintenance-window.ts';
import {
  AURORA_ENGINES,
  arn,
  type AwsRecord,
  ENGINES,
  engineDefaults,
  recordXml,
  resourceId,
} from './model.ts';
import { type ParamType, typedParams } from './params.ts';
import { otherZone } from './pending.ts';

const CREATE: Record<string, ParamType> = {
  DBInstanceIdentifier: 'string',
  DBInstanceClass: 'string',
  Engine: 'string',
  EngineVersion: 'string',
  DBName: 'string',
  AllocatedStorage: 'int',
  MasterUsername: 'string',
  MultiAZ: 'bool',
  AvailabilityZone: 'string',
  BackupRetentionPeriod: 'int',
  PreferredBackupWindow: 'string',
  PreferredMaintenanceWindow: 'string',
  StorageEncrypted: 'bool',
  KmsKeyId: 'string',
  DBClusterIdentifier: 'string',
  DBSubnetGroupName: 'string',
  VpcSecurityGroupIds: 'strings',
  PubliclyAccessible: 'bool',
  Port: 'int',
  StorageType: 'string',
  Iops: 'int',
  Tags: 'tags',
  DeletionProtection: 'bool',
  CopyTagsToSnapshot: 'bool',
  DBParameterGroupName: 'string',
  OptionGroupName: 'string',
  AutoMinorVersionUpgrade: 'bool',
  LicenseModel: 'string',
};

/** Creates an instance in `creating`; the master password is accepted and never kept. */
export function createDBInstance(call: RdsCall): XmlValue {
  const id = requiredIdentifier(call, 'DBInstanceIdentifier');
  const p = typedParams(call.read, call.raw, CREATE) as CreateParams;
  call.read.required('DBInstanceClass');
  const engine = call.read.required('Engine');
  if (call.rds.instances.has(id)) throw instanceExists();
  if (!(ENGINES as readonly string[]).includes(engine)) {
    throw invalidValue(`Invalid DB engine: ${engine}`);
  }
  const cluster = clusterFor(call, engine, p);
  if (p.MultiAZ && p.AvailabilityZone) {
    throw invalidCombination(
      'Requesting a specific availability zone is not valid for Multi-AZ instances.',
    );
  }
  retentionDays(p.BackupRetentionPeriod);
  if (p.KmsKeyId !== undefined && p.StorageEncrypted !== true && !cluster) {
    throw invalidCombination('Encryption must be enabled (StorageEncrypted) to use a KmsKeyId.');
  }
  if (p.PreferredMaintenanceWindow !== undefined) {
    checkMaintenanceWindow(p.PreferredMaintenanceWindow);
  }

  const instance = newInstance(call, id, engine, p, cluster);
  call.rds.instances.set(id, instance);
  if (cluster) addMember(cluster, id);
  transition(call, 'instance', id, 'available');
  record(call, 'CreateDBInstance', id, p);
  return { DBInstance: recordXml(instance, 'instance') };
}

type CreateParams = Partial<{
  DBInstanceClass: string;
  EngineVersion: string;
  DBName: string;
  AllocatedStorage: number;
  MasterUsername: string;
  MultiAZ: boolean;
  AvailabilityZone: string;
  BackupRetentionPeriod: number;
  PreferredBackupWindow: string;
  PreferredMaintenanceWindow: string;
  StorageEncrypted: boolean;
  KmsKeyId: string;
  DBClusterIdentifier: string;
  DBSubnetGroupName: string;
  VpcSecurityGroupIds: string[];
  PubliclyAccessible: boolean;
  Port: number;
  StorageType: string;
  Iops: number;
  Tags: { Key: string; Value: string }[];
  DeletionProtection: boolean;
  CopyTagsToSnapshot: boolean;
  DBParameterGroupName: string;
  OptionGroupName: string;
  AutoMinorVersionUpgrade: boolean;
  LicenseModel: string;
}>;

/** Aurora instances join a cluster and take its storage and backup settings. */
function clusterFor(call: RdsCall, engine: string, p: CreateParams): AwsRecord | null {
  const aurora = (AURORA_ENGINES as readonly string[]).includes(engine);
  if (!aurora) {
    if (p.DBClusterIdentifier !== undefined) {
      throw invalidCombination(
        `DBClusterIdentifier is only valid for Aurora engines, not ${engine}.`,
      );
    }
    return null;
  }
  if (p.DBClusterIdentifier === undefined) {
    throw invalidValue(`DBClusterIdentifier must be specified for the ${engine} engine.`);
  }
  const clusterId = p.DBClusterIdentifier.toLowerCase();
  const cluster = call.rds.clusters.get(clusterId);
  if (!cluster) throw clusterNotFound(clusterId);
  if (cluster.Engine !== engine) {
    throw invalidCombination(
      `The engine ${engine} does not match the engine ${String(cluster.Engine)} of DB ` +
        `cluster ${clusterId}.`,
    );
  }
  for (const field of [
    'MultiAZ',
    'BackupRetentionPeriod',
    'StorageEncrypted',
    'KmsKeyId',
  ] as const) {
    if (p[field] !== undefined) {
      throw invalidCombination(
        'The requested DB Instance will be a member of a DB Cluster. ' +
          `Set ${field} for the DB Cluster.`,
      );
    }
  }
  return cluster;
}

function newInstance(
  call: RdsCall,
  id: string,
  engine: string,
  p: CreateParams,
  cluster: AwsRecord | null,
): AwsRecord {
  const defaults = engineDefaults(engine);
  const zone = p.AvailabilityZone ?? `${call.region}a`;
  const encrypted = cluster ? cluster.StorageEncrypted === true : p.StorageEncrypted === true;
  const key = cluster
    ? cluster.KmsKeyId
    : encrypted
      ? kmsKey(call, p.KmsKeyId ?? 'alias/aws/rds')
      : undefined;
  const port = p.Port ?? defaults.port;
  return {
    DBInstanceIdentifier: id,
    DBInstanceClass: p.DBInstanceClass,
    Engine: engine,
    DBInstanceStatus: 'creating',
    MasterUsername: p.MasterUsername ?? 'admin',
    ...(p.DBName !== undefined ? { DBName: p.DBName } : {}),
    Endpoint: endpoint(call, id, port),
    AllocatedStorage: p.AllocatedStorage ?? (cluster ? 1 : 20),
    InstanceCreateTime: call.now.toISOString(),
    PreferredBackupWindow: p.PreferredBackupWindow ?? '03:00-03:30',
    BackupRetentionPeriod: cluster ? cluster.BackupRetentionPeriod : (p.BackupRetentionPeriod ?? 1),
    DBSecurityGroups: [],
    VpcSecurityGroups: (p.VpcSecurityGroupIds ?? ['sg-0a1b2c3d4e5f60718']).map((sg) => ({
      VpcSecurityGroupId: sg,
      Status: 'active',
    })),
    DBParameterGroups: [
      {
        DBParameterGroupName: p.DBParameterGroupName ?? `default.${engine}`,
        ParameterApplyStatus: 'in-sync',
      },
    ],
    AvailabilityZone: zone,
    ...(p.MultiAZ ? { SecondaryAvailabilityZone: otherZone(zone) } : {}),
    DBSubnetGroup: {
      DBSubnetGroupName: p.DBSubnetGroupName ?? 'default',
      DBSubnetGroupDescription: 'default',
      VpcId: 'vpc-0a1b2c3d4e5f60718',
      SubnetGroupStatus: 'Complete',
      Subnets: [],
    },
    PreferredMaintenanceWindow: p.PreferredMaintenanceWindow ?? 'sun:05:00-sun:05:30',
    PendingModifiedValues: {},
    MultiAZ: p.MultiAZ ?? false,
    EngineVersion: p.EngineVersion ?? defaults.version,
    AutoMinorVersionUpgrade: p.AutoMinorVersionUpgrade ?? true,
    ReadReplicaDBInstanceIdentifiers: [],
    LicenseModel: p.LicenseModel ?? defaults.license,
    ...(p.Iops !== undefined ? { Iops: p.Iops } : {}),
    OptionGroupMemberships: [
      { OptionGroupName: p.OptionGroupName ?? `default:${engine}`, Status: 'in-sync' },
    ],
    PubliclyAccessible: p.PubliclyAccessible ?? false,
    StorageType: p.StorageType ?? (cluster ? 'aurora' : 'gp3'),
    DbInstancePort: 0,
    ...(cluster ? { DBClusterIdentifier: cluster.DBClusterIdentifier } : {}),
    StorageEncrypted: encrypted,
    ...(typeof key === 'string' ? { KmsKeyId: key } : {}),
    DbiResourceId: resourceId('db'),
    CopyTagsToSnapshot: p.CopyTagsToSnapshot ?? false,
    DBInstanceArn: arn('db', call.region, call.account, id),
    DeletionProtection: p.DeletionProtection ?? false,
    TagList: p.Tags ?? [],
  };
}

export function endpoint(call: RdsCall, id: string, port: number) {
  return {
    Address: `${id}.c0sandbox0rds.${call.region}.rds.amazonaws.com`,
    Port: port,
    HostedZoneId: 'Z2R2ITUGPM61AM',
  };
}

function addMember(cluster: AwsRecord, id: string): void {
  const members = Array.isArray(cluster.DBClusterMembers) ? cluster.DBClusterMembers : [];
  cluster.DBClusterMembers = [
    ...members,
    {
      DBInstanceIdentifier: id,
      IsClusterWriter: members.length === 0,
      DBClusterParameterGroupStatus: 'in-sync',
      PromotionTier: 1,
    },
  ];
}
