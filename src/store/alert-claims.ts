import type { Kysely, ExpressionBuilder } from 'kysely';
import type {
  AlertEvent,
  AlertFacts,
  ClaimedDelivery,
  DeliveryInfo,
  DeliveryStatus,
} from '../alerts/model.ts';
import type { Severity } from '../domain/status.ts';
import { openChannel } from './alert-channels.ts';
import { toDelivery } from './alert-deliveries.ts';
import type { AlertDeliveryRow } from './alert-rows.ts';
import { toResourceRef } from './rows.ts';
import type { Database } from './schema.ts';

/** The outcome of one send, as the dispatcher records it. */
export interface AttemptRecord {
  now: Date;
  durationMs: number;
  ok: boolean;
  statusCode: number | null;
  error: string | null;
  /**
   * What the delivery becomes after a failed send: `pending` (the next try of this round),
   * `failed` (its round is over; the next round starts at `retryAt`), `expired` (too old to
   * try again) or `cancelled` (its channel is gone). A success is always `delivered`.
   */
  next: 'pending' | 'failed' | 'expired' | 'cancelled';
  /** When to try again; required for `pending` and `failed`. */
  retryAt: Date | null;
}

/** Due work: a new or retried delivery, a failed one whose next round has come, or a lease
 * whose dispatcher died. */
const due = (now: string) => (eb: ExpressionBuilder<Database, 'alert_deliveries'>) =>
  eb.or([
    eb.and([eb('status', 'in', ['pending', 'failed']), eb('next_attempt_at', '<=', now)]),
    eb.and([eb('status', '=', 'sending'), eb('lease_expires_at', '<', now)]),
  ]);

/** Not delivered and not given up: a delivery in this state holds back the later events of
 * its channel, so that each channel hears its alerts in event order. */
const UNDELIVERED = ['pending', 'sending', 'failed'];

/** Each channel's first undelivered event: the only delivery of the channel that may go. */
const firstUndelivered = (db: Kysely<Database>) =>
  db
    .selectFrom('alert_deliveries')
    .select(['channel_id', (eb) => eb.fn.min('event_id').as('first')])
    .where('status', 'in', UNDELIVERED)
    .groupBy('channel_id');

/** An earlier event of the same channel is still undelivered. */
const heldBack = (eb: ExpressionBuilder<Database, 'alert_deliveries'>) =>
  eb.exists(
    eb
      .selectFrom('alert_deliveries as earlier')
      .select('earlier.id')
      .whereRef('earlier.channel_id', '=', 'alert_deliveries.channel_id')
      .whereRef('earlier.event_id', '<', 'alert_deliveries.event_id')
      .where('earlier.status', 'in', UNDELIVERED),
  );

/** Checked again by the conditional update, so a concurrent dispatcher cannot skip ahead. */
const first = (eb: ExpressionBuilder<Database, 'alert_deliveries'>) => eb.not(heldBack(eb));

/**
 * A channel whose first undelivered alert waits for its next round holds back every alert
 * raised since. A new alert therefore starts that round at once, once: if the receiver is
 * back, the backlog and then the new alert go out in order without waiting for the round.
 * An alert counts as new when it was raised after the waiting one's last try.
 */
async function startRoundsForNewAlerts(db: Kysely<Database>, now: string): Promise<void> {
  const waiting = await db
    .selectFrom('alert_deliveries as head')
    .innerJoin(firstUndelivered(db).as('f'), (join) =>
      join.onRef('f.channel_id', '=', 'head.channel_id').onRef('f.first', '=', 'head.event_id'),
    )
    .select(['head.id', 'head.channel_id'])
    .where('head.status', '=', 'failed')
    .where('head.next_attempt_at', '>', now)
    .execute();
  for (const head of waiting) {
    const tried = await db
      .selectFrom('alert_attempts')
      .select((eb) => eb.fn.max('at').as('at'))
      .where('delivery_id', '=', head.id)
      .executeTakeFirst();
    const since = tried?.at ?? '';
    const fresh = await db
      .selectFrom('alert_deliveries')
      .select('id')
      .where('channel_id', '=', head.channel_id)
      .where('status', '=', 'pending')
      .where('attempts', '=', 0)
      .where('created_at', '>', since)
      .limit(1)
      .executeTakeFirst();
    if (!fresh) continue;
    await db
      .updateTable('alert_deliveries')
      .set({ next_attempt_at: now })
      .where('id', '=', head.id)
      .where('status', '=', 'failed')
      .where('next_attempt_at', '>', now)
      .execute();
  }
}

