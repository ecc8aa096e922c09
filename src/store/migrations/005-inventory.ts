import type { Kysely } from 'kysely';

/**
 * The inventory of discovered resources and the scans that read it. A resource is named by
 * its id (ARN or k8s id); `scope` names the part of a scan that lists it (provider, account,
 * region, service), so a complete read of that part can tell which resources are gone.
 * A scheduled scan holds its due slot in `slot`, unique, so replicas sharing the database
 * start it once. A running scan's server renews `heartbeat_at`; one that stops renewing it
 * was abandoned by a server that stopped.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('resources')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('provider', 'text', (c) => c.notNull())
    .addColumn('account', 'text', (c) => c.notNull())
    .addColumn('region', 'text', (c) => c.notNull())
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('scope', 'text', (c) => c.notNull())
    .addColumn('tags', 'text', (c) => c.notNull())
    .addColumn('config', 'text', (c) => c.notNull())
    .addColumn('first_seen', 'text', (c) => c.notNull())
    .addColumn('last_seen', 'text', (c) => c.notNull())
    .addColumn('gone_at', 'text')
    .addColumn('last_scan_id', 'text', (c) => c.notNull())
    .execute();
  for (const [name, columns] of [
    ['resources_scope', ['scope', 'last_seen']],
    ['resources_type', ['type', 'id']],
    ['resources_account', ['account', 'id']],
  ] as const) {
    await db.schema
      .createIndex(name)
      .on('resources')
      .columns([...columns])
      .execute();
  }

  await db.schema
    .createTable('scan_runs')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('trigger', 'text', (c) => c.notNull())
    .addColumn('actor', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('slot', 'text', (c) => c.unique())
    .addColumn('started_at', 'text', (c) => c.notNull())
    .addColumn('heartbeat_at', 'text', (c) => c.notNull())
    .addColumn('finished_at', 'text')
    .addColumn('units', 'text', (c) => c.notNull())
    .addColumn('summary', 'text')
    .addColumn('error', 'text')
    .execute();
  await db.schema
    .createIndex('scan_runs_status')
    .on('scan_runs')
    .columns(['status', 'heartbeat_at'])
    .execute();
  await db.schema
    .createIndex('scan_runs_started')
    .on('scan_runs')
    .columns(['started_at', 'id'])
    .execute();
}
