import { type Kysely, sql } from 'kysely';
import { migrationNames } from './migrate.ts';
import type { Database } from './schema.ts';

/** What an operator needs from the database to run several replicas on it. */
export interface ReplicaStore {
  /** Counts for the metrics every replica reports: actions by status and type, queued requests. */
  opsFigures(): Promise<OpsFigures>;
  /**
   * Whether this database can serve: reachable, and every migration this code knows has
   * run. A reason names what is missing.
   */
  readiness(): Promise<{ ready: boolean; reason?: string }>;
  /**
   * Gives up every lease `owner` holds on running work, so another replica settles that
   * work on its next sweep instead of waiting for the lease to lapse. Returns the ids.
   */
  releaseLeases(owner: string): Promise<string[]>;
  /**
   * Records that replica `id` is running at `now` and counts as live for `ttlMs` more, and
   * returns how many replicas are live now, this one included. Forgets replicas whose
   * expiry passed long ago.
   */
  beatReplica(id: string, now: Date, ttlMs: number): Promise<number>;
  /** Removes replica `id` at shutdown, so the others take its share at their next beat. */
  leaveReplica(id: string): Promise<void>;
}

export interface OpsFigures {
  actions: { status: string; type: string; count: number }[];
  queue: { request: string; count: number }[];
}

export function replicaStore(db: Kysely<Database>): ReplicaStore {
  return {
    opsFigures: () => opsFigures(db),
    readiness: () => readiness(db),
    releaseLeases: (owner) => releaseLeases(db, owner),
    beatReplica: (id, now, ttlMs) => beatReplica(db, id, now, ttlMs),
    leaveReplica: async (id) => {
      await db.deleteFrom('replicas').where('id', '=', id).execute();
    },
  };
}

/** Rows of replicas gone this long are deleted; until then they show when each stopped. */
const FORGET_AFTER_MS = 24 * 60 * 60_000;

async function beatReplica(
  db: Kysely<Database>,
  id: string,
  now: Date,
  ttlMs: number,
): Promise<number> {
  const at = now.toISOString();
  const expires = new Date(now.getTime() + ttlMs).toISOString();
  await db
    .insertInto('replicas')
    .values({ id, started_at: at, heartbeat_at: at, expires_at: expires })
    .onConflict((oc) => oc.column('id').doUpdateSet({ heartbeat_at: at, expires_at: expires }))
    .execute();
  await db
    .deleteFrom('replicas')
    .where('expires_at', '<', new Date(now.getTime() - FORGET_AFTER_MS).toISOString())
    .execute();
  const row = await db
    .selectFrom('replicas')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('expires_at', '>', at)
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

async function opsFigures(db: Kysely<Database>): Promise<OpsFigures> {
  const actions = await db
    .selectFrom('actions')
    .select(['status', 'type', (eb) => eb.fn.countAll().as('n')])
    .groupBy(['status', 'type'])
    .execute();
  const queue = await db
    .selectFrom('actions')
    .select(['requested_op', (eb) => eb.fn.countAll().as('n')])
    .where('requested_op', 'is not', null)
    .groupBy('requested_op')
    .execute();
  return {
    actions: actions.map((r) => ({ status: r.status, type: r.type, count: Number(r.n) })),
    queue: queue.map((r) => ({ request: r.requested_op!, count: Number(r.n) })),
  };
}

async function readiness(db: Kysely<Database>): Promise<{ ready: boolean; reason?: string }> {
  let done: string[];
  try {
    const rows = await sql<{ name: string }>`select name from schema_migrations`.execute(db);
    done = rows.rows.map((r) => r.name);
  } catch (error) {
    return { ready: false, reason: `the database is unreachable: ${(error as Error).message}` };
  }
  const missing = migrationNames().filter((name) => !done.includes(name));
  if (missing.length > 0) {
    return { ready: false, reason: `migrations not applied: ${missing.join(', ')}` };
  }
  return { ready: true };
}

async function releaseLeases(db: Kysely<Database>, owner: string): Promise<string[]> {
  const rows = await db
    .updateTable('actions')
    .set({ lease_owner: null, lease_expires_at: null })
    .where('lease_owner', '=', owner)
    .where('status', 'in', ['executing', 'rolling_back'])
    .returning('id')
    .execute();
  return rows.map((r) => r.id);
}
