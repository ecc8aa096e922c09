import type { Kysely } from 'kysely';

/**
 * Why a finding was resolved, and the action whose completed fix resolved it: a rollback of
 * that action reopens exactly the findings it resolved, and nothing a scanner resolved.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('findings').addColumn('resolution', 'text').execute();
  await db.schema.alterTable('findings').addColumn('resolved_by_action', 'text').execute();
  await db.schema
    .createIndex('findings_resolved_by_action')
    .on('findings')
    .column('resolved_by_action')
    .execute();
}
