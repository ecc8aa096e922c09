import { CompiledQuery, type Kysely, type Transaction } from 'kysely';
import type { ActionSummary, AuditEvent } from '../domain/action.ts';
import { conflict, invalidInput, notFound } from '../domain/errors.ts';
import {
  type Exclusion,
  type Finding,
  type FindingKind,
  type FindingReport,
  type FindingSummary,
  type ReportResult,
  type StoredFindingStatus,
  FINDING_KINDS,
  noReportedChanges,
  STORED_FINDING_STATUSES,
} from '../domain/finding.ts';
import { SEVERITIES, type Severity, severityRank } from '../domain/status.ts';
import { createInTransaction, isUniqueViolation } from './actions.ts';
import { compiledSql } from './compiled.ts';
import { withQueuedEvents } from './events.ts';
import {
  allExclusions,
  appendFindingEvents,
  type FindingChange,
  findingEvent,
  matches,
  reportOf,
} from './finding-changes.ts';
import {
  addExclusion,
  listExclusions,
  type NewExclusion,
  removeExclusion,
} from './finding-exclusions.ts';
import {
  FINDING_SUMMARY_COLUMNS,
  type FindingRow,
  toFinding,
  toFindingSummary,
} from './finding-rows.ts';
import { insertFindingRows, updateFindingRows } from './finding-writes.ts';
import { newId } from './ids.ts';
import { closeResolvedActions } from './resolved-actions.ts';
import { containsText, escapeLike, keysetPage, pageLimit } from './list.ts';
import { SUMMARY_COLUMNS, toEvent, toSummary } from './rows.ts';
import type { Database } from './schema.ts';
import type { CreateResult, NewAction, Page } from './store.ts';

export type { NewExclusion };

export const FINDING_SORTS = ['lastSeen', 'firstSeen', 'severity'] as const;
export type FindingSort = (typeof FINDING_SORTS)[number];

export interface FindingQuery {
  kind?: FindingKind[];
  severity?: Severity[];
  status?: StoredFindingStatus[];
  provider?: string[];
  resourceType?: string[];
  account?: string[];
  /** Case-insensitive substring of the title, check id, resource id or name. */
  text?: string;
  sort?: FindingSort;
  order?: 'asc' | 'desc';
  /** 1 to 500. */
  limit?: number;
  cursor?: string;
}

export interface FindingCounts {
  total: number;
  byStatus: Record<StoredFindingStatus, number>;
  byKind: Record<FindingKind, number>;
  bySeverity: Record<Severity, number>;
}

type Change = { actor: string; now: Date };

/** Stored findings and exclusions; see contracts in `FindingReport`. */
export interface FindingStore {
  /**
   * One transaction: stores failed reports (deduplicated by origin and key; a dismissed or
   * excluded finding stays so), resolves open findings reported passed, and rejects the
   * suggested or pending_approval actions backed only by findings now resolved.
   */
  reportFindings(reports: FindingReport[], opts: Change): Promise<ReportResult>;
  /**
   * `reportFindings` and `createActions` in one transaction: an import batch records its
   * findings and its actions together, or nothing.
   */
  recordImport(
    reports: FindingReport[],
    actions: NewAction[],
    opts: Change,
  ): Promise<{ report: ReportResult; actions: CreateResult[] }>;
  getFinding(id: string): Promise<Finding | undefined>;
  listFindings(query: FindingQuery): Promise<Page<FindingSummary>>;
  countFindings(query: FindingQuery): Promise<FindingCounts>;
  /** The actions linked to a finding, newest first. */
  findingActions(id: string): Promise<ActionSummary[]>;
  /** The stored findings an action is linked to. */
  actionFindings(actionId: string): Promise<FindingSummary[]>;
  /** The audit events about a finding, oldest first. */
  findingEvents(id: string): Promise<AuditEvent[]>;
  /** `conflict` unless the finding is open or excluded. */
  dismissFinding(id: string, input: Change & { reason: string }): Promise<Finding>;
  /** `conflict` unless the finding is dismissed. */
  reopenFinding(id: string, input: Change): Promise<Finding>;
  listExclusions(): Promise<Exclusion[]>;
  /** Adds an exclusion and moves the open findings it matches to `excluded`. */
  addExclusion(
    input: NewExclusion,
    opts: Change,
  ): Promise<{ exclusion: Exclusion; excluded: number }>;
  /** Removes an exclusion; the findings it kept out open again unless another one matches. */
  removeExclusion(id: string, opts: Change): Promise<{ exclusion: Exclusion; reopened: number }>;
}

