import type { XmlValue } from '../query/xml.ts';
import { list } from '../query/xml.ts';
import {
  kmsKey,
  type RdsCall,
  record,
  requiredIdentifier,
  retentionDays,
  transition,
} from './context.ts';
import { clusterExists, clusterNotFound, invalidCombination, invalidValue } from './errors.ts';
import {
  AURORA_ENGINES,
  arn,
  type AwsRecord,
  engineDefaults,
  identifierOf,
  recordXml,
  resourceId,
} from './model.ts';
import { type ParamType, page, paging, typedParams } from './params.ts';

const CREATE: Record<string, ParamType> = {
  DBClusterIdentifier: 'string',
  Engine: 'string',
  EngineVersion: 'string',
  MasterUsername: 'string',
  DatabaseName: 'string',
  BackupRetentionPeriod: 'int',
  StorageEncrypted: 'bool',
  KmsKeyId: 'string',
  AvailabilityZones: 'strings',
  Port: 'int',
  VpcSecurityGroupIds: 'strings',
  DBSubnetGroupName: 'string',
  DeletionProtection: 'bool',
  Tags: 'tags',
};

/** An Aurora cluster; instances join it with CreateDBInstance and DBClusterIdentifier. */
export function createDBCluster(call: RdsCall): XmlValue {
  const id = requiredIdentifier(call, 'DBClusterIdentifier');
  const engine = call.read.required('Engine');
  const p = typedParams(call.read, call.raw, CREATE);
  if (!(AURORA_ENGINES as readonly string[]).includes(engine)) {
    throw invalidValue(
      `The sandbox emulates Aurora clusters only (${AURORA_ENGINES.join(', ')}), not ${engine}.`,
    );
  }
  if (call.rds.clusters.has(id)) throw clusterExists();
  const retention = retentionDays(p.BackupRetentionPeriod as number | undefined, 1) ?? 1;
  if (p.KmsKeyId !== undefined && p.StorageEncrypted !== true) {
    throw invalidCombination('Encryption must be enabled (StorageEncrypted) to use a KmsKeyId.');
  }
  const encrypted = p.StorageEncrypted === true;
  const defaults = engineDefaults(engine);
  const port = (p.Port as number | undefined) ?? defaults.port;
  const host = `${id}.cluster-c0sandbox0rds.${call.region}.rds.amazonaws.com`;
  const cluster: AwsRecord = {
    AllocatedStorage: 1,
    AvailabilityZones:
      (p.AvailabilityZones as string[] | undefined) ?? ['a', 'b', 'c'].map((z) => call.region + z),
    BackupRetentionPeriod: retention,
    ...(p.DatabaseName !== undefined ? { DatabaseName: p.DatabaseName } : {}),
    DBClusterIdentifier: id,
    DBClusterParameterGroup: `default.${engine}`,
    DBSubnetGroup: (p.DBSubnetGroupName as string | undefined) ?? 'default',
    Status: 'creating',
    Endpoint: host,
    ReaderEndpoint: host.replace('.cluster-', '.cluster-ro-'),
    MultiAZ: false,
    Engine: engine,
    EngineVersion: p.EngineVersion ?? defaults.version,
    Port: port,
    MasterUsername: p.MasterUsername ?? 'admin',
    PreferredBackupWindow: '03:00-03:30',
    PreferredMaintenanceWindow: 'sun:05:00-sun:05:30',
    DBClusterMembers: [],
    VpcSecurityGroups: (
      (p.VpcSecurityGroupIds as string[] | undefined) ?? ['sg-0a1b2c3d4e5f60718']
    ).map((sg) => ({ VpcSecurityGroupId: sg, Status: 'active' })),
    HostedZoneId: 'Z2R2ITUGPM61AM',
    StorageEncrypted: encrypted,
    ...(encrypted
      ? { KmsKeyId: kmsKey(call, (p.KmsKeyId as string | undefined) ?? 'alias/aws/rds') }
      : {}),
    DbClusterResourceId: resourceId('cluster'),
    DBClusterArn: arn('cluster', call.region, call.account, id),
    ClusterCreateTime: call.now.toISOString(),
    DeletionProtection: p.DeletionProtection ?? false,
    EngineMode: 'provisioned',
    TagList: p.Tags ?? [],
  };
  call.rds.clusters.set(id, cluster);
  transition(call, 'cluster', id, 'available');
  record(call, 'CreateDBCluster', id, p);
  return { DBCluster: clusterXml(call, cluster) };
}

export function describeDBClusters(call: RdsCall): XmlValue {
  const { max, marker } = paging(call.read);
  let found = [...call.rds.clusters.entries()];
  const named = call.read.str('DBClusterIdentifier');
  if (named !== undefined) {
    const id = identifierOf(named, 'cluster');
    if (!call.rds.clusters.has(id)) throw clusterNotFound(id);
    found = found.filter(([key]) => key === id);
  }
  const result = page(found, max, marker);
  return {
    DBClusters: list(
      'DBCluster',
      result.items.map((c) => clusterXml(call, c)),
    ),
    Marker: result.marker,
  };
}

/**
 * An Aurora cluster is Multi-AZ when its instances sit in more than one Availability
 * Zone, so MultiAZ is worked out from the members whenever any is known.
 */
function clusterXml(call: RdsCall, cluster: AwsRecord): XmlValue {
  const id = cluster.DBClusterIdentifier;
  const zones = new Set<string>();
  const members: string[] = [];
  for (const instance of call.rds.instances.values()) {
    if (instance.DBClusterIdentifier !== id) continue;
    members.push(String(instance.DBInstanceIdentifier));
    if (typeof instance.AvailabilityZone === 'string') zones.add(instance.AvailabilityZone);
  }
  const shown: AwsRecord =
    zones.size > 0 ? { ...cluster, MultiAZ: zones.size > 1 } : { ...cluster };
  // Clusters loaded without their member list get one from the instances that name them.
  if (!Array.isArray(shown.DBClusterMembers)) {
    shown.DBClusterMembers = members.map((member, i) => ({
      DBInstanceIdentifier: member,
      IsClusterWriter: i === 0,
      DBClusterParameterGroupStatus: 'in-sync',
      PromotionTier: 1,
    }));
  }
  return recordXml(shown, 'cluster');
}
