import { type Kysely, sql } from 'kysely';
import type { Action, RequestedOp } from '../domain/action.ts';
import { AppError } from '../domain/errors.ts';
import { CLAIMS, REQUESTS } from '../domain/lifecycle.ts';
import { appendEvent, withQueuedEvents } from './events.ts';
import { heldByWindows, notHeld } from './maintenance.ts';
import { dataText, toAction } from './rows.ts';
import type { Database } from './schema.ts';
import { applyTransition } from './transition.ts';

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

/** Limits on how many executions may start per rolling hour; 0 or absent means none. */
export interface ExecutionLimits {
  maxExecutionsPerHour?: number;
  maxExecutionsPerHourPerAccount?: number;
}

const HOUR_MS = 3_600_000;
// Serializes claims across replicas while an hourly limit is on, so the count and the
// claims it allows are one decision; without a limit, SKIP LOCKED needs no such lock.
const BUDGET_LOCK = 7_310_201;

/**
 * Takes requested work for one engine, in one transaction. On PostgreSQL the candidates
 * are locked with `FOR UPDATE SKIP LOCKED`, so concurrent replicas take disjoint rows
 * instead of queueing on the same ones; on both engines each row moves with the
 * lifecycle's claim transition, a conditional update only one engine can win. Execute
 * requests past an hourly limit stay queued; rollbacks are never held back.
 */
export async function claim(
  db: Kysely<Database>,
  engine: 'sqlite' | 'postgres',
  owner: string,
  opts: { now: Date; leaseMs: number; limit: number } & ExecutionLimits,
): Promise<Action[]> {
  const maxTotal = opts.maxExecutionsPerHour ?? 0;
  const maxPerAccount = opts.maxExecutionsPerHourPerAccount ?? 0;
  const limited = maxTotal > 0 || maxPerAccount > 0;
  return withQueuedEvents(db, async (trx) => {
    let total = 0;
    const perAccount = new Map<string, number>();
    if (limited) {
      if (engine === 'postgres') {
        await sql`select pg_advisory_xact_lock(${BUDGET_LOCK})`.execute(trx);
      }
      const since = new Date(opts.now.getTime() - HOUR_MS).toISOString();
      const started = await trx
        .selectFrom('events')
        .innerJoin('actions', 'actions.id', 'events.action_id')
        .select(['actions.resource_account as account', (eb) => eb.fn.countAll().as('n')])
        .where('events.to_status', '=', 'executing')
        .where('events.at', '>=', since)
        .groupBy('actions.resource_account')
        .execute();
      for (const row of started) {
        perAccount.set(row.account, Number(row.n));
        total += Number(row.n);
      }
    }
    const full = [...perAccount].filter(([, n]) => maxPerAccount > 0 && n >= maxPerAccount);
    let query = trx
      .selectFrom('actions')
      .selectAll()
      .where('requested_op', 'is not', null)
      .orderBy('requested_at')
      .limit(opts.limit);
    if (maxTotal > 0 && total >= maxTotal) {
      query = query.where('requested_op', '=', 'rollback');
    } else if (full.length > 0) {
      const accounts = full.map(([account]) => account);
      query = query.where((eb) =>
        eb.or([eb('requested_op', '=', 'rollback'), eb('resource_account', 'not in', accounts)]),
      );
    }
    // Executions held by a closed maintenance window stay queued, and are not even
    // candidates, so they never crowd out work that may run.
    const held = await heldByWindows(trx, opts.now);
    if (held) query = query.where(notHeld(held));
    if (engine === 'postgres') query = query.forUpdate().skipLocked();
    const candidates = await query.execute();

    const claimed: Action[] = [];
    for (const current of candidates) {
      const op = current.requested_op as RequestedOp;
      if (!(REQUESTS[op].from as readonly string[]).includes(current.status)) continue;
      if (op === 'execute' && limited) {
        const ofAccount = perAccount.get(current.resource_account) ?? 0;
        if (maxTotal > 0 && total >= maxTotal) continue;
        if (maxPerAccount > 0 && ofAccount >= maxPerAccount) continue;
        total += 1;
        perAccount.set(current.resource_account, ofAccount + 1);
      }
      try {
        const moved = await applyTransition(trx, current, CLAIMS[op], {
          actor: 'system',
          now: opts.now,
          data: { request: op, requestedBy: current.requested_by, engine: owner },
        });
        const lease = {
          lease_owner: owner,
          lease_expires_at: leaseUntil(opts.now, opts.leaseMs),
          requested_op: null,
          requested_by: null,
          requested_at: null,
        };
        await trx.updateTable('actions').set(lease).where('id', '=', moved.id).execute();
        claimed.push(toAction({ ...moved, ...lease }));
      } catch (error) {
        // The lifecycle refused before writing anything, so the transaction stays usable.
        if (!(error instanceof AppError && error.code === 'conflict')) throw error;
      }
    }
    return claimed;
  });
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
