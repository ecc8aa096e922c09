import type { Kysely } from 'kysely';

/**
 * Baselines: a resource's full configuration at a point in time, numbered per resource.
 * `active_key` holds the resource id on the one active version and null on the others; its
 * unique index keeps one active baseline per resource, the way `open_key` keeps one open
 * action.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('baselines')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('resource_id', 'text', (c) => c.notNull())
    .addColumn('resource_provider', 'text', (c) => c.notNull())
    .addColumn('resource_account', 'text', (c) => c.notNull())
    .addColumn('resource_region', 'text', (c) => c.notNull())
    .addColumn('resource_type', 'text', (c) => c.notNull())
    .addColumn('resource_name', 'text', (c) => c.notNull())
    .addColumn('version', 'integer', (c) => c.notNull())
    .addColumn('config', 'text', (c) => c.notNull())
    .addColumn('tags', 'text', (c) => c.notNull())
    .addColumn('captured_at', 'text', (c) => c.notNull())
    .addColumn('captured_by', 'text', (c) => c.notNull())
    .addColumn('reason', 'text', (c) => c.notNull())
    .addColumn('active_key', 'text', (c) => c.unique())
    .execute();
  await db.schema
    .createIndex('baselines_resource_version')
    .on('baselines')
    .columns(['resource_id', 'version'])
    .unique()
    .execute();
  await db.schema
    .createIndex('baselines_type')
    .on('baselines')
    .columns(['resource_type', 'resource_id'])
    .execute();
}
