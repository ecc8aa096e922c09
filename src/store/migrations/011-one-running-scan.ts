import type { Kysely } from 'kysely';

/**
 * At most one scan runs per database, across every replica: a second insert of a running
 * scan is refused by the index, not by a check another replica could race. Scans already
 * running side by side are settled first, keeping the latest one.
 */
export async function up(db: Kysely<any>): Promise<void> {
  const running = await db
    .selectFrom('scan_runs')
    .select(['id'])
    .where('status', '=', 'running')
    .orderBy('started_at', 'desc')
    .orderBy('id', 'desc')
    .execute();
  const extra = running.slice(1).map((r) => r.id as string);
  if (extra.length > 0) {
    await db
      .updateTable('scan_runs')
      .set({
        status: 'failed',
        finished_at: new Date().toISOString(),
        error: 'interrupted: only one scan may run at a time, and a later one was running',
      })
      .where('id', 'in', extra)
      .execute();
  }
  await db.schema
    .createIndex('scan_runs_one_running')
    .on('scan_runs')
    .column('status')
    .unique()
    .where('status', '=', 'running')
    .execute();
}
