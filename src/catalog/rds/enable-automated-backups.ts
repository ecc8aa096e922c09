import type { PlannedCall, ResourceRef, Reversibility } from '../../domain/action.ts';
import { invalidInput } from '../../domain/errors.ts';
import type { Fix, FixContext, FixInput, State } from '../fix.ts';
import { rdsCall, runRdsCall } from './calls.ts';
import { type ClusterFacts, type InstanceFacts, readFacts } from './instance.ts';
import { statusRefusal } from './refusals.ts';
import { fields, parseFacts } from './state.ts';
import { waitFor } from './wait.ts';

const TYPE = 'rds.enable-automated-backups';

/** The instance's automated backup retention, in force and pending. */
export interface BackupState extends State, InstanceFacts {
  cluster: ClusterFacts | null;
  /** Days; 0 means automated backups are off. Null when RDS did not report it. */
  backupRetentionPeriod: number | null;
  /** PendingModifiedValues.BackupRetentionPeriod, waiting for the maintenance window. */
  pendingBackupRetentionPeriod: number | null;
}

export const enableAutomatedBackups: Fix = {
  type: TYPE,
  resourceType: 'AwsRdsDbInstance',
  service: 'rds',
  risk: 'medium',
  summary: 'Turns on automated backups of an RDS instance with the configured retention.',
  permissions: ['rds:DescribeDBInstances', 'rds:DescribeDBClusters', 'rds:ModifyDBInstance'],

  title: (resource) => `Enable automated backups on RDS instance ${resource.name}`,

  async read(ctx: FixContext, resource: ResourceRef): Promise<BackupState> {
    const { db, facts, cluster } = await readFacts(ctx, resource);
    return {
      ...facts,
      cluster,
      backupRetentionPeriod: db.BackupRetentionPeriod ?? null,
      pendingBackupRetentionPeriod: db.PendingModifiedValues?.BackupRetentionPeriod ?? null,
    };
  },

  isCompliant: (state, input) => compliant(parse(state), input),

  refusal(state, input) {
    const s = parse(state);
    if (compliant(s, input)) return null;
    if (s.clusterId !== null) return clusterRefusal(s, input);
    if (s.replicaSource !== null) {
      return (
        `DB instance ${s.instance} is a read replica of ${s.replicaSource}: its data is ` +
        `protected by the backups of ${s.replicaSource}, and Security Hub (RDS.11) and ` +
        "Prowler's default settings do not check replicas. Turn on backups on " +
        `${s.replicaSource} if it has none; nothing will be changed on the replica`
      );
    }
    const status = statusRefusal(s);
    if (status) return status;
    if (s.backupRetentionPeriod === null) {
      return (
        `DescribeDBInstances did not report BackupRetentionPeriod for ${s.instance}, so the ` +
        'value a rollback would restore is unknown; describe the instance again and re-plan'
      );
    }
    return null;
  },

  target(state, input) {
    const s = parse(state);
    const days = targetDays(input);
    if (input.options.rdsApplyImmediately || !pends(s.backupRetentionPeriod, days)) {
      return {
        ...s,
        status: 'available',
        backupRetentionPeriod: days,
        pendingBackupRetentionPeriod: null,
      };
    }
    return { ...s, pendingBackupRetentionPeriod: days };
  },

  calls: (resource, state, input) => [
    modify(parse(state, resource).instance, targetDays(input), input),
  ],

  rollbackCalls: (resource, snapshot, input) => {
    const s = parse(snapshot, resource);
    return [modify(s.instance, effective(s) ?? 0, input)];
  },

  reversibility(state): Reversibility {
    const s = parse(state);
    if (effective(s) === 0) {
      return {
        level: 'full',
        note:
          'the retention returns to 0; RDS then deletes every automated backup of the ' +
          'instance, including those taken since the fix',
      };
    }
    return { level: 'full' };
  },

  warnings: (state, input) => warnings(parse(state), input),

  async apply(ctx, resource, state) {
    await change(ctx, resource, parse(state, resource).instance, targetDays(ctx));
  },

  async restore(ctx, resource, snapshot) {
    const s = parse(snapshot, resource);
    await change(ctx, resource, s.instance, effective(s) ?? 0);
  },

  isRestored(live, snapshot, input) {
    const now = parse(live);
    const then = parse(snapshot);
    if (effective(now) !== effective(then)) return false;
    return (
      !input.options.rdsApplyImmediately || now.backupRetentionPeriod === then.backupRetentionPeriod
    );
  },

  isUnchangedSinceFix: (live, snapshot, input) =>
    effective(parse(live)) === targetDays(input) &&
    parse(live).instance === parse(snapshot).instance,
};

/**
 * The retention the fix sets: the configured days, raised to the minimum the finding's
 * check asks for (Security Hub's RDS.11 wants 7 by default).
 */
