import type { CompiledQuery, Kysely, Transaction } from 'kysely';
import type { Database } from './schema.ts';

type Db = Kysely<Database> | Transaction<Database>;

/** Compiled SQL by dialect (its adapter's class), then by the caller's key. */
const compiled = new WeakMap<object, Map<string, string>>();
/** Keys vary only in a few sizes; a few dozen cover a busy server. */
const KEPT_PER_DIALECT = 64;

/**
 * The SQL of a statement that is always the same for `key`, compiled by Kysely once per
 * dialect and kept. Kysely builds and compiles a node for every bound value, which for a
 * statement with hundreds of parameters costs more than the database's own work; callers
 * bind their values to the kept SQL in the order the compiled query lists them.
 */
export function compiledSql(db: Db, key: string, compile: () => CompiledQuery): string {
  const dialect = db.getExecutor().adapter.constructor;
  let byKey = compiled.get(dialect);
  if (!byKey) {
    byKey = new Map();
    compiled.set(dialect, byKey);
  }
  const known = byKey.get(key);
  if (known !== undefined) return known;
  const { sql } = compile();
  if (byKey.size >= KEPT_PER_DIALECT) byKey.delete(byKey.keys().next().value!);
  byKey.set(key, sql);
  return sql;
}