export function findingStore(db: Kysely<Database>): FindingStore {
  return {
    reportFindings: async (reports, opts) => (await record(db, reports, [], opts)).report,
    recordImport: (reports, actions, opts) => record(db, reports, actions, opts),
    getFinding: (id) => getFinding(db, id),
    listFindings: (query) => listFindings(db, query),
    countFindings: (query) => countFindings(db, query),
    findingActions: (id) => findingActions(db, id),
    actionFindings: (actionId) => actionFindings(db, actionId),
    findingEvents: (id) => eventsOfFinding(db, id),
    dismissFinding: (id, input) => dismissFinding(db, id, input),
    reopenFinding: (id, input) => reopenFinding(db, id, input),
    listExclusions: () => listExclusions(db),
    addExclusion: (input, opts) => addExclusion(db, input, opts),
    removeExclusion: (id, opts) => removeExclusion(db, id, opts),
  };
}

type Trx = Transaction<Database>;

async function record(
  db: Kysely<Database>,
  reports: FindingReport[],
  actions: NewAction[],
  opts: Change,
): Promise<{ report: ReportResult; actions: CreateResult[] }> {
  reports.forEach(checkReport);
  const run = (trx: Trx) => recordInTransaction(trx, reports, actions, opts);
  try {
    return await withQueuedEvents(db, run);
  } catch (error) {
    // Two imports stored the same new finding or action at once: the loser's second pass
    // finds the winner's rows and updates or links them.
    if (!isUniqueViolation(error)) throw error;
    return withQueuedEvents(db, run);
  }
}

async function recordInTransaction(
  trx: Trx,
  reports: FindingReport[],
  actions: NewAction[],
  opts: Change,
): Promise<{ report: ReportResult; actions: CreateResult[] }> {
  const now = opts.now.toISOString();
  const exclusions = await allExclusions(trx);
  const existing = await existingRows(trx, reports);
  const result: ReportResult = { ...noReportedChanges(), findingIds: [] };
  const inserts: FindingRow[] = [];
  const fresh = new Set<FindingRow>();
  const events: FindingChange[] = [];
  const resolved: FindingRow[] = [];
  /** Stored rows this batch changes, written together once their final state is known. */
  const changed = new Set<FindingRow>();

  for (const report of reports) {
    const name = `${report.origin}\u0000${report.key}`;
    const row = existing.get(name);
    // Every report stamps its finding with this import's time: a row that has it already
    // was reported earlier in the same import, in this batch or an earlier one.
    if (row?.last_seen === now) result.repeated += 1;
    if (report.state === 'passed') {
      if (row && (row.status === 'open' || row.status === 'excluded')) {
        const set = {
          status: 'resolved',
          resolved_at: now,
          resolution: `${report.origin} reports the check passed`,
          resolved_by_action: null,
          last_seen: now,
          updated_at: now,
        };
        Object.assign(row, set);
        if (!fresh.has(row)) changed.add(row);
        result.resolved += 1;
        events.push({ row, change: 'resolved' });
        resolved.push(row);
      }
      continue;
    }
    const exclusion = exclusions.find((e) => matches(e, report));
    const fields = reportColumns(report, now);
    if (!row) {
      const inserted: FindingRow = {
        id: newId(),
        ...fields,
        status: exclusion ? 'excluded' : 'open',
        exclusion_id: exclusion?.id ?? null,
        first_seen: now,
        resolved_at: null,
        resolution: null,
        resolved_by_action: null,
        dismissed_reason: null,
        dismissed_by: null,
        dismissed_at: null,
      };
      inserts.push(inserted);
      fresh.add(inserted);
      existing.set(name, inserted);
      result.findingIds.push(inserted.id);
      if (exclusion) result.excluded += 1;
      else {
        result.opened += 1;
        events.push({ row: inserted, change: 'opened' });
      }
      continue;
    }
    const set: Partial<FindingRow> = { ...fields };
    if (row.status === 'dismissed') {
      result.dismissed += 1;
    } else if (exclusion) {
      set.status = 'excluded';
      set.exclusion_id = exclusion.id;
      result.excluded += 1;
    } else if (row.status === 'open') {
      result.updated += 1;
    } else {
      // Resolved before, or excluded by an exclusion since removed: the problem is back.
      set.status = 'open';
      set.exclusion_id = null;
      set.resolved_at = null;
      set.resolution = null;
      set.resolved_by_action = null;
      result.opened += 1;
      events.push({ row, change: 'reopened' });
    }
    Object.assign(row, set);
    if (!fresh.has(row)) changed.add(row);
    result.findingIds.push(row.id);
  }

  await insertFindingRows(trx, inserts);
  await updateFindingRows(trx, [...changed]);
  await appendFindingEvents(trx, events, opts);

  const created = await createInTransaction(trx, actions, opts);
  await closeResolvedActions(trx, resolved, opts, (f) => `${f.origin} reports the check passed`);
  return { report: result, actions: created };
}

