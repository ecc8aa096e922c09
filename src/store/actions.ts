import type { Kysely, Transaction } from 'kysely';
import type { AuditEvent, Plan, Snapshot } from '../domain/action.ts';
import { conflict, notFound } from '../domain/errors.ts';
import { severityRank, STATUSES, type Status } from '../domain/status.ts';
import { appendEvent, queueEvent, withQueuedEvents } from './events.ts';
import { personOf } from './persons.ts';
import { dataText, toAction, toEvent } from './rows.ts';
import type { ActionRow, Database } from './schema.ts';
import type { CreateResult, NewAction } from './store.ts';
import { getSettings } from './settings.ts';
import { lockedRow, submitCreated } from './transition.ts';
import { insertRows } from './bulk-insert.ts';
import { newId } from './ids.ts';

/** `requireApproval` left out: the setting in force is read in the same transaction. */
export type CreateOpts = { actor: string; now: Date; requireApproval?: boolean };

/**
 * Inserts a suggested action, or links the finding to the open action for the same fix
 * and resource. The unique `open_key` settles a race between two importers: the loser
 * retries once and links.
 */
export async function createAction(
  db: Kysely<Database>,
  input: NewAction,
  opts: CreateOpts,
): Promise<CreateResult> {
  const [result] = await createActions(db, [input], opts);
  return result!;
}

/**
 * Creates or links many actions in one transaction: an import records all of its
 * actions or none of them.
 */
export async function createActions(
  db: Kysely<Database>,
  inputs: NewAction[],
  opts: CreateOpts,
): Promise<CreateResult[]> {
  const all = (trx: Transaction<Database>) => createInTransaction(trx, inputs, opts);
  try {
    return await withQueuedEvents(db, all);
  } catch (error) {
    if (!isUniqueViolation(error)) throw error;
    return withQueuedEvents(db, all);
  }
}

/** Open keys looked up per statement. */
const KEYS_PER_READ = 500;

/**
 * Creates an action for each request, or links its finding to the open action for the
 * same fix and resource (one made earlier in the same batch included), in the caller's
 * transaction. Done for the whole batch at once: one read of the open actions, one insert
 * of the new ones, one of the links and one submission, where one request at a time took
 * a dozen statements each, and an import makes thousands.
 */
export async function createInTransaction(
  trx: Transaction<Database>,
  inputs: NewAction[],
  opts: CreateOpts,
): Promise<CreateResult[]> {
  if (inputs.length === 0) return [];
  const now = opts.now.toISOString();
  const keyOf = (input: NewAction) => `${input.type}|${input.resource.id}`;
  const open = new Map<string, ActionRow>();
  const keys = [...new Set(inputs.map(keyOf))];
  for (let i = 0; i < keys.length; i += KEYS_PER_READ) {
    const rows = await trx
      .selectFrom('actions')
      .selectAll()
      .where('open_key', 'in', keys.slice(i, i + KEYS_PER_READ))
      .execute();
    for (const row of rows) open.set(row.open_key!, row);
  }

  const createdByPerson = await personOf(trx, opts.actor);
  const fresh: { row: ActionRow; input: NewAction }[] = [];
  const placed = inputs.map((input) => {
    const key = keyOf(input);
    const existing = open.get(key);
    if (existing) return { input, key, created: false };
    const row = newActionRow(input, key, opts.actor, createdByPerson, now);
    open.set(key, row);
    fresh.push({ row, input });
    return { input, key, created: true };
  });

  await insertRows(
    trx,
    'actions',
    fresh.map(({ row }) => row),
  );
  for (const { row, input } of fresh) {
    await queueEvent(trx, {
      action_id: row.id,
      at: now,
      actor: opts.actor,
      type: 'transition',
      from_status: null,
      to_status: 'suggested',
      comment: null,
      data: dataText({ finding: input.source }),
    });
  }
  await linkFindings(
    trx,
    placed.map(({ input, key, created }) => ({
      actionId: open.get(key)!.id,
      input,
      auditActor: created ? null : opts.actor,
    })),
    now,
  );

  const requireApproval = opts.requireApproval ?? (await getSettings(trx)).requireApproval;
  if (requireApproval) {
    const rows = fresh.map(({ row }) => row);
    for (const row of await submitCreated(trx, rows, { actor: 'system', now: opts.now })) {
      open.set(row.open_key!, row);
    }
  }
  return placed.map(({ key, created }) => ({ action: toAction(open.get(key)!), created }));
}

function newActionRow(
  input: NewAction,
  openKey: string,
  actor: string,
  createdByPerson: string,
  now: string,
): ActionRow {
  return {
    id: newId(),
    type: input.type,
    title: input.title,
    resource_provider: input.resource.provider,
    resource_account: input.resource.account,
    resource_region: input.resource.region,
    resource_type: input.resource.type,
    resource_id: input.resource.id,
    resource_name: input.resource.name,
    source_kind: input.source.kind,
    source_finding_id: input.source.findingId,
    source_title: input.source.title,
    source_origin: input.source.origin,
    source_check_id: input.source.checkId,
    severity: input.severity,
    severity_rank: severityRank(input.severity),
    risk: input.risk,
    status: 'suggested',
    open_key: openKey,
    plan: JSON.stringify(input.plan),
    planned_at: null,
    snapshot: null,
    result: null,
    error: null,
    requested_op: null,
    requested_by: null,
    requested_at: null,
    lease_owner: null,
    lease_expires_at: null,
    attempt: 0,
    created_by: actor,
    created_by_person: createdByPerson,
    created_at: now,
    updated_at: now,
    approved_by: null,
    approved_at: null,
    completed_at: null,
    rollback_deadline: null,
    version: 1,
    params: JSON.stringify(input.params ?? {}),
    progress: '{}',
    request_data: null,
    sealed_secret: null,
    finalized_at: null,
    window_warned_at: null,
  };
}

