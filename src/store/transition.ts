import type { Kysely, Transaction } from 'kysely';
import type { Plan, RequestedOp } from '../domain/action.ts';
import { AppError, conflict, notFound } from '../domain/errors.ts';
import {
  checkApprovable,
  checkRequest,
  checkTransition,
  type Operation,
  REQUESTS,
  TRANSITIONS,
} from '../domain/lifecycle.ts';
import { rollbackDeadline } from '../domain/settings.ts';
import { OPEN_STATUSES, type Status } from '../domain/status.ts';
import { appendEvent, queueEvent, withQueuedEvents } from './events.ts';
import { reopenUnfixedFindings, resolveFixedFindings } from './finding-changes.ts';
import { personOf } from './persons.ts';
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

  const set = statusColumns(row, to, input, now);
  let selfApproval = false;
  if (op === 'approve') {
    // Checked on the row this conditional update names, so a plan written meanwhile
    // makes the approval lose the race rather than slip past the check.
    checkApprovable(row.id, JSON.parse(row.plan) as Pick<Plan, 'error'>);
    selfApproval = await checkFourEyes(trx, row, input.actor);
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

  await queueEvent(trx, {
    ...transitionEvent(row.id, from, to, input, now),
    data: dataText(eventData(input.data ?? (then ? { queued: then } : null), selfApproval)),
  });
  // The findings follow the fix in the same transaction, so the open count never shows a
  // problem the cloud no longer has, nor hides one a rollback brought back.
  if (op === 'complete') await resolveFixedFindings(trx, row.id, input);
  if (op === 'finishRollback') await reopenUnfixedFindings(trx, row.id, input);
  return { ...row, ...set } as ActionRow;
}

/**
 * Submits for approval actions created earlier in the same transaction, in one statement
 * for all of them: the change `applyTransition` makes for `submit`, on rows that nothing
 * has leased, requested or patched yet, with an event for each.
 */
export async function submitCreated(
  trx: Transaction<Database>,
  rows: ActionRow[],
  input: TransitionInput,
): Promise<ActionRow[]> {
  if (rows.length === 0) return [];
  const to = TRANSITIONS.submit.to;
  const now = input.now.toISOString();
  for (const row of rows) {
    checkTransition('submit', row.status as Status, input.comment);
    if (row.version !== 1 || row.requested_op !== null || row.lease_owner !== null) {
      throw new Error(`submitCreated: action ${row.id} is not newly created`);
    }
  }
  // The one column that differs between the rows: an open status keeps each row's own key.
  const { open_key: openKey, ...set } = statusColumns(rows[0]!, to, input, now);
  if (openKey === null) Object.assign(set, { open_key: null });
  for (let i = 0; i < rows.length; i += ROWS_PER_UPDATE) {
    const ids = rows.slice(i, i + ROWS_PER_UPDATE).map((row) => row.id);
    const result = await trx
      .updateTable('actions')
      .set(set)
      .where('id', 'in', ids)
      .where('status', '=', 'suggested')
      .where('version', '=', 1)
      .executeTakeFirst();
    if (Number(result.numUpdatedRows) !== ids.length) {
      throw conflict('new actions changed while they were being submitted; try again');
    }
  }
  for (const row of rows) {
    await queueEvent(trx, {
      ...transitionEvent(row.id, row.status as Status, to, input, now),
      data: dataText(input.data ?? null),
    });
  }
  return rows.map((row) => ({ ...row, ...set }) as ActionRow);
}

const ROWS_PER_UPDATE = 500;

/** The columns every transition to `to` sets, whatever the operation. */
function statusColumns(
  row: ActionRow,
  to: Status,
  input: TransitionInput,
  now: string,
): Partial<ActionRow> {
  const set: Partial<ActionRow> = {
    ...patchColumns(input.patch),
    status: to,
    updated_at: now,
    version: row.version + 1,
    open_key: OPEN_STATUSES.includes(to) ? row.open_key : null,
  };
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
  return set;
}

function transitionEvent(
  actionId: string,
  from: Status,
  to: Status,
  input: TransitionInput,
  now: string,
) {
  return {
    action_id: actionId,
    at: now,
    actor: input.actor,
    type: 'transition',
    from_status: from,
    to_status: to,
    comment: input.comment ?? null,
  };
}

/**
 * Four-eyes: the person who asked for a change (created the action by suggesting,
 * importing or remediating) may not also approve it, unless the setting relaxes the rule.
 * People, not actor names, are compared: a token acts for the person who created it (see
 * persons.ts), so a second token of one admin is still that admin. Read in the approval's
 * own transaction, so a concurrent settings change cannot slip between check and write.
 * Returns whether this approval is a permitted self-approval.
 */
async function checkFourEyes(
  trx: Transaction<Database>,
  row: ActionRow,
  actor: string,
): Promise<boolean> {
  const creator = row.created_by_person ?? (await personOf(trx, row.created_by));
  const approver = await personOf(trx, actor);
  if (creator !== approver) return false;
  if ((await getSettings(trx)).allowSelfApproval) return true;
  const who = row.created_by === creator ? creator : `${row.created_by} (for ${creator})`;
  const as = actor === approver ? actor : `${actor}, acting for ${approver},`;
  throw new AppError(
    'forbidden',
    `${who} created action ${row.id}, so ${as} may not approve it (four-eyes): a person ` +
      'is the same whichever token or session they use. Another admin must approve it, or, ' +
      'on a single-admin install, an admin may turn on remediation.allowSelfApproval',
    { rule: 'four_eyes', createdBy: row.created_by, person: creator },
  );
}

function eventData(
  data: Record<string, unknown> | null,
  selfApproval: boolean,
): Record<string, unknown> | null {
  return selfApproval ? { ...data, selfApproval: true } : data;
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
  const row = await withQueuedEvents(db, async (trx) => {
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
    // The service checked the window by its clock; the final step another replica ran in
    // the meantime is only visible here, and after it there is nothing left to restore.
    if (op === 'rollback' && current.finalized_at) {
      throw conflict(
        `the rollback window of action ${id} closed and its final step ran at ` +
          `${current.finalized_at}; the change can only be undone by hand`,
        { finalizedAt: current.finalized_at },
      );
    }
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
