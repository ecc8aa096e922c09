import type { Transaction } from 'kysely';
import { FINDING_SUMMARY_COLUMNS, type FindingRow } from './finding-rows.ts';
import type { Database } from './schema.ts';

type Trx = Transaction<Database>;

/**
 * Bound parameters per statement, under SQLite's limit (32,766) and PostgreSQL's (65,535):
 * a batch's rows go in a few wide statements rather than one statement per row.
 */
const MAX_PARAMETERS = 30_000;

function chunksOf<T extends object>(rows: T[]): T[][] {
  if (rows.length === 0) return [];
  const size = Math.max(1, Math.floor(MAX_PARAMETERS / Object.keys(rows[0]!).length));
  const chunks: T[][] = [];
  for (let i = 0; i < rows.length; i += size) chunks.push(rows.slice(i, i + size));
  return chunks;
}

/** Inserts new findings, many per statement. */
export async function insertFindingRows(trx: Trx, rows: FindingRow[]): Promise<void> {
  for (const chunk of chunksOf(rows)) await trx.insertInto('findings').values(chunk).execute();
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
  for (const chunk of chunksOf(rows)) {
    await trx
      .insertInto('findings')
      .values(chunk)
      .onConflict((oc) =>
        oc
          .column('id')
          .doUpdateSet((eb) =>
            Object.fromEntries(REPORTED_COLUMNS.map((c) => [c, eb.ref(`excluded.${c}`)])),
          ),
      )
      .execute();
  }
}