/**
 * Records that findings point at actions, in one statement; a link seen before is left
 * as it is. A new link to an action that already existed is audited with `auditActor`.
 */
async function linkFindings(
  trx: Transaction<Database>,
  links: { actionId: string; input: NewAction; auditActor: string | null }[],
  now: string,
) {
  const linkKey = (actionId: string, origin: string, findingId: string) =>
    `${actionId}\u0000${origin}\u0000${findingId}`;
  const added = new Set<string>();
  for (let i = 0; i < links.length; i += KEYS_PER_READ) {
    const inserted = await trx
      .insertInto('action_findings')
      .values(
        links.slice(i, i + KEYS_PER_READ).map(({ actionId, input }) => ({
          action_id: actionId,
          origin: input.source.origin,
          finding_id: input.source.findingId,
          linked_at: now,
        })),
      )
      .onConflict((oc) => oc.doNothing())
      .returning(['action_id', 'origin', 'finding_id'])
      .execute();
    for (const row of inserted) added.add(linkKey(row.action_id, row.origin, row.finding_id));
  }
  for (const { actionId, input, auditActor } of links) {
    // Deleted as it is noted: the same finding twice in one batch is noted once.
    if (!added.delete(linkKey(actionId, input.source.origin, input.source.findingId))) continue;
    if (!auditActor) continue;
    await queueEvent(trx, {
      action_id: actionId,
      at: now,
      actor: auditActor,
      type: 'note',
      from_status: null,
      to_status: null,
      comment: `finding "${input.source.title}" (${input.source.checkId}) from ${input.source.origin} linked`,
      data: dataText({ finding: input.source }),
    });
  }
}

export function isUniqueViolation(error: unknown): boolean {
  const e = error as { code?: string; errcode?: number; message?: string };
  return e.code === '23505' || /UNIQUE constraint failed/.test(e.message ?? '');
}

export async function getAction(db: Kysely<Database>, id: string) {
  const row = await db.selectFrom('actions').selectAll().where('id', '=', id).executeTakeFirst();
  return row ? toAction(row) : undefined;
}

export async function countByStatus(db: Kysely<Database>): Promise<Record<Status, number>> {
  const rows = await db
    .selectFrom('actions')
    .select(['status', (eb) => eb.fn.countAll<number>().as('n')])
    .groupBy('status')
    .execute();
  const counts = Object.fromEntries(STATUSES.map((s) => [s, 0])) as Record<Status, number>;
  for (const row of rows) counts[row.status as Status] = Number(row.n);
  return counts;
}

export async function events(db: Kysely<Database>, actionId: string): Promise<AuditEvent[]> {
  const rows = await db
    .selectFrom('events')
    .selectAll()
    .where('action_id', '=', actionId)
    .orderBy('id')
    .execute();
  return rows.map(toEvent);
}

export async function comment(
  db: Kysely<Database>,
  id: string,
  input: { actor: string; now: Date; text: string },
): Promise<AuditEvent> {
  return db.transaction().execute(async (trx) => {
    const row = await lockedRow(trx, id);
    const inserted = await appendEvent(trx, {
      action_id: id,
      at: input.now.toISOString(),
      actor: input.actor,
      type: 'comment',
      from_status: row.status,
      to_status: null,
      comment: input.text,
      data: null,
    });
    return toEvent(inserted);
  });
}

/** The engine's live read, kept while the action has not started running. */
export async function updatePlan(db: Kysely<Database>, id: string, plan: Plan, now: Date) {
  await db
    .updateTable('actions')
    .set((eb) => ({
      plan: JSON.stringify(plan),
      planned_at: now.toISOString(),
      version: eb('version', '+', 1),
    }))
    .where('id', '=', id)
    .where('status', 'in', ['suggested', 'pending_approval', 'approved', 'failed'])
    // Several replicas may read the same new action at once; the first plan stands, so a
    // later one never bumps the version under a person who is approving the first.
    .where('planned_at', 'is', null)
    .execute();
}

/**
 * Stores the snapshot before any change is made. It must land while this engine still
 * holds the lease, or the change is not attempted.
 */
export async function saveSnapshot(
  db: Kysely<Database>,
  id: string,
  snapshot: Snapshot,
  owner: string,
) {
  await db.transaction().execute(async (trx) => {
    const result = await trx
      .updateTable('actions')
      .set((eb) => ({ snapshot: JSON.stringify(snapshot), version: eb('version', '+', 1) }))
      .where('id', '=', id)
      .where('status', '=', 'executing')
      .where('lease_owner', '=', owner)
      .executeTakeFirst();
    if (Number(result.numUpdatedRows) !== 1) {
      const row = await trx
        .selectFrom('actions')
        .select('status')
        .where('id', '=', id)
        .executeTakeFirst();
      if (!row) throw notFound(`no action with id ${id}`);
      throw conflict(`lost the lease on action ${id} before its snapshot was stored`);
    }
    await queueEvent(trx, {
      action_id: id,
      at: snapshot.capturedAt,
      actor: 'system',
      type: 'note',
      from_status: 'executing',
      to_status: null,
      comment: 'snapshot of the live configuration captured',
      data: null,
    });
  });
}
