import type { Transaction } from 'kysely';
import type { Exclusion, FindingReport } from '../domain/finding.ts';
import { SEVERITIES } from '../domain/status.ts';
import { appendEvent, queueEvent } from './events.ts';
import { type FindingRow, toExclusion } from './finding-rows.ts';
import { dataText } from './rows.ts';
import type { Database } from './schema.ts';

type Trx = Transaction<Database>;
type Change = { actor: string; now: Date };

export type FindingChange = { row: FindingRow; change: 'opened' | 'reopened' | 'resolved' };

/** Why a batch of findings changed, when something other than a report changed them. */
type Cause = { comment: string; data: Record<string, unknown> };

/**
 * One event per drift or recommendation finding opened, reopened or resolved. Imported
 * vulnerabilities come by the thousand: they get one event per batch and change, listing
 * the findings (`findingIds`) and carrying the highest severity among them, so a large
 * import does not write, chain and match against alert rules an event per finding.
 */
export async function appendFindingEvents(
  trx: Trx,
  changes: FindingChange[],
  opts: Change,
  cause?: Cause,
) {
  const base = {
    action_id: null,
    at: opts.now.toISOString(),
    actor: opts.actor,
    type: 'finding',
    from_status: null,
    to_status: null,
    comment: cause?.comment ?? null,
  };
  const grouped = new Map<string, FindingRow[]>();
  for (const { row, change } of changes) {
    if (row.kind !== 'vulnerability') {
      const data = { findingId: row.id, kind: row.kind, severity: row.severity, change };
      await queueEvent(trx, { ...base, data: dataText({ ...data, ...cause?.data }) });
      continue;
    }
    const rows = grouped.get(change) ?? [];
    rows.push(row);
    grouped.set(change, rows);
  }
  for (const [change, rows] of grouped) {
    const top = Math.max(...rows.map((r) => r.severity_rank));
    const data = {
      kind: 'vulnerability',
      change,
      severity: SEVERITIES[top],
      count: rows.length,
      findingIds: rows.map((r) => r.id),
    };
    await queueEvent(trx, { ...base, data: dataText({ ...data, ...cause?.data }) });
  }
}

/** One audit event about one finding, outside any import: a dismissal, a reopening. */
export async function findingEvent(
  trx: Trx,
  row: FindingRow,
  input: Change,
  change: string,
  comment: string | null,
) {
  await appendEvent(trx, {
    action_id: null,
    at: input.now.toISOString(),
    actor: input.actor,
    type: 'finding',
    from_status: null,
    to_status: null,
    comment,
    data: dataText({ findingId: row.id, kind: row.kind, severity: row.severity, change }),
  });
}

/** Every exclusion, to test findings against in memory. */
export async function allExclusions(trx: Trx): Promise<Exclusion[]> {
  return (await trx.selectFrom('finding_exclusions').selectAll().execute()).map(toExclusion);
}

export function matches(exclusion: Exclusion, report: FindingReport): boolean {
  const { resource } = report;
  if (exclusion.scope === 'resource') return exclusion.value === resource.id;
  if (exclusion.scope === 'account') return exclusion.value === resource.account;
  const [key, value] = splitTag(exclusion.value);
  return resource.tags?.[key] === value;
}

export function splitTag(tag: string): [string, string] {
  const at = tag.indexOf('=');
  return [tag.slice(0, at), tag.slice(at + 1)];
}

/** Enough of a stored finding to test exclusions against it. */
export function reportOf(
  row: Pick<FindingRow, 'resource_id' | 'resource_account' | 'resource_tags'>,
) {
  return {
    resource: {
      id: row.resource_id,
      account: row.resource_account,
      tags: JSON.parse(row.resource_tags) as Record<string, string>,
    },
  } as FindingReport;
}

/** The reason a finding carries once the fix of `actionId` resolved it. */
function remediatedBy(actionId: string): string {
  return `remediated by action ${actionId}`;
}

/**
 * The fix of `actionId` completed: the open findings linked to it are resolved, naming the
 * action, in the transaction of the completion. Dismissed and excluded findings keep the
 * decision people made about them.
 */
export async function resolveFixedFindings(trx: Trx, actionId: string, opts: Change) {
  const rows = await trx
    .selectFrom('findings')
    .innerJoin('action_findings', (join) =>
      join
        .onRef('action_findings.origin', '=', 'findings.origin')
        .onRef('action_findings.finding_id', '=', 'findings.key'),
    )
    .selectAll('findings')
    .where('action_findings.action_id', '=', actionId)
    .where('findings.status', '=', 'open')
    .execute();
  if (rows.length === 0) return;
  const now = opts.now.toISOString();
  const set = {
    status: 'resolved',
    resolved_at: now,
    resolution: remediatedBy(actionId),
    resolved_by_action: actionId,
    updated_at: now,
  };
  const ids = rows.map((r) => r.id);
  for (let i = 0; i < ids.length; i += 500) {
    await trx
      .updateTable('findings')
      .set(set)
      .where('id', 'in', ids.slice(i, i + 500))
      .execute();
  }
  const changes = rows.map((row) => ({ row: { ...row, ...set }, change: 'resolved' as const }));
  await appendFindingEvents(trx, changes, opts, { comment: set.resolution, data: { actionId } });
}

/**
 * The fix of `actionId` was rolled back: the findings it resolved, and still resolved by
 * it, open again (or go back to `excluded` where an exclusion now matches). Findings a
 * scanner resolved, or that were reported failed and so opened since, are not touched.
 */
export async function reopenUnfixedFindings(trx: Trx, actionId: string, opts: Change) {
  const rows = await trx
    .selectFrom('findings')
    .selectAll()
    .where('resolved_by_action', '=', actionId)
    .where('status', '=', 'resolved')
    .execute();
  if (rows.length === 0) return;
  const exclusions = await allExclusions(trx);
  const now = opts.now.toISOString();
  const changes: FindingChange[] = [];
  for (const row of rows) {
    const exclusion = exclusions.find((e) => matches(e, reportOf(row)));
    const set = {
      status: exclusion ? 'excluded' : 'open',
      exclusion_id: exclusion?.id ?? null,
      resolved_at: null,
      resolution: null,
      resolved_by_action: null,
      updated_at: now,
    };
    await trx.updateTable('findings').set(set).where('id', '=', row.id).execute();
    changes.push({ row: { ...row, ...set }, change: 'reopened' });
  }
  await appendFindingEvents(trx, changes, opts, {
    comment: `action ${actionId} rolled back`,
    data: { actionId },
  });
}
