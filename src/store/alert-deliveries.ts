import type { Kysely } from 'kysely';
import type { AlertEvent, AttemptInfo, DeliveryInfo, DeliveryStatus } from '../alerts/model.ts';
import { conflict } from '../domain/errors.ts';
import type { Severity } from '../domain/status.ts';
import { audit, channelByRef, existing, type Actor } from './alert-changes.ts';
import type { AlertDeliveryRow } from './alert-rows.ts';
import type { Database } from './schema.ts';

export interface DeliveryQuery {
  status?: DeliveryStatus[];
  /** A channel id or name; one that names no channel is a not-found error. */
  channel?: string;
  /** 1 to 500; newest first. */
  limit?: number;
}

export function toDelivery(row: AlertDeliveryRow): DeliveryInfo {
  const waiting = row.status === 'pending' || row.status === 'failed';
  return {
    id: row.id,
    eventId: Number(row.event_id),
    event: row.event as AlertEvent,
    severity: row.severity as Severity,
    actionId: row.action_id,
    channel: { id: row.channel_id, name: row.channel_name },
    ruleId: row.rule_id,
    status: row.status as DeliveryStatus,
    attempts: row.attempts,
    nextAttemptAt: waiting ? row.next_attempt_at : null,
    createdAt: row.created_at,
    deliveredAt: row.delivered_at,
    lastError: row.last_error,
  };
}

export async function listDeliveries(db: Kysely<Database>, query: DeliveryQuery) {
  let select = db.selectFrom('alert_deliveries').selectAll();
  if (query.status?.length) select = select.where('status', 'in', query.status);
  if (query.channel !== undefined) {
    const channel = await channelByRef(db, query.channel);
    select = select.where('channel_id', '=', channel.id);
  }
  const rows = await select
    .orderBy('created_at', 'desc')
    .orderBy('id', 'desc')
    .limit(query.limit ?? 50)
    .execute();
  return rows.map(toDelivery);
}

export async function getDelivery(db: Kysely<Database>, id: string) {
  const row = await db
    .selectFrom('alert_deliveries')
    .selectAll()
    .where('id', '=', id)
    .executeTakeFirst();
  if (!row) return undefined;
  const attempts = await db
    .selectFrom('alert_attempts')
    .selectAll()
    .where('delivery_id', '=', id)
    .orderBy('attempt')
    .execute();
  return {
    ...toDelivery(row),
    attemptLog: attempts.map((a): AttemptInfo => ({
      attempt: a.attempt,
      at: a.at,
      durationMs: a.duration_ms,
      ok: Boolean(a.ok),
      statusCode: a.status_code,
      error: a.error,
    })),
  };
}

export async function retryDelivery(db: Kysely<Database>, id: string, opts: Actor) {
  return db.transaction().execute(async (trx) => {
    const row = await existing(
      trx,
      'alert_deliveries',
      id,
      `no alert delivery with id "${id}"; list the deliveries`,
    );
    if (!RETRYABLE.includes(row.status)) {
      throw conflict(
        `alert delivery ${id} is ${row.status}; only a failed or expired one can be retried`,
        { status: row.status },
      );
    }
    const set = requeued(opts.now);
    const result = await trx
      .updateTable('alert_deliveries')
      .set(set)
      .where('id', '=', id)
      .where('status', '=', row.status)
      .executeTakeFirst();
    if (Number(result.numUpdatedRows) !== 1) {
      throw conflict(`alert delivery ${id} changed meanwhile; reload it and try again`);
    }
    await audit(trx, 'alert delivery retried', { deliveryId: id, channelId: row.channel_id }, opts);
    return toDelivery({ ...row, ...set });
  });
}

const RETRYABLE = ['failed', 'expired'];

/** A delivery an admin retries: due now, in a fresh round. */
const requeued = (now: Date) => ({
  status: 'pending',
  attempts: 0,
  next_attempt_at: now.toISOString(),
  lease_owner: null,
  lease_expires_at: null,
});

export async function retryChannel(db: Kysely<Database>, wanted: string, opts: Actor) {
  return db.transaction().execute(async (trx) => {
    const { id, name } = await channelByRef(trx, wanted);
    const channel = { id, name };
    // One time for all of them: the dispatcher then takes them in event order.
    const result = await trx
      .updateTable('alert_deliveries')
      .set(requeued(opts.now))
      .where('channel_id', '=', channel.id)
      .where('status', '=', 'failed')
      .executeTakeFirst();
    const queued = Number(result.numUpdatedRows);
    await audit(
      trx,
      'alert deliveries of a channel retried',
      { channelId: channel.id, name: channel.name, queued },
      opts,
    );
    return { channel, queued };
  });
}