/**
 * Expires deliveries never tried, raised before `before`, and still held back behind an
 * earlier undelivered alert of their channel: they would otherwise each wait for a round
 * of their own to expire. The first of a channel always gets its round, and a delivery
 * ever tried (a manual retry included) expires only by its rounds. Each by a conditional
 * update, so of several dispatchers one reports it.
 */
export async function expireUntried(
  db: Kysely<Database>,
  opts: { now: Date; before: Date; limit: number },
): Promise<DeliveryInfo[]> {
  const now = opts.now.toISOString();
  const rows = await db
    .selectFrom('alert_deliveries')
    .selectAll()
    .where('status', '=', 'pending')
    .where('attempts', '=', 0)
    .where('created_at', '<', opts.before.toISOString())
    .where(heldBack)
    .where((eb) =>
      eb.not(
        eb.exists(
          eb
            .selectFrom('alert_attempts')
            .select('alert_attempts.delivery_id')
            .whereRef('alert_attempts.delivery_id', '=', 'alert_deliveries.id'),
        ),
      ),
    )
    .orderBy('event_id')
    .limit(opts.limit)
    .execute();
  const expired: DeliveryInfo[] = [];
  for (const row of rows) {
    const lastError = 'never sent: held back behind an earlier undelivered alert of its channel';
    const done = await db
      .updateTable('alert_deliveries')
      .set({ status: 'expired', next_attempt_at: now, last_error: lastError })
      .where('id', '=', row.id)
      .where('status', '=', 'pending')
      .where('attempts', '=', 0)
      .executeTakeFirst();
    if (Number(done.numUpdatedRows) === 1) {
      expired.push(toDelivery({ ...row, status: 'expired', last_error: lastError }));
    }
  }
  return expired;
}

export async function claimDeliveries(
  db: Kysely<Database>,
  secretKey: Buffer,
  owner: string,
  opts: { now: Date; leaseMs: number; limit: number },
): Promise<ClaimedDelivery[]> {
  const now = opts.now.toISOString();
  const leaseUntil = new Date(opts.now.getTime() + opts.leaseMs).toISOString();
  await startRoundsForNewAlerts(db, now);
  // At most one delivery per channel, its first undelivered one: the next is claimed only
  // once this one is delivered or given up.
  const candidates = await db
    .selectFrom('alert_deliveries')
    .innerJoin(firstUndelivered(db).as('f'), (join) =>
      join
        .onRef('f.channel_id', '=', 'alert_deliveries.channel_id')
        .onRef('f.first', '=', 'alert_deliveries.event_id'),
    )
    .select(['alert_deliveries.id', 'alert_deliveries.status', 'alert_deliveries.attempts'])
    .where(due(now))
    .orderBy('alert_deliveries.next_attempt_at')
    .orderBy('alert_deliveries.event_id')
    .limit(opts.limit)
    .execute();

  const claimed: ClaimedDelivery[] = [];
  for (const candidate of candidates) {
    const won = await db
      .updateTable('alert_deliveries')
      .set({
        status: 'sending',
        lease_owner: owner,
        lease_expires_at: leaseUntil,
        // A failed delivery starts a new round of tries.
        ...(candidate.status === 'failed' ? { attempts: 0 } : {}),
      })
      .where('id', '=', candidate.id)
      .where('status', '=', candidate.status)
      .where('attempts', '=', candidate.attempts)
      .where(due(now))
      .where(first)
      .executeTakeFirst();
    if (Number(won.numUpdatedRows) !== 1) continue;
    const row = await db
      .selectFrom('alert_deliveries')
      .selectAll()
      .where('id', '=', candidate.id)
      .executeTakeFirstOrThrow();
    claimed.push(await withFacts(db, secretKey, row));
  }
  return claimed;
}

