import type { Kysely } from 'kysely';

/**
 * Stored findings (drift, vulnerabilities, recommendations) and the exclusions that keep
 * some of them out of the open list. A finding is named by its origin and the origin's own
 * key, so a problem reported again updates the row it already has.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('findings')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('origin', 'text', (c) => c.notNull())
    .addColumn('key', 'text', (c) => c.notNull())
    .addColumn('check_id', 'text', (c) => c.notNull())
    .addColumn('standard', 'text')
    .addColumn('control_ids', 'text', (c) => c.notNull())
    .addColumn('title', 'text', (c) => c.notNull())
    .addColumn('description', 'text')
    .addColumn('severity', 'text', (c) => c.notNull())
    .addColumn('severity_rank', 'integer', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('resource_provider', 'text', (c) => c.notNull())
    .addColumn('resource_account', 'text', (c) => c.notNull())
    .addColumn('resource_region', 'text', (c) => c.notNull())
    .addColumn('resource_type', 'text', (c) => c.notNull())
    .addColumn('resource_id', 'text', (c) => c.notNull())
    .addColumn('resource_name', 'text', (c) => c.notNull())
    .addColumn('resource_tags', 'text', (c) => c.notNull())
    .addColumn('evidence', 'text')
    .addColumn('drift_type', 'text')
    .addColumn('remedy', 'text')
    .addColumn('first_seen', 'text', (c) => c.notNull())
    .addColumn('last_seen', 'text', (c) => c.notNull())
    .addColumn('resolved_at', 'text')
    .addColumn('dismissed_reason', 'text')
    .addColumn('dismissed_by', 'text')
    .addColumn('dismissed_at', 'text')
    .addColumn('exclusion_id', 'text')
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex('findings_origin_key')
    .on('findings')
    .columns(['origin', 'key'])
    .unique()
    .execute();
  // Listings page by (last_seen, id) or (severity_rank, id), most often by status; exclusions
  // look findings up by resource or account. Every index is paid for on each of the
  // thousands of rows an import writes, so the rarer filters (kind, resource type) scan.
  for (const [name, columns] of [
    ['findings_seen', ['last_seen', 'id']],
    ['findings_status_seen', ['status', 'last_seen', 'id']],
    ['findings_severity', ['severity_rank', 'id']],
    ['findings_resource', ['resource_id']],
    ['findings_account', ['resource_account', 'status']],
  ] as const) {
    await db.schema
      .createIndex(name)
      .on('findings')
      .columns([...columns])
      .execute();
  }

  await db.schema
    .createTable('finding_exclusions')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('scope', 'text', (c) => c.notNull())
    .addColumn('value', 'text', (c) => c.notNull())
    .addColumn('reason', 'text', (c) => c.notNull())
    .addColumn('created_by', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex('finding_exclusions_scope_value')
    .on('finding_exclusions')
    .columns(['scope', 'value'])
    .unique()
    .execute();
  await db.schema
    .createIndex('action_findings_finding')
    .on('action_findings')
    .columns(['origin', 'finding_id'])
    .execute();
}
