import type { Kysely } from 'kysely';

/**
 * Only findings a completed fix resolved have `resolved_by_action`; the rest, nearly all of
 * them, kept an entry each in its index, which every imported finding paid for. A partial
 * index holds just the rows a rollback looks up, and both engines use it for that
 * equality lookup.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.dropIndex('findings_resolved_by_action').execute();
  await db.schema
    .createIndex('findings_resolved_by_action')
    .on('findings')
    .column('resolved_by_action')
    .where('resolved_by_action', 'is not', null)
    .execute();
}
