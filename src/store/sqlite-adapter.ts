import type { DatabaseSync, StatementSync } from 'node:sqlite';
import type { SqliteDatabase, SqliteStatement } from 'kysely';

/**
 * Presents Node's built-in `node:sqlite` as the database Kysely's SQLite dialect expects.
 * Two differences matter: node:sqlite takes parameters spread rather than as an array,
 * and it has no `reader` flag, so a statement that returns columns is treated as one.
 */
export function adaptNodeSqlite(db: DatabaseSync, group?: GroupCommit): SqliteDatabase {
  // Kysely prepares every query it runs; the product runs the same few dozen shapes over
  // and over, so keeping their prepared statements saves most of the per-query cost.
  const cache = new Map<string, SqliteStatement>();
  const nested = group ? savepoints(db) : undefined;
  return {
    close: () => {
      cache.clear();
      db.close();
    },
    prepare: (text) => {
      const inGroup = nested && group?.open() ? nested[text] : undefined;
      if (inGroup) return inGroup;
      // Kysely begins deferred; a transaction that reads before it writes could then find
      // another process's write lock at its first write and fail at once instead of
      // waiting out the busy timeout. Taking the write lock up front waits like every
      // other writer.
      const sql = text === 'begin' ? 'begin immediate' : text;
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

/** Tells the adapter that an outer transaction is open, so a store call's own becomes nested. */
export interface GroupCommit {
  open(): boolean;
}

/**
 * Inside a group commit, Kysely's begin, commit and rollback of one store call become a
 * savepoint: the call still succeeds or fails alone, but the disk is synced once for the
 * whole group.
 */
function savepoints(db: DatabaseSync): Record<string, SqliteStatement> {
  const exec = (sql: string): SqliteStatement => ({
    reader: false,
    all: () => [],
    run: () => {
      db.exec(sql);
      return { changes: 0, lastInsertRowid: 0 };
    },
    iterate: () => [][Symbol.iterator](),
  });
  return {
    begin: exec('SAVEPOINT store_call'),
    commit: exec('RELEASE store_call'),
    rollback: exec('ROLLBACK TO store_call; RELEASE store_call'),
  };
}

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