export function targetDays(input: FixInput): number {
  const minimum = input.params.minimumDays ?? 1;
  if (!Number.isInteger(minimum) || (minimum as number) < 1 || (minimum as number) > 35) {
    throw invalidInput(
      `${TYPE}: parameter minimumDays must be a whole number of days from 1 to 35, got ` +
        `${JSON.stringify(minimum)}; the mapping of the finding's check is wrong`,
    );
  }
  return Math.max(input.options.rdsBackupRetentionDays, minimum as number);
}

function minimumOf(input: FixInput): number {
  const minimum = input.params.minimumDays;
  return Number.isInteger(minimum) ? (minimum as number) : 1;
}

/** The retention the instance has or will have after the maintenance window. */
function effective(s: BackupState): number | null {
  return s.pendingBackupRetentionPeriod ?? s.backupRetentionPeriod;
}

/**
 * RDS holds back only a change that turns backups on or off; between two non-zero values
 * it applies the new retention at once, whatever ApplyImmediately says.
 */
function pends(current: number | null, days: number): boolean {
  return current === 0 || current === null || days === 0;
}

function compliant(s: BackupState, input: FixInput): boolean {
  const minimum = minimumOf(input);
  if (s.clusterId !== null) return (s.cluster?.backupRetentionPeriod ?? 0) >= minimum;
  const now = s.backupRetentionPeriod ?? 0;
  if (input.options.rdsApplyImmediately) {
    return now >= minimum && (s.pendingBackupRetentionPeriod ?? now) >= minimum;
  }
  return (effective(s) ?? 0) >= minimum;
}

function modify(id: string, days: number, input: FixInput): PlannedCall {
  return rdsCall('ModifyDBInstance', {
    DBInstanceIdentifier: id,
    BackupRetentionPeriod: days,
    ApplyImmediately: input.options.rdsApplyImmediately,
  });
}

async function change(ctx: FixContext, resource: ResourceRef, id: string, days: number) {
  await runRdsCall(ctx, resource.region, modify(id, days, ctx));
  if (ctx.options.rdsApplyImmediately)
    await waitFor(ctx, resource.region, 'instance available', id);
}

function clusterRefusal(s: BackupState, input: FixInput): string {
  const days = s.cluster?.backupRetentionPeriod ?? 'an unreported number of';
  const where = s.cluster
    ? `Aurora cluster ${s.cluster.cluster} keeps ${days} day(s)`
    : `Aurora cluster ${s.clusterId} could not be found`;
  return (
    `DB instance ${s.instance} is an Aurora cluster member: automated backups belong to the ` +
    `cluster, not the instance (${where}; at least ${minimumOf(input)} wanted). Change the ` +
    `cluster's retention with ModifyDBCluster BackupRetentionPeriod; this fix does not ` +
    'change clusters'
  );
}

function warnings(s: BackupState, input: FixInput): string[] {
  const out: string[] = [];
  const days = targetDays(input);
  const from = effective(s);
  const when = input.options.rdsApplyImmediately
    ? 'now (ApplyImmediately is on)'
    : `in the next maintenance window (${s.maintenanceWindow ?? 'not reported'}, UTC)`;
  if (from === 0 || from === null) {
    out.push(
      `Turning automated backups on (0 to ${days} days) causes an outage ${when}: RDS takes ` +
        'a first backup at once, with I/O suspended briefly on a single-AZ instance, and ' +
        'some engines restart.',
      'The rollback sets the retention back to 0. That turns automated backups off and ' +
        'deletes every automated backup of the instance, including those taken since the ' +
        'fix; point-in-time recovery is lost, and it is an outage again.',
    );
    if (!input.options.rdsApplyImmediately) {
      out.push(
        'Until the window, BackupRetentionPeriod stays 0 and PendingModifiedValues shows the ' +
          'new retention; the action counts as verified when that pending value is visible.',
      );
    }
  } else {
    out.push(
      `The retention goes from ${from} to ${days} days; RDS applies a change between two ` +
        'non-zero values at once, without an outage. The rollback sets it back the same way.',
    );
  }
  if (s.replicas.length > 0 || from === 0) {
    out.push(
      'RDS refuses to set the retention to 0 while the instance has read replicas, so a ' +
        'rollback fails if read replicas exist by then.',
    );
  }
  out.push('Automated backups are stored at a cost beyond the size of the database.');
  return out;
}

function parse(state: State, resource: ResourceRef | null = null): BackupState {
  const f = fields(TYPE, state);
  return {
    ...parseFacts(TYPE, state, resource),
    backupRetentionPeriod: f.numOrNull('backupRetentionPeriod'),
    pendingBackupRetentionPeriod: f.numOrNull('pendingBackupRetentionPeriod'),
  };
}
