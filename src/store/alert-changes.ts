import type { Kysely, Selectable, Transaction } from 'kysely';
import { conflict, notFound } from '../domain/errors.ts';
import { isUniqueViolation } from './actions.ts';
import { appendEvent } from './events.ts';
import { dataText } from './rows.ts';
import type { Database } from './schema.ts';

/** Who makes a change to the alert configuration, and when. */
export type Actor = { actor: string; now: Date };

/** Configuration changes are audited like token changes: an event of no action. */
export async function audit(
  trx: Transaction<Database>,
  comment: string,
  data: Record<string, unknown>,
  opts: Actor,
): Promise<void> {
  await appendEvent(trx, {
    action_id: null,
    at: opts.now.toISOString(),
    actor: opts.actor,
    type: 'alerts',
    from_status: null,
    to_status: null,
    comment,
    data: dataText(data),
  });
}

const nameTaken = (what: string, name: string) =>
  conflict(`an alert ${what} named "${name}" already exists; choose another name`, { name });

/**
 * Runs `work` in a transaction once `name` is known to be free; the unique index turns a
 * concurrent creation of the same name into the same conflict.
 */
export async function createNamed<T>(
  db: Kysely<Database>,
  table: 'alert_channels' | 'alert_rules',
  what: string,
  name: string,
  work: (trx: Transaction<Database>) => Promise<T>,
): Promise<T> {
  try {
    return await db.transaction().execute(async (trx) => {
      const same = await trx
        .selectFrom(table)
        .select('id')
        .where('name', '=', name)
        .executeTakeFirst();
      if (same) throw nameTaken(what, name);
      return work(trx);
    });
  } catch (error) {
    if (isUniqueViolation(error)) throw nameTaken(what, name);
    throw error;
  }
}

/** The row of `table` with this id, or a not-found error saying `missing`. */
export async function existing<T extends 'alert_channels' | 'alert_rules' | 'alert_deliveries'>(
  trx: Transaction<Database>,
  table: T,
  id: string,
  missing: string,
): Promise<Selectable<Database[T]>> {
  const row = await trx
    .selectFrom(table as 'alert_channels')
    .selectAll()
    .where('id', '=', id)
    .executeTakeFirst();
  if (!row) throw notFound(missing);
  return row as Selectable<Database[T]>;
}

/**
 * The channel a reference names: the one with that id, else the one with that name, or a
 * not-found error. Every route and command that names a channel takes the same references.
 */
export async function channelByRef(
  db: Kysely<Database> | Transaction<Database>,
  ref: string,
): Promise<Selectable<Database['alert_channels']>> {
  const rows = await db
    .selectFrom('alert_channels')
    .selectAll()
    .where((eb) => eb.or([eb('id', '=', ref), eb('name', '=', ref)]))
    .execute();
  const row = rows.find((r) => r.id === ref) ?? rows[0];
  if (!row) {
    throw notFound(`no alert channel "${ref}" (by id or name); list the channels`);
  }
  return row;
}
