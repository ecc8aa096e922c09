import type { PlannedCall, ResourceRef, Reversibility } from '../../domain/action.ts';
import type { Fix, FixContext, FixInput, State } from '../fix.ts';
import { rdsCall, runRdsCall } from './calls.ts';
import { type ClusterFacts, type InstanceFacts, readFacts } from './instance.ts';
import { statusRefusal } from './refusals.ts';
import { fields, parseFacts } from './state.ts';
import { waitFor } from './wait.ts';

const TYPE = 'rds.enable-multi-az';

/** The instance's Multi-AZ setting, in force and pending, with what decides who owns it. */
export interface MultiAzState extends State, InstanceFacts {
  cluster: ClusterFacts | null;
  /** Null when DescribeDBInstances did not report it. */
  multiAZ: boolean | null;
  /** PendingModifiedValues.MultiAZ: a change waiting for the maintenance window. */
  pendingMultiAZ: boolean | null;
}

export const enableMultiAz: Fix = {
  type: TYPE,
  resourceType: 'AwsRdsDbInstance',
  service: 'rds',
  risk: 'medium',
  summary: 'Turns a single-AZ RDS instance into a Multi-AZ deployment with a standby.',
  permissions: ['rds:DescribeDBInstances', 'rds:DescribeDBClusters', 'rds:ModifyDBInstance'],

  title: (resource) => `Enable Multi-AZ on RDS instance ${resource.name}`,

  async read(ctx: FixContext, resource: ResourceRef): Promise<MultiAzState> {
    const { db, facts, cluster } = await readFacts(ctx, resource);
    return {
      ...facts,
      cluster,
      multiAZ: db.MultiAZ ?? null,
      pendingMultiAZ: db.PendingModifiedValues?.MultiAZ ?? null,
    };
  },

  isCompliant: (state, input) => compliant(parse(state), input),

  refusal(state, input) {
    const s = parse(state);
    if (compliant(s, input)) return null;
    if (s.clusterId !== null) return clusterRefusal(s);
    const status = statusRefusal(s);
    if (status) return status;
    if (s.engine === 'sqlserver-ex') {
      return (
        `DB instance ${s.instance} runs SQL Server Express Edition, which has no Multi-AZ ` +
        'deployment; move it to Standard or Enterprise Edition first'
      );
    }
    return null;
  },

  target(state, input) {
    const s = parse(state);
    if (input.options.rdsApplyImmediately) {
      return { ...s, status: 'available', multiAZ: true, pendingMultiAZ: null };
    }
    // Asking for the value already in force takes back a pending change instead.
    return { ...s, pendingMultiAZ: s.multiAZ === true ? null : true };
  },

  calls: (resource, state, input) => [modify(parse(state, resource).instance, true, input)],

  rollbackCalls: (resource, snapshot, input) => [
    modify(parse(snapshot, resource).instance, effective(parse(snapshot)), input),
  ],

  reversibility: (): Reversibility => ({ level: 'full' }),

  warnings: (state, input) => warnings(parse(state), input),

  async apply(ctx, resource, state) {
    await change(ctx, resource, parse(state, resource).instance, true);
  },

  async restore(ctx, resource, snapshot) {
    const s = parse(snapshot, resource);
    await change(ctx, resource, s.instance, effective(s));
  },

  isRestored(live, snapshot, input) {
    const now = parse(live);
    const then = parse(snapshot);
    if (effective(now) !== effective(then)) return false;
    return !input.options.rdsApplyImmediately || (now.multiAZ ?? false) === (then.multiAZ ?? false);
  },

  isUnchangedSinceFix: (live, snapshot) =>
    effective(parse(live)) && parse(live).instance === parse(snapshot).instance,
};

/** The setting the instance has or will have after the maintenance window. */
function effective(s: MultiAzState): boolean {
  return s.pendingMultiAZ ?? s.multiAZ ?? false;
}