/** Keys looked up per statement; a shorter list is padded with its first key. */
const KEYS_PER_LOOKUP = 500;

/**
 * The stored rows for the reports' origin and key pairs, keyed by both. Every lookup is
 * the same statement of `KEYS_PER_LOOKUP` keys, compiled once: an import asks it for
 * each batch, and building its hundreds of parameters again each time cost more than the
 * lookup itself.
 */
async function existingRows(trx: Trx, reports: FindingReport[]): Promise<Map<string, FindingRow>> {
  const byOrigin = new Map<string, Set<string>>();
  for (const r of reports) {
    const keys = byOrigin.get(r.origin) ?? new Set<string>();
    keys.add(r.key);
    byOrigin.set(r.origin, keys);
  }
  const sql = compiledSql(trx, `findings|by-origin-key|${KEYS_PER_LOOKUP}`, () =>
    trx
      .selectFrom('findings')
      .selectAll()
      .where('origin', '=', '')
      .where('key', 'in', new Array<string>(KEYS_PER_LOOKUP).fill(''))
      .compile(),
  );
  const found = new Map<string, FindingRow>();
  for (const [origin, keySet] of byOrigin) {
    const keys = [...keySet];
    for (let i = 0; i < keys.length; i += KEYS_PER_LOOKUP) {
      const chunk = keys.slice(i, i + KEYS_PER_LOOKUP);
      while (chunk.length < KEYS_PER_LOOKUP) chunk.push(chunk[0]!);
      const { rows } = await trx.executeQuery<FindingRow>(
        CompiledQuery.raw(sql, [origin, ...chunk]),
      );
      for (const row of rows) found.set(`${row.origin}\u0000${row.key}`, row);
    }
  }
  return found;
}

type ReportColumns = Omit<
  FindingRow,
  | 'id'
  | 'status'
  | 'exclusion_id'
  | 'first_seen'
  | 'resolved_at'
  | 'resolution'
  | 'resolved_by_action'
  | 'dismissed_reason'
  | 'dismissed_by'
  | 'dismissed_at'
>;

function reportColumns(report: FindingReport, now: string): ReportColumns {
  const { resource } = report;
  return {
    kind: report.kind,
    origin: report.origin,
    key: report.key,
    check_id: report.checkId,
    standard: report.standard ?? null,
    control_ids: JSON.stringify(report.controlIds ?? []),
    title: report.title,
    description: report.description ?? null,
    severity: report.severity,
    severity_rank: severityRank(report.severity),
    resource_provider: resource.provider,
    resource_account: resource.account,
    resource_region: resource.region,
    resource_type: resource.type,
    resource_id: resource.id,
    resource_name: resource.name,
    resource_tags: JSON.stringify(resource.tags ?? {}),
    evidence: report.evidence === undefined ? null : JSON.stringify(report.evidence),
    drift_type: report.driftType ?? null,
    remedy: report.remedy ? JSON.stringify(report.remedy) : null,
    last_seen: now,
    updated_at: now,
  };
}

