import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Kysely, PostgresDialect, SqliteDialect } from 'kysely';
import pg from 'pg';
import type { Logger } from 'pino';
import * as actions from './actions.ts';
import * as claims from './claims.ts';
import * as finalize from './finalize.ts';
import * as progress from './progress.ts';
import { listActions } from './list.ts';
import { migrate } from './migrate.ts';
import type { Database } from './schema.ts';
import * as settings from './settings.ts';
import { adaptNodeSqlite, openSqliteFile } from './sqlite-adapter.ts';
import type { Store } from './store.ts';
import * as tokens from './tokens.ts';
import { request, transition } from './transition.ts';

export interface StoreOptions {
  /** `postgres://...` selects PostgreSQL; otherwise SQLite in `dataDir`. */
  databaseUrl?: string;
  dataDir: string;
  log?: Logger;
  /** PostgreSQL pool size. */
  poolSize?: number;
}

/** Opens the database, brings its schema up to date, and returns the store over it. */
export async function openStore(opts: StoreOptions): Promise<Store> {
  const url = opts.databaseUrl;
  const isPostgres = !!url && /^postgres(ql)?:\/\//.test(url);
  if (url && !isPostgres) {
    throw new Error(
      `unsupported database URL scheme in "${redact(url)}"; use postgres://... or leave it ` +
        'unset for the embedded SQLite database',
    );
  }
  const db = isPostgres ? postgres(url, opts.poolSize ?? 10) : sqlite(opts.dataDir);
  const engine = isPostgres ? 'postgres' : 'sqlite';
  try {
    await migrate(db, engine);
  } catch (error) {
    await db.destroy();
    throw error;
  }
  opts.log?.debug({ engine }, 'database ready');
  return kyselyStore(db, engine);
}

function sqlite(dataDir: string): Kysely<Database> {
  mkdirSync(dataDir, { recursive: true });
  const file = openSqliteFile(join(dataDir, 'infraudit.db'));
  return new Kysely<Database>({ dialect: new SqliteDialect({ database: adaptNodeSqlite(file) }) });
}

function postgres(url: string, max: number): Kysely<Database> {
  const pool = new pg.Pool({ connectionString: url, max });
  return new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
}

/** Database URLs may carry a password; never echo it. */
export function redact(url: string): string {
  return url.replace(/\/\/([^:/@]+):[^@]*@/, '//$1:***@');
}

export function kyselyStore(db: Kysely<Database>, engine: 'sqlite' | 'postgres'): Store {
  return {
    engine,
    close: () => db.destroy(),
    createAction: (input, opts) => actions.createAction(db, input, opts),
    getAction: (id) => actions.getAction(db, id),
    listActions: (query) => listActions(db, query),
    countByStatus: () => actions.countByStatus(db),
    events: (id) => actions.events(db, id),
    transition: (id, op, input) => transition(db, id, op, input),
    request: (id, op, input) => request(db, id, op, input),
    comment: (id, input) => actions.comment(db, id, input),
    updatePlan: (id, plan, now) => actions.updatePlan(db, id, plan, now),
    saveSnapshot: (id, snapshot, owner) => actions.saveSnapshot(db, id, snapshot, owner),
    unplanned: (limit) => claims.unplanned(db, limit),
    claim: (owner, opts) => claims.claim(db, owner, opts),
    stranded: (now) => claims.stranded(db, now),
    takeOver: (id, version, owner, now, leaseMs) =>
      claims.takeOver(db, id, version, owner, now, leaseMs),
    renewLease: (id, owner, now, leaseMs) => claims.renewLease(db, id, owner, now, leaseMs),
    saveProgress: (id, value, owner) => progress.saveProgress(db, id, value, owner),
    saveSealedSecret: (id, secret, owner) => progress.saveSealedSecret(db, id, secret, owner),
    takeSealedSecret: (id, input) => progress.takeSealedSecret(db, id, input),
    finalizable: (types, now, limit) => finalize.finalizable(db, types, now, limit),
    markFinalized: (id, version, input) => finalize.markFinalized(db, id, version, input),
    getSettings: () => settings.getSettings(db),
    updateSettings: (patch, input) => settings.updateSettings(db, patch, input),
    getFixOptions: () => settings.getFixOptions(db),
    updateFixOptions: (patch, input) => settings.updateFixOptions(db, patch, input),
    createToken: (input) => tokens.createToken(db, input),
    findToken: (token) => tokens.findToken(db, token),
    countTokens: () => tokens.countTokens(db),
  };
}
