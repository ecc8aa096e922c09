import type { Insertable, Selectable, Transaction } from 'kysely';
import type { Database, EventRow } from './schema.ts';

/**
 * Appends one audit event. Every event the product records is written here, inside the
 * transaction of the change it describes, so whatever must accompany an event (its place
 * in the audit chain, the alerts it raises) is added in one place and commits with it.
 */
export async function appendEvent(
  trx: Transaction<Database>,
  event: Insertable<EventRow>,
): Promise<Selectable<EventRow>> {
  return trx.insertInto('events').values(event).returningAll().executeTakeFirstOrThrow();
}