function compliant(s: MultiAzState, input: FixInput): boolean {
  if (s.clusterId !== null) return s.cluster?.multiAZ === true;
  if (input.options.rdsApplyImmediately) return s.multiAZ === true && s.pendingMultiAZ !== false;
  return effective(s);
}

function modify(id: string, multiAZ: boolean, input: FixInput): PlannedCall {
  return rdsCall('ModifyDBInstance', {
    DBInstanceIdentifier: id,
    MultiAZ: multiAZ,
    ApplyImmediately: input.options.rdsApplyImmediately,
  });
}

async function change(ctx: FixContext, resource: ResourceRef, id: string, multiAZ: boolean) {
  await runRdsCall(ctx, resource.region, modify(id, multiAZ, ctx));
  // Applied now, the conversion runs as `modifying`; verification reads it once done.
  if (ctx.options.rdsApplyImmediately)
    await waitFor(ctx, resource.region, 'instance available', id);
}

function clusterRefusal(s: MultiAzState): string {
  const cluster = s.cluster;
  if (!cluster) {
    return (
      `DB instance ${s.instance} is a member of Aurora cluster ${s.clusterId}, which ` +
      'DescribeDBClusters did not find. Multi-AZ for Aurora belongs to the cluster, not the ' +
      'instance; nothing will be changed'
    );
  }
  const members = cluster.members.length > 0 ? ` (${cluster.members.join(', ')})` : '';
  return (
    `DB instance ${s.instance} is a member of Aurora cluster ${cluster.cluster}: Multi-AZ ` +
    'belongs to the cluster, which is Multi-AZ when it has instances in more than one ' +
    `Availability Zone. ${cluster.cluster} has ${cluster.members.length} instance(s)` +
    `${members} and is not Multi-AZ. Add a reader instance in another Availability Zone ` +
    `(CreateDBInstance with DBClusterIdentifier ${cluster.cluster}); this fix does not ` +
    'change clusters'
  );
}

function warnings(s: MultiAzState, input: FixInput): string[] {
  const out: string[] = [];
  if (input.options.rdsApplyImmediately) {
    out.push(
      'ApplyImmediately is on: RDS starts the conversion now. It snapshots the primary and ' +
        'builds a standby in another Availability Zone; the instance stays available, but ' +
        'write latency can rise while the standby catches up (longer for large databases).',
    );
  } else {
    out.push(
      'ApplyImmediately is off: RDS makes the change in the next maintenance window ' +
        `(${s.maintenanceWindow ?? 'not reported'}, UTC). Until then MultiAZ stays false and ` +
        'PendingModifiedValues shows MultiAZ true; the action counts as verified when that ' +
        'pending value is visible, not when the standby runs.',
      'A rollback before the window takes the pending change back, so the instance never ' +
        'changes; after the window it schedules the return to single-AZ for the next one.',
    );
  }
  out.push(
    'A Multi-AZ deployment runs a standby instance: the compute and storage cost of the ' +
      'instance roughly doubles.',
  );
  if (s.replicaSource !== null) {
    out.push(
      `${s.instance} is a read replica of ${s.replicaSource}: Multi-AZ here protects the ` +
        `replica's availability only; ${s.replicaSource} keeps its own setting.`,
    );
  }
  if (s.multiAZ === null) {
    out.push(
      `DescribeDBInstances did not report MultiAZ for ${s.instance}; it is treated as ` +
        "single-AZ, RDS's default.",
    );
  }
  if (s.engine === null) {
    out.push(
      `DescribeDBInstances did not report the engine of ${s.instance}; whether it supports ` +
        'Multi-AZ is decided by RDS when the call is made.',
    );
  }
  return out;
}

function parse(state: State, resource: ResourceRef | null = null): MultiAzState {
  const f = fields(TYPE, state);
  return {
    ...parseFacts(TYPE, state, resource),
    multiAZ: f.boolOrNull('multiAZ'),
    pendingMultiAZ: f.boolOrNull('pendingMultiAZ'),
  };
}
