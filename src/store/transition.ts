import type { Kysely, Transaction } from 'kysely';
import type { RequestedOp } from '../domain/action.ts';
import { conflict, notFound } from '../domain/errors.ts';
import {
  checkRequest,
  checkTransition,
  type Operation,
  REQUESTS,
  TRANSITIONS,
} from '../domain/lifecycle.ts';
import { rollbackDeadline } from '../domain/settings.ts';
import { OPEN_STATUSES, type Status } from '../domain/status.ts';
import { appendEvent } from './events.ts';
import { dataText, patchColumns, toAction } from './rows.ts';
import type { ActionRow, Database } from './schema.ts';
import { getSettings } from './settings.ts';
import type { RequestInput, TransitionInput } from './store.ts';

type Db = Kysely<Database> | Transaction<Database>;

/**
 * The only place a status is written. The update names the status and version it read,
 * so of any number of concurrent attempts exactly one matches; the rest change nothing
 * and get a conflict. The audit event is written in the same transaction.
 */
export async function applyTransition(
  trx: Transaction<Database>,
  row: ActionRow,
  op: Operation,
  input: TransitionInput,
): Promise<ActionRow> {
  const from = row.status as Status;
  checkTransition(op, from, input.comment);
  const to: Status = TRANSITIONS[op].to;
  const now = input.now.toISOString();

  const set: Partial<ActionRow> = {
    ...patchColumns(input.patch),
    status: to,
    updated_at: now,
    version: row.version + 1,
    open_key: OPEN_STATUSES.includes(to) ? row.open_key : null,
  };
  if (op === 'approve') {
    set.approved_by = input.actor;
    set.approved_at = now;
  }
  if (op === 'start') set.attempt = row.attempt + 1;
  if (op === 'returnToReview') {
    set.approved_by = null;
    set.approved_at = null;
  }
  if (input.openRollbackWindow) {
    const { rollbackWindowMinutes } = await getSettings(trx);
    set.completed_at = now;
    set.rollback_deadline = rollbackDeadline(input.now, rollbackWindowMinutes).toISOString();
  }
  const holdsWork = to === 'executing' || to === 'rolling_back';
  if (!holdsWork) {
    set.lease_owner = null;
    set.lease_expires_at = null;
  }
  // A queued request the new status can no longer satisfy (execute on a rejected action)
  // is dropped with the transition, or the engine would keep finding it.
  const pending = row.requested_op as RequestedOp | null;
  if (pending && !(REQUESTS[pending].from as readonly Status[]).includes(to)) {
    set.requested_op = null;
    set.requested_by = null;
    set.requested_at = null;
  }
  if (!holdsWork && !pending) set.request_data = null;
  const autoExecute =
    input.autoExecute &&
    !input.autoExecute.unlessTypes.includes(row.type) &&
    (await getSettings(trx)).autoExecute;
  const then = input.thenRequest ?? (autoExecute ? 'execute' : undefined);
  if (then) {
    set.request_data = null;
    set.requested_op = then;
    set.requested_by = input.actor;
    set.requested_at = now;
  }

  let update = trx
    .updateTable('actions')
    .set(set)
    .where('id', '=', row.id)
    .where('status', '=', from)
    .where('version', '=', row.version);
  if (input.leaseOwner) update = update.where('lease_owner', '=', input.leaseOwner);
  const result = await update.executeTakeFirst();
  if (Number(result.numUpdatedRows) !== 1) {
    throw conflict(
      `action ${row.id} changed while it was being moved from ${from} to ${to}; ` +
        'reload it and try again',
      { status: from, operation: op },
    );
  }

  await appendEvent(trx, {
    action_id: row.id,
    at: now,
    actor: input.actor,
    type: 'transition',
    from_status: from,
    to_status: to,
    comment: input.comment ?? null,
    data: dataText(input.data ?? (then ? { queued: then } : null)),
  });
  return { ...row, ...set } as ActionRow;
}

export async function lockedRow(trx: Db, id: string): Promise<ActionRow> {
  const row = await trx.selectFrom('actions').selectAll().where('id', '=', id).executeTakeFirst();
  if (!row) throw notFound(`no action with id "${id}"; list actions to find its id`);
  return row;
}

export async function transition(
  db: Kysely<Database>,
  id: string,
  op: Operation,
  input: TransitionInput,
) {
  const row = await db.transaction().execute(async (trx) => {
    return applyTransition(trx, await lockedRow(trx, id), op, input);
  });
  return toAction(row);
}

/** Queues a person's request; the version check makes concurrent requests one winner. */
export async function request(
  db: Kysely<Database>,
  id: string,
  op: RequestedOp,
  input: RequestInput,
) {
  const row = await db.transaction().execute(async (trx) => {
    const current = await lockedRow(trx, id);
    checkRequest(op, current.status as Status, current.requested_op as RequestedOp | null);
    const now = input.now.toISOString();
    const set = {
      requested_op: op,
      request_data: dataText(input.data ?? null),
      requested_by: input.actor,
      requested_at: now,
      updated_at: now,
      version: current.version + 1,
    };
    const result = await trx
      .updateTable('actions')
      .set(set)
      .where('id', '=', id)
      .where('status', '=', current.status)
      .where('version', '=', current.version)
      .where('requested_op', 'is', null)
      .executeTakeFirst();
    if (Number(result.numUpdatedRows) !== 1) {
      throw conflict(
        `action ${id} changed while ${op} was being requested; reload it and try again`,
      );
    }
    await appendEvent(trx, {
      action_id: id,
      at: now,
      actor: input.actor,
      type: 'request',
      from_status: current.status,
      to_status: null,
      comment: input.comment ?? null,
      data: dataText({ request: op, ...(input.data?.force ? { force: true } : {}) }),
    });
    return { ...current, ...set };
  });
  return toAction(row);
}
