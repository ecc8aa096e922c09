import { type Kysely, type Transaction } from 'kysely';
import type { ActionSummary, AuditEvent } from '../domain/action.ts';
import { conflict, invalidInput, notFound } from '../domain/errors.ts';
import {
  type Exclusion,
  EXCLUSION_SCOPES,
  type ExclusionScope,
  type Finding,
  type FindingKind,
  type FindingReport,
  type FindingSummary,
  type ReportResult,
  type StoredFindingStatus,
  FINDING_KINDS,
  STORED_FINDING_STATUSES,
} from '../domain/finding.ts';
import { SEVERITIES, type Severity, severityRank } from '../domain/status.ts';
import { createInTransaction, isUniqueViolation } from './actions.ts';
import { appendEvent, withQueuedEvents } from './events.ts';
import { insertFindingRows, updateFindingRows } from './finding-writes.ts';
import { getSettings } from './settings.ts';
import {
  allExclusions,
  appendFindingEvents,
  type FindingChange,
  matches,
  reportOf,
  splitTag,
} from './finding-changes.ts';
import {
  type ExclusionRow,
  FINDING_SUMMARY_COLUMNS,
  type FindingRow,
  toExclusion,
  toFinding,
  toFindingSummary,
} from './finding-rows.ts';
import { containsText, escapeLike, keysetPage, pageLimit } from './list.ts';
import { dataText, SUMMARY_COLUMNS, toEvent, toSummary } from './rows.ts';
import type { Database } from './schema.ts';
import type { CreateResult, NewAction, Page } from './store.ts';
import { applyTransition } from './transition.ts';
import { newId } from './ids.ts';

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

export interface NewExclusion {
  scope: ExclusionScope;
  value: string;
  reason: string;
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

/** Statuses of actions a passing check closes: nobody has approved them yet. */
const CLOSABLE = ['suggested', 'pending_approval'];

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
  const result: ReportResult = {
    opened: 0,
    updated: 0,
    resolved: 0,
    dismissed: 0,
    excluded: 0,
    findingIds: [],
  };
  const inserts: FindingRow[] = [];
  const fresh = new Set<FindingRow>();
  const events: FindingChange[] = [];
  const resolved: FindingRow[] = [];
  /** Stored rows this batch changes, written together once their final state is known. */
  const changed = new Set<FindingRow>();

