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
  };
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
