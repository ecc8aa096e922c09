import type { Kysely } from 'kysely';

/**
 * Indexes for work shared by several replicas: the hourly execution limit counts the
 * claims of the last hour, and every engine sweep looks for lapsed leases, so neither may
 * scan a whole table as it grows.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createIndex('events_claims_by_time')
    .on('events')
    .columns(['to_status', 'at'])
    .execute();
  await db.schema
    .createIndex('actions_leases')
    .on('actions')
    .columns(['status', 'lease_expires_at'])
    .execute();
}
