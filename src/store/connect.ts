import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import type { Logger } from 'pino';
import { notFound } from '../domain/errors.ts';
import { loadSecretKey } from '../secrets/secret-key.ts';
import { prepareDatabaseFile, prepareDataDir } from './data-dir.ts';
import { openSqliteFile } from './sqlite-file.ts';
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
  /**
   * Refuse (`not_found`) rather than create a database: for tools that act on the database
   * of an existing server, where a new empty one would only hide a wrong path or URL.
   */
  mustExist?: boolean;
  /** The key channel secrets are encrypted under; `secret.key` in `dataDir` when unset. */
  secretKey?: Buffer | undefined;
}

export const SQLITE_FILE = 'infraudit.db';

/** Opens the database, brings its schema up to date, and returns the store over it. */
export async function openStore(opts: StoreOptions): Promise<Store> {
  const url = opts.databaseUrl;
  if (!url) {
    const file = join(opts.dataDir, SQLITE_FILE);
    if (opts.mustExist && !existsSync(file)) {
      throw notFound(
        `no InfraAudit database in ${opts.dataDir}: a data folder is the folder where ` +
          `\`infraudit serve\` keeps its SQLite database (${SQLITE_FILE}) and admin-token file ` +
          '(serve --data, INFRAUDIT_DATA, default ./.infraudit); give the folder your server uses',
      );
    }
    prepareDataDir(opts.dataDir, opts.log);
    prepareDatabaseFile(file, opts.log);
    const secretKey = loadSecretKey({
      generate: !opts.mustExist,
      configured: opts.secretKey,
      dataDir: opts.dataDir,
      log: opts.log,
    });
    let store = await openSqliteStore(file, { secretKey });
    if (await sealLegacySecrets(store, opts.log)) {
      // The clear text is still in freed pages and the write-ahead log until rewritten.
      await store.close();
      const raw = openSqliteFile(file);
      raw.exec('PRAGMA wal_checkpoint(TRUNCATE)');
      raw.exec('VACUUM');
      raw.close();
      store = await openSqliteStore(file, { secretKey });
    }
    opts.log?.debug({ engine: 'sqlite' }, 'database ready');
    return store;
  }
  if (!/^postgres(ql)?:\/\//.test(url)) {
    throw new Error(
      `unsupported database URL scheme in "${redact(url)}"; use postgres://... or leave it ` +
        'unset for the embedded SQLite database',
    );
  }
  // A tool acting on an existing database (mustExist) leaves no key file behind.
  if (!opts.secretKey && !opts.mustExist) prepareDataDir(opts.dataDir, opts.log);
  const secretKey = loadSecretKey({
    generate: !opts.mustExist,
    configured: opts.secretKey,
    dataDir: opts.dataDir,
    log: opts.log,
  });
  const pool = new pg.Pool({ connectionString: url, max: opts.poolSize ?? 10 });
  // An idle connection the server drops (restart, failover, an admin's terminate) is
  // reported here; without a listener it would end the process. The pool reconnects.
  pool.on('error', (error) => {
    opts.log?.warn({ err: error }, 'a PostgreSQL connection was closed by the server');
  });
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  try {
    if (opts.mustExist) await expectSchema(db, url);
    await migrate(db, 'postgres');
  } catch (error) {
    await db.destroy();
    throw error;
  }
  const store = kyselyStore(db, 'postgres', secretKey);
  try {
    await sealLegacySecrets(store, opts.log);
  } catch (error) {
    await store.close();
    throw error;
  }
  opts.log?.debug({ engine: 'postgres' }, 'database ready');
  return store;
}

/** Channel secrets an earlier version stored in clear are encrypted once, at start. */
async function sealLegacySecrets(store: Store, log: Logger | undefined): Promise<boolean> {
  const sealed = await store.sealAlertSecrets();
  if (sealed > 0)
    log?.info({ channels: sealed }, 'encrypted alert channel secrets stored in clear');
  return sealed > 0;
}

async function expectSchema(db: Kysely<Database>, url: string): Promise<void> {
  const tables = await db.introspection.getTables();
  if (!tables.some((table) => table.name === 'schema_migrations')) {
    throw notFound(
      `the PostgreSQL database ${redact(url)} holds no InfraAudit tables; give the ` +
        'database URL your server uses (serve --database, DATABASE_URL)',
    );
  }
}

/** Database URLs may carry a password; never echo it. */
export function redact(url: string): string {
  return url.replace(/\/\/([^:/@]+):[^@]*@/, '//$1:***@');
}
