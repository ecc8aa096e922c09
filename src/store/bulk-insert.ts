import { CompiledQuery, type Insertable, type Kysely, type Transaction } from 'kysely';
import { compiledSql } from './compiled.ts';
import type { Database } from './schema.ts';

type Db = Kysely<Database> | Transaction<Database>;
type Table = keyof Database & string;
type Row<T extends Table> = Insertable<Database[T]>;

/**
 * Bound parameters per statement, under SQLite's limit (32,766) and PostgreSQL's (65,535):
 * a batch's rows go in a few wide statements rather than one statement per row.
 */
export const MAX_PARAMETERS = 30_000;

/**
 * What a statement adds to the plain insert, such as an ON CONFLICT clause; named, since
 * the statement compiled with it is kept under that name.
 */
export interface InsertShape {
  name: string;
  // The insert builder's generic types depend on the table; the shape only adds clauses.
  finish: (insert: any) => { compile(): CompiledQuery };
}

/**
 * Inserts rows, many per statement, through statements compiled once per shape and
 * reused (`compiledSql`): the SQL of an insert of n rows into the same columns is always
 * the same. It is compiled once from n rows of placeholders, and each batch binds its
 * values row by row in the same column order; the sizes n are few (`statementSize`).
 * Every row must have the same columns as the first, which is checked.
 */
export async function insertRows<T extends Table>(
  db: Db,
  table: T,
  rows: readonly Row<T>[],
  shape?: InsertShape,
): Promise<void> {
  if (rows.length === 0) return;
  const columns = Object.keys(rows[0]!);
  const perStatement = Math.max(1, Math.floor(MAX_PARAMETERS / columns.length));
  for (let start = 0; start < rows.length;) {
    const chunk = rows.slice(start, start + statementSize(rows.length - start, perStatement));
    start += chunk.length;
    const sql = statementFor(db, table, columns, chunk.length, shape);
    const parameters: unknown[] = new Array(chunk.length * columns.length);
    let at = 0;
    for (const row of chunk) {
      const values = row as Record<string, unknown>;
      if (Object.keys(values).length !== columns.length) {
        throw new Error(`insertRows(${table}): every row must have the columns of the first`);
      }
      for (const column of columns) {
        const value = values[column];
        if (value === undefined && !(column in values)) {
          throw new Error(`insertRows(${table}): a row has no ${column}`);
        }
        parameters[at++] = value;
      }
    }
    await db.executeQuery(CompiledQuery.raw(sql, parameters));
  }
}

/**
 * How many of the rows left go in the next statement: as many as fit, else the largest
 * power of two that does. Batches of every size then share a handful of statements (the
 * full one and the powers of two under it), where one per row count would compile and
 * keep a statement of thousands of parameters for nearly every batch.
 */
export function statementSize(left: number, perStatement: number): number {
  if (left >= perStatement) return perStatement;
  return 2 ** Math.floor(Math.log2(left));
}

function statementFor(
  db: Db,
  table: Table,
  columns: string[],
  rowCount: number,
  shape: InsertShape | undefined,
): string {
  const key = `insert|${table}|${shape?.name ?? ''}|${columns.join(',')}|${rowCount}`;
  return compiledSql(db, key, () => {
    const placeholder = Object.fromEntries(columns.map((column) => [column, null]));
    const insert = db
      .insertInto(table)
      .values(Array.from({ length: rowCount }, () => placeholder) as never);
    const query = shape ? shape.finish(insert).compile() : insert.compile();
    if (query.parameters.length !== rowCount * columns.length) {
      // Kysely wrote some value into the SQL rather than binding it: the layout would not match.
      throw new Error(`insertRows(${table}): the compiled statement does not bind every value`);
    }
    return query;
  });
}
