import type { Insertable, Kysely, Selectable, Transaction } from 'kysely';
import { alertsFor } from './alerts.ts';
import { eventHash } from './audit-hash.ts';
import type { Database, EventRow } from './schema.ts';

/**
 * Appends one audit event. Every event the product records is written here, inside the
 * transaction of the change it describes, so whatever must accompany an event (its place
 * in the audit chain, the alerts it raises) is added in one place and commits with it.
 */
export async function appendEvent(
  trx: Transaction<Database>,
  event: NewEvent,
): Promise<Selectable<EventRow>> {
  // Events queued earlier in this transaction go first, so the chain keeps their order.
  await flush(trx);
  return chain(trx, event, await alertsFor(trx, event));
}

type Queued = { event: NewEvent; alerts: Awaited<ReturnType<typeof alertsFor>> };
const queues = new WeakMap<Transaction<Database>, Queued[]>();

/**
 * Runs `work` in one transaction whose events, recorded with `queueEvent`, join the audit
 * chain only once the work is done, right before the commit. Every writer of events waits
 * for the chain's head, which stays locked from an event's append to its transaction's
 * commit; taking it last keeps that wait to the chain's own statements and the commit.
 */
export async function withQueuedEvents<T>(
  db: Kysely<Database>,
  work: (trx: Transaction<Database>) => Promise<T>,
): Promise<T> {
  return db.transaction().execute(async (trx) => {
    queues.set(trx, []);
    const result = await work(trx);
    await flush(trx);
    queues.delete(trx);
    return result;
  });
}

/**
 * Records an event whose row the caller does not need: inside `withQueuedEvents` it is
 * chained at the end of the transaction, elsewhere at once.
 */
export async function queueEvent(trx: Transaction<Database>, event: NewEvent): Promise<void> {
  // The alert rules are read now, still before the head is taken.
  const alerts = await alertsFor(trx, event);
  const queue = queues.get(trx);
  if (queue) queue.push({ event, alerts });
  else await chain(trx, event, alerts);
}

async function flush(trx: Transaction<Database>) {
  const queue = queues.get(trx);
  if (!queue) return;
  for (const { event, alerts } of queue.splice(0)) await chain(trx, event, alerts);
}

async function chain(
  trx: Transaction<Database>,
  event: NewEvent,
  alerts: Queued['alerts'],
): Promise<Selectable<EventRow>> {
  // Taking the head locks its row (PostgreSQL) until this transaction ends, so appends
  // from any number of replicas take turns and each sees the previous hash. Every writer
  // waits for that lock, so nothing that can be done before it is done after it.
  const head = await trx
    .updateTable('audit_chain')
    .set((eb) => ({ seq: eb('seq', '+', 1) }))
    .where('id', '=', 1)
    .returning(['seq', 'hash'])
    .executeTakeFirstOrThrow();
  const fields = {
    action_id: event.action_id ?? null,
    at: event.at,
    actor: event.actor,
    type: event.type,
    from_status: event.from_status ?? null,
    to_status: event.to_status ?? null,
    comment: event.comment ?? null,
    data: event.data ?? null,
    seq: Number(head.seq),
    prev_hash: head.hash,
  };
  const hash = eventHash(fields);
  const row = await trx
    .insertInto('events')
    .values({ ...fields, hash })
    .returningAll()
    .executeTakeFirstOrThrow();
  await trx.updateTable('audit_chain').set({ hash }).where('id', '=', 1).execute();
  await alerts?.(row);
  return row;
}

/** An event as its writer describes it; the chain fields are added here. */
export type NewEvent = Omit<Insertable<EventRow>, 'seq' | 'prev_hash' | 'hash'>;
