import type { DBCluster, DBInstance, DBSnapshot } from '@aws-sdk/client-rds';
import type { ResourceRef } from '../../domain/action.ts';
import type { FixContext } from '../fix.ts';
import { hasAwsCode, RDS_ERROR } from './aws-errors.ts';
import { rdsSdk } from '../sdk.ts';

/**
 * What every RDS fix needs to know about an instance, as plain JSON. A field RDS did not
 * report stays null, so a plan can say so instead of guessing.
 */
export interface InstanceFacts {
  instance: string;
  status: string | null;
  engine: string | null;
  /** The Aurora cluster the instance belongs to. */
  clusterId: string | null;
  /** The instance this one is a read replica of. */
  replicaSource: string | null;
  replicas: string[];
  maintenanceWindow: string | null;
}

/** The cluster side of an Aurora member: Multi-AZ and backups are set there. */
export interface ClusterFacts {
  cluster: string;
  status: string | null;
  multiAZ: boolean | null;
  backupRetentionPeriod: number | null;
  storageEncrypted: boolean | null;
  members: string[];
}

/** The live instance; RDS's DBInstanceNotFound reaches the caller unchanged. */
export async function describeInstance(
  ctx: FixContext,
  region: string,
  id: string,
): Promise<DBInstance> {
  const out = await ctx.clients
    .rds(region)
    .send(new (await rdsSdk()).DescribeDBInstancesCommand({ DBInstanceIdentifier: id }));
  const found = out.DBInstances?.[0];
  if (!found) {
    // RDS answers a missing instance with an error; an empty answer is not RDS's.
    throw new Error(`DescribeDBInstances returned no instance for ${id}`);
  }
  return found;
}

/** The instance, or null when RDS says there is none. */
export async function findInstance(
  ctx: FixContext,
  region: string,
  id: string,
): Promise<DBInstance | null> {
  try {
    return await describeInstance(ctx, region, id);
  } catch (err) {
    if (hasAwsCode(err, RDS_ERROR.instanceNotFound)) return null;
    throw err;
  }
}

/** The manual snapshot, or null when RDS says there is none. */
export async function findSnapshot(
  ctx: FixContext,
  region: string,
  id: string,
): Promise<DBSnapshot | null> {
  try {
    const out = await ctx.clients
      .rds(region)
      .send(new (await rdsSdk()).DescribeDBSnapshotsCommand({ DBSnapshotIdentifier: id }));
    return out.DBSnapshots?.[0] ?? null;
  } catch (err) {
    if (hasAwsCode(err, RDS_ERROR.snapshotNotFound)) return null;
    throw err;
  }
}

export async function readFacts(
  ctx: FixContext,
  resource: ResourceRef,
): Promise<{ db: DBInstance; facts: InstanceFacts; cluster: ClusterFacts | null }> {
  const db = await describeInstance(ctx, resource.region, resource.name);
  const facts = factsOf(db);
  const cluster = facts.clusterId ? await readCluster(ctx, resource.region, facts.clusterId) : null;
  return { db, facts, cluster };
}

export function factsOf(db: DBInstance): InstanceFacts {
  return {
    instance: db.DBInstanceIdentifier ?? '',
    status: db.DBInstanceStatus ?? null,
    engine: db.Engine ?? null,
    clusterId: db.DBClusterIdentifier ?? null,
    replicaSource: db.ReadReplicaSourceDBInstanceIdentifier ?? null,
    replicas: [...(db.ReadReplicaDBInstanceIdentifiers ?? [])],
    maintenanceWindow: db.PreferredMaintenanceWindow ?? null,
  };
}

/** The member's cluster; null when RDS no longer knows it. */
async function readCluster(
  ctx: FixContext,
  region: string,
  id: string,
): Promise<ClusterFacts | null> {
  let cluster: DBCluster | undefined;
  try {
    const out = await ctx.clients
      .rds(region)
      .send(new (await rdsSdk()).DescribeDBClustersCommand({ DBClusterIdentifier: id }));
    cluster = out.DBClusters?.[0];
  } catch (err) {
    if (hasAwsCode(err, RDS_ERROR.clusterNotFound)) return null;
    throw err;
  }
  if (!cluster) return null;
  return {
    cluster: cluster.DBClusterIdentifier ?? id,
    status: cluster.Status ?? null,
    multiAZ: cluster.MultiAZ ?? null,
    backupRetentionPeriod: cluster.BackupRetentionPeriod ?? null,
    storageEncrypted: cluster.StorageEncrypted ?? null,
    members: (cluster.DBClusterMembers ?? [])
      .map((m) => m.DBInstanceIdentifier ?? '')
      .filter(Boolean),
  };
}
