import type { InsertQueryBuilder, InsertResult, Transaction } from 'kysely';
import { type InsertShape, insertRows } from './bulk-insert.ts';
import { FINDING_SUMMARY_COLUMNS, type FindingRow } from './finding-rows.ts';
import type { Database } from './schema.ts';

type Trx = Transaction<Database>;

/** Inserts new findings, many per statement. */
export async function insertFindingRows(trx: Trx, rows: FindingRow[]): Promise<void> {
  await insertRows(trx, 'findings', rows);
}

/** The columns of a stored finding an import never changes. */
const KEPT_COLUMNS: ReadonlySet<string> = new Set([
  'id',
  'origin',
  'key',
  'first_seen',
  'dismissed_reason',
  'dismissed_by',
  'dismissed_at',
]);

/** The columns a report or a resolution changes on a stored finding. */
const REPORTED_COLUMNS: readonly (keyof FindingRow)[] = [
  ...FINDING_SUMMARY_COLUMNS.filter((column) => !KEPT_COLUMNS.has(column)),
  'description',
  'evidence',
];

/**
 * Writes changed stored findings back, many per statement: an insert of rows that all
 * exist, whose conflict on `id` turns each into an update of the reported columns. The
 * same statement runs on SQLite and PostgreSQL.
 */
export async function updateFindingRows(trx: Trx, rows: FindingRow[]): Promise<void> {
  await insertRows(trx, 'findings', rows, UPDATE_REPORTED);
}

const UPDATE_REPORTED: InsertShape = {
  name: 'update-reported',
  finish: (insert: InsertQueryBuilder<Database, 'findings', InsertResult>) =>
    insert.onConflict((oc) =>
      oc
        .column('id')
        .doUpdateSet((eb) =>
          Object.fromEntries(REPORTED_COLUMNS.map((c) => [c, eb.ref(`excluded.${c}`)])),
        ),
    ),
};
