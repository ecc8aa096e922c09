import type { Kysely } from 'kysely';
import type { Action, RequestedOp } from '../domain/action.ts';
import { AppError } from '../domain/errors.ts';
import { CLAIMS, REQUESTS } from '../domain/lifecycle.ts';
import { appendEvent } from './events.ts';
import { dataText, toAction } from './rows.ts';
import type { Database } from './schema.ts';
import { applyTransition, lockedRow } from './transition.ts';

const leaseUntil = (now: Date, leaseMs: number) => new Date(now.getTime() + leaseMs).toISOString();

export async function unplanned(db: Kysely<Database>, limit: number): Promise<Action[]> {
  const rows = await db
    .selectFrom('actions')
    .selectAll()
    .where('planned_at', 'is', null)
    .where('status', 'in', ['suggested', 'pending_approval', 'approved'])
    .orderBy('created_at')
    .limit(limit)
    .execute();
  return rows.map(toAction);
}

/**
 * Takes requested work for one engine. Each candidate is moved with the lifecycle's
 * claim transition, which only one engine can win; losers skip it quietly.
 */
export async function claim(
  db: Kysely<Database>,
  owner: string,
  opts: { now: Date; leaseMs: number; limit: number },
): Promise<Action[]> {
  const candidates = await db
    .selectFrom('actions')
    .select(['id', 'requested_op'])
    .where('requested_op', 'is not', null)
    .orderBy('requested_at')
    .limit(opts.limit)
    .execute();

  const claimed: Action[] = [];
  for (const candidate of candidates) {
    const op = candidate.requested_op as RequestedOp;
    try {
      const row = await db.transaction().execute(async (trx) => {
        const current = await lockedRow(trx, candidate.id);
        if (current.requested_op !== op) return undefined;
        if (!(REQUESTS[op].from as readonly string[]).includes(current.status)) return undefined;
        return applyTransition(trx, current, CLAIMS[op], {
          actor: 'system',
          now: opts.now,
          data: { request: op, requestedBy: current.requested_by, engine: owner },
        }).then(async (moved) => {
          const lease = {
            lease_owner: owner,
            lease_expires_at: leaseUntil(opts.now, opts.leaseMs),
            requested_op: null,
            requested_by: null,
            requested_at: null,
          };
          await trx.updateTable('actions').set(lease).where('id', '=', moved.id).execute();
          return { ...moved, ...lease };
        });
      });
      if (row) claimed.push(toAction(row));
    } catch (error) {
      if (!(error instanceof AppError && error.code === 'conflict')) throw error;
    }
  }
  return claimed;
}

/** Running work whose engine stopped renewing its lease. */
export async function stranded(db: Kysely<Database>, now: Date): Promise<Action[]> {
  const rows = await db
    .selectFrom('actions')
    .selectAll()
    .where('status', 'in', ['executing', 'rolling_back'])
    .where((eb) =>
      eb.or([eb('lease_expires_at', 'is', null), eb('lease_expires_at', '<', now.toISOString())]),
    )
    .execute();
  return rows.map(toAction);
}

export async function takeOver(
  db: Kysely<Database>,
  id: string,
  version: number,
  owner: string,
  now: Date,
  leaseMs: number,
): Promise<boolean> {
  return db.transaction().execute(async (trx) => {
    const result = await trx
      .updateTable('actions')
      .set({ lease_owner: owner, lease_expires_at: leaseUntil(now, leaseMs), version: version + 1 })
      .where('id', '=', id)
      .where('version', '=', version)
      .where('status', 'in', ['executing', 'rolling_back'])
      .executeTakeFirst();
    if (Number(result.numUpdatedRows) !== 1) return false;
    await appendEvent(trx, {
      action_id: id,
      at: now.toISOString(),
      actor: 'system',
      type: 'note',
      from_status: null,
      to_status: null,
      comment: 'the engine running this action stopped; settling it from the live state',
      data: dataText({ engine: owner }),
    });
    return true;
  });
}

/** Extends a running action's lease; false when the lease was lost to another engine. */
export async function renewLease(
  db: Kysely<Database>,
  id: string,
  owner: string,
  now: Date,
  leaseMs: number,
): Promise<boolean> {
  const result = await db
    .updateTable('actions')
    .set({ lease_expires_at: leaseUntil(now, leaseMs) })
    .where('id', '=', id)
    .where('lease_owner', '=', owner)
    .where('status', 'in', ['executing', 'rolling_back'])
    .executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}
