import { type Kysely, sql } from 'kysely';

/**
 * The first schema. Written with Kysely's schema builder so SQLite and PostgreSQL stay
 * parallel; the only dialect difference is how the audit log's id is generated.
 */
export async function up(db: Kysely<any>, engine: 'sqlite' | 'postgres'): Promise<void> {
  await db.schema
    .createTable('actions')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('title', 'text', (c) => c.notNull())
    .addColumn('resource_provider', 'text', (c) => c.notNull())
    .addColumn('resource_account', 'text', (c) => c.notNull())
    .addColumn('resource_region', 'text', (c) => c.notNull())
    .addColumn('resource_type', 'text', (c) => c.notNull())
    .addColumn('resource_id', 'text', (c) => c.notNull())
    .addColumn('resource_name', 'text', (c) => c.notNull())
    .addColumn('source_kind', 'text', (c) => c.notNull())
    .addColumn('source_finding_id', 'text', (c) => c.notNull())
    .addColumn('source_title', 'text', (c) => c.notNull())
    .addColumn('source_origin', 'text', (c) => c.notNull())
    .addColumn('source_check_id', 'text', (c) => c.notNull())
    .addColumn('severity', 'text', (c) => c.notNull())
    .addColumn('severity_rank', 'integer', (c) => c.notNull())
    .addColumn('risk', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('open_key', 'text', (c) => c.unique())
    .addColumn('plan', 'text', (c) => c.notNull())
    .addColumn('planned_at', 'text')
    .addColumn('snapshot', 'text')
    .addColumn('result', 'text')
    .addColumn('error', 'text')
    .addColumn('requested_op', 'text')
    .addColumn('requested_by', 'text')
    .addColumn('requested_at', 'text')
    .addColumn('lease_owner', 'text')
    .addColumn('lease_expires_at', 'text')
    .addColumn('attempt', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('created_by', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .addColumn('approved_by', 'text')
    .addColumn('approved_at', 'text')
    .addColumn('completed_at', 'text')
    .addColumn('rollback_deadline', 'text')
    .addColumn('version', 'integer', (c) => c.notNull().defaultTo(1))
    .execute();

  // The queue is read page by page in these orders; the id breaks ties for the cursor.
  for (const [name, columns] of [
    ['actions_created', ['created_at', 'id']],
    ['actions_updated', ['updated_at', 'id']],
    ['actions_status_created', ['status', 'created_at', 'id']],
    ['actions_severity_created', ['severity_rank', 'created_at', 'id']],
    ['actions_type_created', ['resource_type', 'created_at', 'id']],
    ['actions_requested', ['requested_op', 'requested_at']],
    ['actions_unplanned', ['planned_at', 'created_at']],
  ] as const) {
    await db.schema
      .createIndex(name)
      .on('actions')
      .columns([...columns])
      .execute();
  }

  await db.schema
    .createTable('events')
    .addColumn('id', engine === 'postgres' ? 'bigserial' : 'integer', (c) =>
      engine === 'postgres' ? c.primaryKey() : c.primaryKey().autoIncrement(),
    )
    .addColumn('action_id', 'text', (c) => c.references('actions.id'))
    .addColumn('at', 'text', (c) => c.notNull())
    .addColumn('actor', 'text', (c) => c.notNull())
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('from_status', 'text')
    .addColumn('to_status', 'text')
    .addColumn('comment', 'text')
    .addColumn('data', 'text')
    .execute();
  await db.schema.createIndex('events_action').on('events').columns(['action_id', 'id']).execute();

  await db.schema
    .createTable('action_findings')
    .addColumn('action_id', 'text', (c) => c.notNull().references('actions.id'))
    .addColumn('origin', 'text', (c) => c.notNull())
    .addColumn('finding_id', 'text', (c) => c.notNull())
    .addColumn('linked_at', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('action_findings_pk', ['action_id', 'origin', 'finding_id'])
    .execute();

  await db.schema
    .createTable('settings')
    .addColumn('key', 'text', (c) => c.primaryKey())
    .addColumn('value', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .addColumn('updated_by', 'text', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('api_tokens')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('role', 'text', (c) => c.notNull())
    .addColumn('hash', 'text', (c) => c.notNull().unique())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('revoked_at', 'text')
    .execute();

  if (engine === 'sqlite') await sql`PRAGMA optimize`.execute(db);
}
