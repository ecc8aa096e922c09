import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import type { Logger } from 'pino';
import { kyselyStore } from './kysely-store.ts';
import { migrate } from './migrate.ts';
import type { Database } from './schema.ts';
import { openSqliteStore } from './sqlite-store.ts';
import type { Store } from './store.ts';

export interface StoreOptions {
  /** `postgres://...` selects PostgreSQL; otherwise SQLite in `dataDir`. */
  databaseUrl?: string;
  dataDir: string;
  log?: Logger;
  /** PostgreSQL pool size. */
  poolSize?: number;
}

export const SQLITE_FILE = 'infraudit.db';

/** Opens the database, brings its schema up to date, and returns the store over it. */
export async function openStore(opts: StoreOptions): Promise<Store> {
  const url = opts.databaseUrl;
  if (!url) {
    mkdirSync(opts.dataDir, { recursive: true });
    const store = await openSqliteStore(join(opts.dataDir, SQLITE_FILE));
    opts.log?.debug({ engine: 'sqlite' }, 'database ready');
    return store;
  }
  if (!/^postgres(ql)?:\/\//.test(url)) {
    throw new Error(
      `unsupported database URL scheme in "${redact(url)}"; use postgres://... or leave it ` +
        'unset for the embedded SQLite database',
    );
  }
  const pool = new pg.Pool({ connectionString: url, max: opts.poolSize ?? 10 });
  // An idle connection the server drops (restart, failover, an admin's terminate) is
  // reported here; without a listener it would end the process. The pool reconnects.
  pool.on('error', (error) => {
    opts.log?.warn({ err: error }, 'a PostgreSQL connection was closed by the server');
  });
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  try {
    await migrate(db, 'postgres');
  } catch (error) {
    await db.destroy();
    throw error;
  }
  opts.log?.debug({ engine: 'postgres' }, 'database ready');
  return kyselyStore(db, 'postgres');
}

/** Database URLs may carry a password; never echo it. */
export function redact(url: string): string {
  return url.replace(/\/\/([^:/@]+):[^@]*@/, '//$1:***@');
}
