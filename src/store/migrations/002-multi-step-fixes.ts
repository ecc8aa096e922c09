import type { Kysely } from 'kysely';

/**
 * Columns for fixes beyond S3: what the finding asked for, the steps of a multi-step fix
 * done so far, the data sent with a request, a secret awaiting its recipient, and the
 * post-window finalize step; and an index for the queue's commonest view.
 */
export async function up(db: Kysely<any>): Promise<void> {
  for (const [column, notNull] of [
    ['params', true],
    ['progress', true],
    ['request_data', false],
    ['sealed_secret', false],
    ['finalized_at', false],
  ] as const) {
    await db.schema
      .alterTable('actions')
      .addColumn(column, 'text', (c) => (notNull ? c.notNull().defaultTo('{}') : c))
      .execute();
  }
  // The queue's commonest view filters on status and severity and sorts by creation;
  // with both filters in the index, SQLite sorts only index entries, never whole rows.
  await db.schema
    .createIndex('actions_status_severity_created')
    .on('actions')
    .columns(['status', 'severity', 'created_at', 'id'])
    .execute();
  await db.schema
    .createIndex('actions_finalize')
    .on('actions')
    .columns(['status', 'finalized_at', 'rollback_deadline'])
    .execute();
}
