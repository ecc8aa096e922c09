import { DatabaseSync, type StatementSync } from 'node:sqlite';
import type { SqliteDatabase, SqliteStatement } from 'kysely';

/**
 * Presents Node's built-in `node:sqlite` as the database Kysely's SQLite dialect expects.
 * Two differences matter: node:sqlite takes parameters spread rather than as an array,
 * and it has no `reader` flag, so a statement that returns columns is treated as one.
 */
export function adaptNodeSqlite(db: DatabaseSync): SqliteDatabase {
  // Kysely prepares every query it runs; the product runs the same few dozen shapes over
  // and over, so keeping their prepared statements saves most of the per-query cost.
  const cache = new Map<string, SqliteStatement>();
  return {
    close: () => {
      cache.clear();
      db.close();
    },
    prepare: (sql) => {
      let statement = cache.get(sql);
      if (!statement) {
        if (cache.size >= STATEMENT_CACHE_SIZE) cache.delete(cache.keys().next().value!);
        statement = adaptStatement(db.prepare(sql));
        cache.set(sql, statement);
      }
      return statement;
    },
  };
}

const STATEMENT_CACHE_SIZE = 500;

type Param = import('node:sqlite').SQLInputValue;

function adaptStatement(stmt: StatementSync): SqliteStatement {
  const params = (values: ReadonlyArray<unknown>) => values.map(toSqlite) as Param[];
  return {
    reader: stmt.columns().length > 0,
    all: (values) => stmt.all(...params(values)),
    run: (values) => {
      const { changes, lastInsertRowid } = stmt.run(...params(values));
      return { changes, lastInsertRowid };
    },
    iterate: (values) => stmt.iterate(...params(values)) as IterableIterator<unknown>,
  };
}

/** node:sqlite refuses booleans and undefined; SQLite has no boolean type anyway. */
function toSqlite(value: unknown): unknown {
  if (typeof value === 'boolean') return value ? 1 : 0;
  if (value === undefined) return null;
  return value;
}

export function openSqliteFile(path: string): DatabaseSync {
  const db = new DatabaseSync(path);
  // WAL lets readers proceed during a write; FULL sync keeps every committed approval,
  // snapshot and audit event through a power loss, not only a process crash.
  db.exec('PRAGMA journal_mode = WAL');
  db.exec('PRAGMA synchronous = FULL');
  db.exec('PRAGMA busy_timeout = 5000');
  db.exec('PRAGMA foreign_keys = ON');
  return db;
}
