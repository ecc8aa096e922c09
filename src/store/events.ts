import type { Insertable, Kysely, Selectable, Transaction } from 'kysely';
import { alertsFor } from './alert-outbox.ts';
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
  const [row] = await chain(trx, [{ event, alerts: await alertsFor(trx, event) }]);
  return row!;
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
  else await chain(trx, [{ event, alerts }]);
}

async function flush(trx: Transaction<Database>) {
  const queue = queues.get(trx);
  if (queue?.length) await chain(trx, queue.splice(0));
}

/** Events in one insert; eleven columns each, far under either engine's parameter limit. */
const EVENTS_PER_STATEMENT = 1000;

/**
 * Appends events to the chain in the order given: one turn at the head for all of them,
 * however many a transaction queued, so an import that creates a thousand actions takes
 * the head once per batch rather than once per event.
 */
async function chain(
  trx: Transaction<Database>,
  queued: Queued[],
): Promise<Selectable<EventRow>[]> {
  // Taking the head locks its row (PostgreSQL) until this transaction ends, so appends
  // from any number of replicas take turns and each sees the previous hash. Every writer
  // waits for that lock, so nothing that can be done before it is done after it.
  const head = await trx
    .updateTable('audit_chain')
    .set((eb) => ({ seq: eb('seq', '+', queued.length) }))
    .where('id', '=', 1)
    .returning(['seq', 'hash'])
    .executeTakeFirstOrThrow();
  let seq = Number(head.seq) - queued.length;
  let hash = head.hash;
  const rows = queued.map(({ event }) => {
    seq += 1;
    const fields = {
      action_id: event.action_id ?? null,
      at: event.at,
      actor: event.actor,
      type: event.type,
      from_status: event.from_status ?? null,
      to_status: event.to_status ?? null,
      comment: event.comment ?? null,
      data: event.data ?? null,
      seq,
      prev_hash: hash,
    };
    hash = eventHash(fields);
    return { ...fields, hash };
  });
  const stored = new Map<number, Selectable<EventRow>>();
  for (let i = 0; i < rows.length; i += EVENTS_PER_STATEMENT) {
    const inserted = await trx
      .insertInto('events')
      .values(rows.slice(i, i + EVENTS_PER_STATEMENT))
      .returningAll()
      .execute();
    // RETURNING gives no order on SQLite: each row is found again by its place in the chain.
    for (const row of inserted) stored.set(Number(row.seq), row);
  }
  await trx.updateTable('audit_chain').set({ hash }).where('id', '=', 1).execute();
  const ordered = rows.map((row) => stored.get(row.seq)!);
  for (const [i, row] of ordered.entries()) await queued[i]!.alerts?.(row);
  return ordered;
}

/** An event as its writer describes it; the chain fields are added here. */
export type NewEvent = Omit<Insertable<EventRow>, 'seq' | 'prev_hash' | 'hash'>;