  for (const report of reports) {
    const name = `${report.origin}\u0000${report.key}`;
    const row = existing.get(name);
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
  await closeResolvedActions(trx, resolved, opts);
  return { report: result, actions: created };
}

/** The stored rows for the reports' origin and key pairs, keyed by both. */
async function existingRows(trx: Trx, reports: FindingReport[]): Promise<Map<string, FindingRow>> {
  const byOrigin = new Map<string, Set<string>>();
  for (const r of reports) {
    const keys = byOrigin.get(r.origin) ?? new Set<string>();
    keys.add(r.key);
    byOrigin.set(r.origin, keys);
  }
  const found = new Map<string, FindingRow>();
  for (const [origin, keySet] of byOrigin) {
    const keys = [...keySet];
    for (let i = 0; i < keys.length; i += 500) {
      const rows = await trx
        .selectFrom('findings')
        .selectAll()
        .where('origin', '=', origin)
        .where('key', 'in', keys.slice(i, i + 500))
        .execute();
      for (const row of rows) found.set(`${row.origin}\u0000${row.key}`, row);
    }
  }
  return found;
}

/**
 * Rejects each suggested or pending action whose every linked finding is now resolved. An
 * action linked to a finding that is not stored (suggested by hand) is left to people.
 */
async function closeResolvedActions(trx: Trx, resolved: FindingRow[], opts: Change) {
  if (resolved.length === 0) return;
  const candidates = new Map<string, string>();
  for (const finding of resolved) {
    const links = await trx
      .selectFrom('action_findings')
      .innerJoin('actions', 'actions.id', 'action_findings.action_id')
      .select('actions.id')
      .where('action_findings.origin', '=', finding.origin)
      .where('action_findings.finding_id', '=', finding.key)
      .where('actions.status', 'in', CLOSABLE)
      .execute();
    for (const link of links) candidates.set(link.id, finding.origin);
  }
  for (const [actionId, origin] of candidates) {
    const links = await trx
      .selectFrom('action_findings')
      .leftJoin('findings', (join) =>
        join
          .onRef('findings.origin', '=', 'action_findings.origin')
          .onRef('findings.key', '=', 'action_findings.finding_id'),
      )
      .select(['findings.status'])
      .where('action_findings.action_id', '=', actionId)
      .execute();
    if (!links.every((link) => link.status === 'resolved')) continue;
    const row = await trx
      .selectFrom('actions')
      .selectAll()
      .where('id', '=', actionId)
      .executeTakeFirstOrThrow();
    await applyTransition(trx, row, 'reject', {
      actor: 'system',
      now: opts.now,
      comment: `resolved: ${origin} reports the check passed`,
    });
  }
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

async function findingEvent(
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

async function listExclusions(db: Kysely<Database>): Promise<Exclusion[]> {
  const rows = await db
    .selectFrom('finding_exclusions')
    .selectAll()
    .orderBy('created_at')
    .orderBy('id')
    .execute();
  return rows.map(toExclusion);
}

const ACCOUNT = /^(\d{12}|[A-Za-z][\w.@:/-]*)$/;
const ARN = /^arn:aws[\w-]*:[\w-]+:[\w-]*:\d{0,12}:\S+$/;
const KUBE_ID = /^[^\s/%]+\/[^\s/%]*\/[^\s/%]+\/[^\s/%]+$/;

/** Refuses an exclusion that could never match, saying what each scope takes. */
function checkExclusion(input: NewExclusion): NewExclusion {
  if (!EXCLUSION_SCOPES.includes(input.scope)) {
    throw invalidInput(`exclusion scope must be one of ${EXCLUSION_SCOPES.join(', ')}`, {
      field: 'scope',
    });
  }
  const value = typeof input.value === 'string' ? input.value.trim() : '';
  if (!value) throw invalidInput('an exclusion needs a value', { field: 'value' });
  if (input.scope === 'tag' && !/^[^=]+=/.test(value)) {
    throw invalidInput(`a tag exclusion is key=value, e.g. env=sandbox; got "${value}"`, {
      field: 'value',
    });
  }
  if (input.scope === 'account' && !ACCOUNT.test(value)) {
    throw invalidInput(
      `an account exclusion is a 12-digit AWS account id or a kube context name; got "${value}"`,
      { field: 'value' },
    );
  }
  if (input.scope === 'resource' && !ARN.test(value) && !KUBE_ID.test(value)) {
    throw invalidInput(
      'a resource exclusion is the resource id as findings show it: an ARN ' +
        `(arn:aws:s3:::bucket) or context/namespace/Kind/name; got "${value}"`,
      { field: 'value' },
    );
  }
  const reason = typeof input.reason === 'string' ? input.reason.trim() : '';
  if (!reason) throw invalidInput('an exclusion needs a reason', { field: 'reason' });
  return { scope: input.scope, value, reason };
}

async function addExclusion(
  db: Kysely<Database>,
  input: NewExclusion,
  opts: Change,
): Promise<{ exclusion: Exclusion; excluded: number }> {
  const checked = checkExclusion(input);
  try {
    return await db.transaction().execute(async (trx) => {
      const row: ExclusionRow = {
        id: newId(),
        scope: checked.scope,
        value: checked.value,
        reason: checked.reason,
        created_by: opts.actor,
        created_at: opts.now.toISOString(),
      };
      await trx.insertInto('finding_exclusions').values(row).execute();
      const exclusion = toExclusion(row);
      const open = await candidates(trx, exclusion, 'open');
      const ids = open.filter((f) => matches(exclusion, reportOf(f))).map((f) => f.id);
      for (let i = 0; i < ids.length; i += 500) {
        await trx
          .updateTable('findings')
          .set({ status: 'excluded', exclusion_id: row.id, updated_at: row.created_at })
          .where('id', 'in', ids.slice(i, i + 500))
          .execute();
      }
      await exclusionEvent(trx, exclusion, opts, 'added', ids.length);
      return { exclusion, excluded: ids.length };
    });
  } catch (error) {
    if (!isUniqueViolation(error)) throw error;
    throw conflict(`an exclusion of ${checked.scope} "${checked.value}" already exists`, {
      scope: checked.scope,
      value: checked.value,
    });
  }
}

/** The findings of `status` an exclusion may match, narrowed in SQL as far as it can be. */
async function candidates(trx: Trx, exclusion: Exclusion, status: string) {
  let q = trx
    .selectFrom('findings')
    .select(['id', 'resource_id', 'resource_account', 'resource_tags'])
    .where('status', '=', status);
  if (exclusion.scope === 'resource') q = q.where('resource_id', '=', exclusion.value);
  if (exclusion.scope === 'account') q = q.where('resource_account', '=', exclusion.value);
  if (exclusion.scope === 'tag') {
    const [key] = splitTag(exclusion.value);
    q = q.where('resource_tags', 'like', `%${escapeLike(JSON.stringify(key))}%`);
  }
  return q.execute();
}

async function removeExclusion(
  db: Kysely<Database>,
  id: string,
  opts: Change,
): Promise<{ exclusion: Exclusion; reopened: number }> {
  return db.transaction().execute(async (trx) => {
    const row = await trx
      .selectFrom('finding_exclusions')
      .selectAll()
      .where('id', '=', id)
      .executeTakeFirst();
    if (!row) throw notFound(`no exclusion with id "${id}"; list exclusions to find its id`);
    await trx.deleteFrom('finding_exclusions').where('id', '=', id).execute();
    const others = await allExclusions(trx);
    const kept = await trx
      .selectFrom('findings')
      .selectAll()
      .where('exclusion_id', '=', id)
      .where('status', '=', 'excluded')
      .execute();
    const now = opts.now.toISOString();
    let reopened = 0;
    for (const finding of kept) {
      const other = others.find((e) => matches(e, reportOf(finding)));
      const set = other
        ? { exclusion_id: other.id, updated_at: now }
        : { status: 'open', exclusion_id: null, updated_at: now };
      await trx.updateTable('findings').set(set).where('id', '=', finding.id).execute();
      if (!other) {
        reopened += 1;
        await findingEvent(trx, finding, opts, 'reopened', `exclusion ${id} removed`);
      }
    }
    const exclusion = toExclusion(row);
    await exclusionEvent(trx, exclusion, opts, 'removed', reopened);
    return { exclusion, reopened };
  });
}

async function exclusionEvent(
  trx: Trx,
  exclusion: Exclusion,
  opts: Change,
  change: 'added' | 'removed',
  findings: number,
) {
  await appendEvent(trx, {
    action_id: null,
    at: opts.now.toISOString(),
    actor: opts.actor,
    type: 'exclusion',
    from_status: null,
    to_status: null,
    comment: exclusion.reason,
    data: dataText({
      exclusionId: exclusion.id,
      scope: exclusion.scope,
      value: exclusion.value,
      change,
      findings,
    }),
  });
}