/** Refuses a report a source got wrong, naming the field, before anything is written. */
function checkReport(report: FindingReport, index: number): void {
  const bad = (field: string, problem: string) =>
    invalidInput(`finding report ${index + 1}: ${field} ${problem}`, { index, field });
  if (!FINDING_KINDS.includes(report.kind)) {
    throw bad('kind', `must be one of ${FINDING_KINDS.join(', ')}`);
  }
  for (const field of ['origin', 'key', 'checkId', 'title'] as const) {
    if (typeof report[field] !== 'string' || report[field].trim() === '') {
      throw bad(field, 'must be a non-empty string');
    }
  }
  if (!SEVERITIES.includes(report.severity)) {
    throw bad('severity', `must be one of ${SEVERITIES.join(', ')}`);
  }
  if (report.state !== 'failed' && report.state !== 'passed') {
    throw bad('state', 'must be failed or passed');
  }
  const resource = report.resource as Partial<FindingReport['resource']> | undefined;
  if (!resource || typeof resource.id !== 'string' || resource.id === '') {
    throw bad('resource.id', 'must be a non-empty string');
  }
  for (const field of ['account', 'region', 'type', 'name'] as const) {
    if (typeof resource[field] !== 'string') throw bad(`resource.${field}`, 'must be a string');
  }
  if (resource.provider !== 'aws' && resource.provider !== 'kubernetes') {
    throw bad('resource.provider', 'must be aws or kubernetes');
  }
}

async function getFinding(db: Kysely<Database>, id: string): Promise<Finding | undefined> {
  const row = await db.selectFrom('findings').selectAll().where('id', '=', id).executeTakeFirst();
  return row ? toFinding(row) : undefined;
}

const SORT_COLUMN = {
  lastSeen: 'last_seen',
  firstSeen: 'first_seen',
  severity: 'severity_rank',
} as const satisfies Record<FindingSort, keyof FindingRow>;

function filtered(db: Kysely<Database>, query: FindingQuery) {
  let q = db.selectFrom('findings');
  if (query.kind?.length) q = q.where('kind', 'in', query.kind);
  if (query.severity?.length) q = q.where('severity', 'in', query.severity);
  if (query.status?.length) q = q.where('status', 'in', query.status);
  if (query.provider?.length) q = q.where('resource_provider', 'in', query.provider);
  if (query.resourceType?.length) q = q.where('resource_type', 'in', query.resourceType);
  if (query.account?.length) q = q.where('resource_account', 'in', query.account);
  if (query.text?.trim()) {
    q = q.where(containsText(query.text, ['title', 'check_id', 'resource_id', 'resource_name']));
  }
  return q;
}

async function listFindings(
  db: Kysely<Database>,
  query: FindingQuery,
): Promise<Page<FindingSummary>> {
  const sort = query.sort ?? 'lastSeen';
  const column = SORT_COLUMN[sort];
  const order = query.order ?? 'desc';
  const limit = pageLimit(query.limit);
  const page = await keysetPage(db, filtered(db, query).select(FINDING_SUMMARY_COLUMNS), {
    scope: `findings:${sort}`,
    column,
    valueType: sort === 'severity' ? 'number' : 'string',
    order,
    limit,
    cursor: query.cursor,
  });
  return { items: page.items.map(toFindingSummary), nextCursor: page.nextCursor };
}

async function countFindings(db: Kysely<Database>, query: FindingQuery): Promise<FindingCounts> {
  const rows = await filtered(db, query)
    .select(['status', 'kind', 'severity', (eb) => eb.fn.countAll<number>().as('n')])
    .groupBy(['status', 'kind', 'severity'])
    .execute();
  const zero = <T extends string>(names: readonly T[]) =>
    Object.fromEntries(names.map((n) => [n, 0])) as Record<T, number>;
  const counts: FindingCounts = {
    total: 0,
    byStatus: zero(STORED_FINDING_STATUSES),
    byKind: zero(FINDING_KINDS),
    bySeverity: zero(SEVERITIES),
  };
  for (const row of rows) {
    const n = Number(row.n);
    counts.total += n;
    counts.byStatus[row.status as StoredFindingStatus] += n;
    counts.byKind[row.kind as FindingKind] += n;
    counts.bySeverity[row.severity as Severity] += n;
  }
  return counts;
}