async function withFacts(
  db: Kysely<Database>,
  secretKey: Buffer,
  row: AlertDeliveryRow,
): Promise<ClaimedDelivery> {
  const event = await db
    .selectFrom('events')
    .selectAll()
    .where('id', '=', row.event_id)
    .executeTakeFirstOrThrow();
  const findingId = row.event === 'drift_detected' ? findingIdOf(event.data) : undefined;
  const [channel, action, finding, tries] = await Promise.all([
    db.selectFrom('alert_channels').selectAll().where('id', '=', row.channel_id).executeTakeFirst(),
    row.action_id
      ? db.selectFrom('actions').selectAll().where('id', '=', row.action_id).executeTakeFirst()
      : Promise.resolve(undefined),
    findingId
      ? db.selectFrom('findings').selectAll().where('id', '=', findingId).executeTakeFirst()
      : Promise.resolve(undefined),
    db
      .selectFrom('alert_attempts')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('delivery_id', '=', row.id)
      .executeTakeFirst(),
  ]);
  const facts: AlertFacts = {
    event: row.event as AlertEvent,
    severity: row.severity as Severity,
    eventId: Number(event.id),
    at: event.at,
    actor: event.actor,
    comment: event.comment,
    fromStatus: event.from_status,
    toStatus: event.to_status,
    action: action
      ? {
          id: action.id,
          title: action.title,
          type: action.type,
          status: action.status,
          resource: toResourceRef(action),
          rollbackDeadline: action.rollback_deadline,
        }
      : null,
    finding: finding
      ? {
          id: finding.id,
          title: finding.title,
          origin: finding.origin,
          checkId: finding.check_id,
          driftType: finding.drift_type,
          resource: {
            type: finding.resource_type,
            id: finding.resource_id,
            name: finding.resource_name,
            region: finding.resource_region,
          },
        }
      : null,
  };
  const opened = channel ? openChannel(channel, secretKey) : undefined;
  return {
    delivery: toDelivery(row),
    channel: opened?.channel ?? null,
    unreadable: opened?.unreadable ?? null,
    tries: Number(tries?.n ?? 0),
    facts,
  };
}

/** The finding a drift event names in its data. */
function findingIdOf(data: string | null): string | undefined {
  const parsed = data ? (JSON.parse(data) as { findingId?: unknown }) : undefined;
  return typeof parsed?.findingId === 'string' ? parsed.findingId : undefined;
}

export async function recordAttempt(
  db: Kysely<Database>,
  id: string,
  owner: string,
  attempt: AttemptRecord,
) {
  return db.transaction().execute(async (trx) => {
    const row = await trx
      .selectFrom('alert_deliveries')
      .selectAll()
      .where('id', '=', id)
      .executeTakeFirst();
    if (!row || row.status !== 'sending' || row.lease_owner !== owner) return undefined;
    const now = attempt.now.toISOString();
    const number = row.attempts + 1;
    const status: DeliveryStatus = attempt.ok ? 'delivered' : attempt.next;
    const again = status === 'pending' || status === 'failed';
    if (again && !attempt.retryAt) throw new Error(`a ${status} delivery needs retryAt`);
    const result = await trx
      .updateTable('alert_deliveries')
      .set({
        status,
        attempts: number,
        next_attempt_at: again ? attempt.retryAt!.toISOString() : now,
        lease_owner: null,
        lease_expires_at: null,
        delivered_at: attempt.ok ? now : null,
        last_error: attempt.ok ? null : attempt.error,
      })
      .where('id', '=', id)
      .where('status', '=', 'sending')
      .where('lease_owner', '=', owner)
      .where('attempts', '=', row.attempts)
      .executeTakeFirst();
    if (Number(result.numUpdatedRows) !== 1) return undefined;
    // Attempt numbers go on across a manual retry, which restarts the count of tries.
    const last = await trx
      .selectFrom('alert_attempts')
      .select((eb) => eb.fn.max('attempt').as('n'))
      .where('delivery_id', '=', id)
      .executeTakeFirst();
    await trx
      .insertInto('alert_attempts')
      .values({
        delivery_id: id,
        attempt: Number(last?.n ?? 0) + 1,
        at: now,
        duration_ms: Math.round(attempt.durationMs),
        ok: attempt.ok ? 1 : 0,
        status_code: attempt.statusCode,
        error: attempt.error,
      })
      .execute();
    if (attempt.ok) {
      // The receiver is back: what waits for a retry or its next round goes now, oldest
      // event first.
      await trx
        .updateTable('alert_deliveries')
        .set({ next_attempt_at: now })
        .where('channel_id', '=', row.channel_id)
        .where('status', 'in', ['pending', 'failed'])
        .where('next_attempt_at', '>', now)
        .execute();
    }
    let health = trx.updateTable('alert_channels').where('id', '=', row.channel_id);
    health = attempt.ok
      ? health.set({ last_success_at: now, consecutive_failures: 0 })
      : health.set((eb) => ({
          last_failure_at: now,
          last_error: attempt.error,
          consecutive_failures: eb('consecutive_failures', '+', 1),
        }));
    await health.execute();
    const channel = await trx
      .selectFrom('alert_channels')
      .select('consecutive_failures')
      .where('id', '=', row.channel_id)
      .executeTakeFirst();
    return { status, consecutiveFailures: channel?.consecutive_failures ?? 0 };
  });
}
