import type { XmlValue } from '../query/xml.ts';
import { list } from '../query/xml.ts';
import { type RdsCall, instanceOf, record, requiredIdentifier, transition } from './context.ts';
import {
  invalidCombination,
  invalidInstanceState,
  invalidValue,
  snapshotExists,
} from './errors.ts';
import { type AwsRecord, identifierOf, recordXml, statusOf, stringList } from './model.ts';
import { type ParamType, page, paging, typedParams } from './params.ts';
import { snapshotFromInstance } from './snapshot-record.ts';
const FILTERS: Record<string, (instance: AwsRecord) => string[]> = {
  'db-instance-id': (i) => [String(i.DBInstanceIdentifier), String(i.DBInstanceArn)],
  'db-cluster-id': (i) =>
    typeof i.DBClusterIdentifier === 'string' ? [i.DBClusterIdentifier] : [],
  engine: (i) => (typeof i.Engine === 'string' ? [i.Engine] : []),
  'dbi-resource-id': (i) => (typeof i.DbiResourceId === 'string' ? [i.DbiResourceId] : []),
};

export function describeDBInstances(call: RdsCall): XmlValue {
  const { max, marker } = paging(call.read);
  const named = call.read.str('DBInstanceIdentifier');
  let found = [...call.rds.instances.entries()];
  if (named !== undefined) {
    const id = identifierOf(named, 'db');
    instanceOf(call, id);
    found = found.filter(([key]) => key === id);
  }
  const params = typedParams(call.read, call.raw, { Filters: 'filters' });
  for (const filter of (params.Filters ?? []) as { Name: string; Values: string[] }[]) {
    const values = FILTERS[filter.Name];
    if (!values) throw invalidValue(`Unrecognized filter name: ${filter.Name}.`);
    found = found.filter(([, i]) => values(i).some((v) => filter.Values.includes(v)));
  }
  const result = page(found, max, marker);
  return {
    DBInstances: list(
      'DBInstance',
      result.items.map((i) => recordXml(i, 'instance')),
    ),
    Marker: result.marker,
  };
}

const DELETE: Record<string, ParamType> = {
  DBInstanceIdentifier: 'string',
  SkipFinalSnapshot: 'bool',
  FinalDBSnapshotIdentifier: 'string',
  DeleteAutomatedBackups: 'bool',
};

/** Deletes an instance: `deleting`, then gone; its replicas become standalone. */
export function deleteDBInstance(call: RdsCall): XmlValue {
  const id = requiredIdentifier(call, 'DBInstanceIdentifier');
  const p = typedParams(call.read, call.raw, DELETE);
  const instance = instanceOf(call, id);
  const clusterMember = typeof instance.DBClusterIdentifier === 'string';
  const finalId = p.FinalDBSnapshotIdentifier as string | undefined;
  if (instance.DeletionProtection === true) {
    throw invalidCombination(
      'Cannot delete protected DB Instance, please disable deletion protection and try again.',
    );
  }
  if (!clusterMember && p.SkipFinalSnapshot !== true && finalId === undefined) {
    throw invalidCombination(
      'FinalDBSnapshotIdentifier is required unless SkipFinalSnapshot is specified.',
    );
  }
  if (p.SkipFinalSnapshot === true && finalId !== undefined) {
    throw invalidCombination(
      'FinalDBSnapshotIdentifier cannot be specified when SkipFinalSnapshot is true.',
    );
  }
  const status = statusOf(instance);
  if (status === 'deleting') {
    throw invalidInstanceState(`Instance ${id} is already being deleted.`);
  }
  if (finalId !== undefined) {
    const snapshotId = finalId.toLowerCase();
    if (call.rds.snapshots.has(snapshotId)) throw snapshotExists(snapshotId);
    call.rds.snapshots.set(snapshotId, snapshotFromInstance(call, instance, snapshotId, []));
    transition(call, 'snapshot', snapshotId, 'available');
  }

  detach(call, instance, id);
  instance.DBInstanceStatus = 'deleting';
  transition(call, 'instance', id, 'deleting', { remove: true });
  record(call, 'DeleteDBInstance', id, p);
  return { DBInstance: recordXml(instance, 'instance') };
}

/** Unlinks an instance from its source, its replicas and its cluster. */
function detach(call: RdsCall, instance: AwsRecord, id: string): void {
  const source = instance.ReadReplicaSourceDBInstanceIdentifier;
  if (typeof source === 'string') {
    const parent = call.rds.instances.get(source);
    if (parent) {
      parent.ReadReplicaDBInstanceIdentifiers = stringList(
        parent.ReadReplicaDBInstanceIdentifiers,
      ).filter((r) => r !== id);
    }
  }
  for (const replicaId of stringList(instance.ReadReplicaDBInstanceIdentifiers)) {
    const replica = call.rds.instances.get(replicaId);
    if (replica) delete replica.ReadReplicaSourceDBInstanceIdentifier;
  }
  instance.ReadReplicaDBInstanceIdentifiers = [];
  const clusterId = instance.DBClusterIdentifier;
  const cluster = typeof clusterId === 'string' ? call.rds.clusters.get(clusterId) : undefined;
  if (cluster && Array.isArray(cluster.DBClusterMembers)) {
    cluster.DBClusterMembers = cluster.DBClusterMembers.filter(
      (m: AwsRecord) => m.DBInstanceIdentifier !== id,
    );
  }
}
