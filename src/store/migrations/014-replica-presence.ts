import type { Kysely } from 'kysely';

/**
 * Replicas announce themselves, so each can take its share of the cloud call limits: a
 * row per running engine, kept alive by its heartbeat and counted while its expiry lies
 * ahead.
 *
 * The first-start token (created by `system`) and the tokens made with it belong to the
 * first-start user `admin` from now on, so disabling that user stops them as well. Only
 * the chain of that token has the person `user:admin` without a user behind it.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('replicas')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('started_at', 'text', (c) => c.notNull())
    .addColumn('heartbeat_at', 'text', (c) => c.notNull())
    .addColumn('expires_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('replicas_by_expiry').on('replicas').column('expires_at').execute();

  await ownFirstStartTokens(db);
}

/**
 * Ties the first-start token, and the tokens made with it, to the first-start user. The
 * name is written out: a migration must do the same whatever the code around it becomes.
 */
export async function ownFirstStartTokens(db: Kysely<any>): Promise<void> {
  await db
    .updateTable('api_tokens')
    .set({ created_by_user: 'admin' })
    .where('person', '=', 'user:admin')
    .where('created_by_user', 'is', null)
    .execute();
}