async function findingActions(db: Kysely<Database>, id: string): Promise<ActionSummary[]> {
  const finding = await db
    .selectFrom('findings')
    .select(['origin', 'key'])
    .where('id', '=', id)
    .executeTakeFirst();
  if (!finding) throw notFound(`no finding with id "${id}"; list findings to find its id`);
  const rows = await db
    .selectFrom('actions')
    .innerJoin('action_findings', 'action_findings.action_id', 'actions.id')
    .select(SUMMARY_COLUMNS.map((c) => `actions.${c}` as const))
    .where('action_findings.origin', '=', finding.origin)
    .where('action_findings.finding_id', '=', finding.key)
    .orderBy('actions.created_at', 'desc')
    .execute();
  return rows.map(toSummary);
}

async function actionFindings(db: Kysely<Database>, actionId: string): Promise<FindingSummary[]> {
  const rows = await db
    .selectFrom('findings')
    .innerJoin('action_findings', (join) =>
      join
        .onRef('action_findings.origin', '=', 'findings.origin')
        .onRef('action_findings.finding_id', '=', 'findings.key'),
    )
    .select(FINDING_SUMMARY_COLUMNS.map((c) => `findings.${c}` as const))
    .where('action_findings.action_id', '=', actionId)
    .orderBy('findings.first_seen')
    .execute();
  return rows.map(toFindingSummary);
}

async function eventsOfFinding(db: Kysely<Database>, id: string): Promise<AuditEvent[]> {
  // Finding events belong to no action; their data names the finding, alone or in a list.
  const rows = await db
    .selectFrom('events')
    .selectAll()
    .where('type', '=', 'finding')
    .where('action_id', 'is', null)
    .where('data', 'like', `%${escapeLike(JSON.stringify(id))}%`)
    .orderBy('id')
    .execute();
  return rows.map(toEvent);
}

async function lockedFinding(trx: Trx, id: string): Promise<FindingRow> {
  const row = await trx.selectFrom('findings').selectAll().where('id', '=', id).executeTakeFirst();
  if (!row) throw notFound(`no finding with id "${id}"; list findings to find its id`);
  return row;
}

/** Writes `set` only while the finding is still as read; a concurrent change is a conflict. */
async function changeStatus(trx: Trx, row: FindingRow, set: Partial<FindingRow>) {
  const result = await trx
    .updateTable('findings')
    .set(set)
    .where('id', '=', row.id)
    .where('status', '=', row.status)
    .where('updated_at', '=', row.updated_at)
    .executeTakeFirst();
  if (Number(result.numUpdatedRows) !== 1) {
    throw conflict(`finding ${row.id} changed meanwhile; read it again and retry`);
  }
}

async function dismissFinding(
  db: Kysely<Database>,
  id: string,
  input: Change & { reason: string },
): Promise<Finding> {
  const reason = input.reason.trim();
  if (!reason) throw invalidInput('a dismissal needs a reason; got an empty one');
  return db.transaction().execute(async (trx) => {
    const row = await lockedFinding(trx, id);
    if (row.status !== 'open' && row.status !== 'excluded') {
      throw conflict(
        `finding ${id} is ${row.status}; only an open or excluded finding can be dismissed`,
        { status: row.status },
      );
    }
    const now = input.now.toISOString();
    const set = {
      status: 'dismissed',
      exclusion_id: null,
      dismissed_reason: reason,
      dismissed_by: input.actor,
      dismissed_at: now,
      updated_at: now,
    };
    await changeStatus(trx, row, set);
    await findingEvent(trx, row, input, 'dismissed', reason);
    return toFinding({ ...row, ...set });
  });
}

async function reopenFinding(db: Kysely<Database>, id: string, input: Change): Promise<Finding> {
  return db.transaction().execute(async (trx) => {
    const row = await lockedFinding(trx, id);
    if (row.status !== 'dismissed') {
      throw conflict(`finding ${id} is ${row.status}; only a dismissed finding can be reopened`, {
        status: row.status,
      });
    }
    const exclusions = await allExclusions(trx);
    const exclusion = exclusions.find((e) => matches(e, reportOf(row)));
    const set = {
      status: exclusion ? 'excluded' : 'open',
      exclusion_id: exclusion?.id ?? null,
      dismissed_reason: null,
      dismissed_by: null,
      dismissed_at: null,
      updated_at: input.now.toISOString(),
    };
    await changeStatus(trx, row, set);
    await findingEvent(trx, row, input, 'reopened', null);
    return toFinding({ ...row, ...set });
  });
}
