import { randomUUID } from 'node:crypto';
import type { Kysely, Transaction } from 'kysely';
import type { AuditEvent, Plan, Snapshot } from '../domain/action.ts';
import { conflict, notFound } from '../domain/errors.ts';
import { severityRank, STATUSES, type Status } from '../domain/status.ts';
import { appendEvent } from './events.ts';
import { personOf } from './persons.ts';
import { dataText, toAction, toEvent } from './rows.ts';
import type { ActionRow, Database } from './schema.ts';
import type { CreateResult, NewAction } from './store.ts';
import { getSettings } from './settings.ts';
import { applyTransition, lockedRow } from './transition.ts';

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
  try {
    return await db.transaction().execute((trx) => createInTransaction(trx, input, opts));
  } catch (error) {
    if (!isUniqueViolation(error)) throw error;
    return db.transaction().execute((trx) => createInTransaction(trx, input, opts));
  }
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
  const all = async (trx: Transaction<Database>) => {
    const results: CreateResult[] = [];
    for (const input of inputs) results.push(await createInTransaction(trx, input, opts));
    return results;
  };
  try {
    return await db.transaction().execute(all);
  } catch (error) {
    if (!isUniqueViolation(error)) throw error;
    return db.transaction().execute(all);
  }
}

export async function createInTransaction(
  trx: Transaction<Database>,
  input: NewAction,
  opts: CreateOpts,
): Promise<CreateResult> {
  const openKey = `${input.type}|${input.resource.id}`;
  const now = opts.now.toISOString();
  const existing = await trx
    .selectFrom('actions')
    .selectAll()
    .where('open_key', '=', openKey)
    .executeTakeFirst();
  if (existing) {
    await link(trx, existing.id, input, now, opts.actor);
    return { action: toAction(existing), created: false };
  }

  let row: ActionRow = {
    id: randomUUID(),
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
    created_by: opts.actor,
    created_by_person: await personOf(trx, opts.actor),
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
  await trx.insertInto('actions').values(row).execute();
  await appendEvent(trx, {
    action_id: row.id,
    at: now,
    actor: opts.actor,
    type: 'transition',
    from_status: null,
    to_status: 'suggested',
    comment: null,
    data: dataText({ finding: input.source }),
  });
  await link(trx, row.id, input, now, null);
  const requireApproval = opts.requireApproval ?? (await getSettings(trx)).requireApproval;
  if (requireApproval) {
    row = await applyTransition(trx, row, 'submit', { actor: 'system', now: opts.now });
  }
  return { action: toAction(row), created: true };
}

/** Records that a finding points at an action; audited only the first time it is seen. */
async function link(
  trx: Transaction<Database>,
  actionId: string,
  input: NewAction,
  now: string,
  auditActor: string | null,
) {
  const result = await trx
    .insertInto('action_findings')
    .values({
      action_id: actionId,
      origin: input.source.origin,
      finding_id: input.source.findingId,
      linked_at: now,
    })
    .onConflict((oc) => oc.doNothing())
    .executeTakeFirst();
  if (auditActor && Number(result.numInsertedOrUpdatedRows ?? 0n) > 0) {
    await appendEvent(trx, {
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
    await appendEvent(trx, {
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
