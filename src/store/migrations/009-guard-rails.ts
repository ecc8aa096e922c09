import { type Kysely, sql } from 'kysely';
import { eventHash, GENESIS_HASH } from '../audit-hash.ts';

/**
 * The audit chain, and the stored answers of idempotent requests.
 *
 * Every event gets its place in the chain (`seq`), the hash of the entry before it and its
 * own hash. Events written before this migration are chained here, in id order. The
 * one-row `audit_chain` table holds the chain's head: every append updates it in its own
 * transaction, and that row lock makes concurrent appends from many replicas take turns.
 * Triggers then refuse any UPDATE or DELETE on the events, so the product itself can only
 * append.
 */
export async function up(db: Kysely<any>, engine: 'sqlite' | 'postgres'): Promise<void> {
  const big = engine === 'postgres' ? 'bigint' : 'integer';
  await db.schema.alterTable('events').addColumn('seq', big).execute();
  await db.schema.alterTable('events').addColumn('prev_hash', 'text').execute();
  await db.schema.alterTable('events').addColumn('hash', 'text').execute();

  const events: any[] = await db.selectFrom('events').selectAll().orderBy('id').execute();
  let prev = GENESIS_HASH;
  let seq = 0;
  for (const event of events) {
    seq += 1;
    const hash = eventHash({ ...event, seq, prev_hash: prev });
    await db
      .updateTable('events')
      .set({ seq, prev_hash: prev, hash })
      .where('id', '=', event.id)
      .execute();
    prev = hash;
  }
  await db.schema.createIndex('events_seq').on('events').column('seq').unique().execute();
  await db.schema.createIndex('events_at').on('events').columns(['at', 'seq']).execute();
  await db.schema.createIndex('events_actor').on('events').columns(['actor', 'seq']).execute();

  await db.schema
    .createTable('audit_chain')
    .addColumn('id', 'integer', (c) => c.primaryKey())
    .addColumn('seq', big, (c) => c.notNull())
    .addColumn('hash', 'text', (c) => c.notNull())
    .execute();
  await db.insertInto('audit_chain').values({ id: 1, seq, hash: prev }).execute();

  if (engine === 'postgres') {
    await sql`
      CREATE FUNCTION events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        RAISE EXCEPTION 'the audit log is append-only: % on events refused', TG_OP;
      END $$`.execute(db);
    await sql`
      CREATE TRIGGER events_append_only BEFORE UPDATE OR DELETE ON events
      FOR EACH ROW EXECUTE FUNCTION events_append_only()`.execute(db);
    await sql`
      CREATE TRIGGER events_no_truncate BEFORE TRUNCATE ON events
      FOR EACH STATEMENT EXECUTE FUNCTION events_append_only()`.execute(db);
  } else {
    for (const op of ['UPDATE', 'DELETE']) {
      await sql
        .raw(
          `CREATE TRIGGER events_no_${op.toLowerCase()} BEFORE ${op} ON events BEGIN ` +
            `SELECT RAISE(ABORT, 'the audit log is append-only: ${op} on events refused'); END`,
        )
        .execute(db);
    }
  }

  await db.schema
    .createTable('idempotency_keys')
    .addColumn('principal', 'text', (c) => c.notNull())
    .addColumn('key', 'text', (c) => c.notNull())
    .addColumn('route', 'text', (c) => c.notNull())
    .addColumn('body_hash', 'text', (c) => c.notNull())
    // Null while the first request is still being answered.
    .addColumn('status_code', 'integer')
    .addColumn('response', 'text')
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('expires_at', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('idempotency_keys_pk', ['principal', 'key'])
    .execute();
  await db.schema
    .createIndex('idempotency_keys_expires')
    .on('idempotency_keys')
    .column('expires_at')
    .execute();
}
