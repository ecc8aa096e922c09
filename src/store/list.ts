import { type Kysely, sql } from 'kysely';
import type { ActionSummary } from '../domain/action.ts';
import { invalidInput } from '../domain/errors.ts';
import { SUMMARY_COLUMNS, type SummaryRow, toSummary } from './rows.ts';
import type { Database } from './schema.ts';
import type { ActionQuery, Page, SortField } from './store.ts';

const COLUMN: Record<SortField, keyof SummaryRow & string> = {
  created: 'created_at',
  updated: 'updated_at',
  severity: 'severity_rank',
  status: 'status',
  type: 'type',
  title: 'title',
};

export const MAX_PAGE = 500;

/**
 * One page of the queue. Keyset pagination on (sort column, id) keeps every page as
 * cheap as the first, however deep the caller goes.
 */
export async function listActions(db: Kysely<Database>, query: ActionQuery): Promise<Page<ActionSummary>> {
  const sort = query.sort ?? 'created';
  const column = COLUMN[sort];
  const order = query.order ?? 'desc';
  const limit = query.limit ?? 50;
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE) {
    throw invalidInput(`limit must be a whole number from 1 to ${MAX_PAGE}, got ${limit}`);
  }

  let q = db.selectFrom('actions').select(SUMMARY_COLUMNS);
  if (query.status?.length) q = q.where('status', 'in', query.status);
  if (query.severity?.length) q = q.where('severity', 'in', query.severity);
  if (query.sourceKind?.length) q = q.where('source_kind', 'in', query.sourceKind);
  if (query.resourceType?.length) q = q.where('resource_type', 'in', query.resourceType);
  if (query.provider?.length) q = q.where('resource_provider', 'in', query.provider);
  if (query.text?.trim()) {
    const pattern = `%${escapeLike(query.text.trim().toLowerCase())}%`;
    // SQLite has no default LIKE escape character, so name it for both engines.
    q = q.where((eb) =>
      eb.or(
        ['title', 'resource_id', 'resource_name'].map(
          (c) => sql<boolean>`lower(${sql.ref(c)}) like ${pattern} escape '\\'`,
        ),
      ),
    );
  }
  if (query.cursor) {
    const [value, id] = decodeCursor(query.cursor, sort);
    const op = order === 'desc' ? '<' : '>';
    q = q.where((eb) => eb(eb.refTuple(column, 'id'), op, eb.tuple(value, id)));
  }

  const rows = await q.orderBy(column, order).orderBy('id', order).limit(limit + 1).execute();
  const items = rows.slice(0, limit);
  const last = items.at(-1);
  const nextCursor = rows.length > limit && last ? encodeCursor(sort, last[column], last.id) : null;
  return { items: items.map(toSummary), nextCursor };
}

function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (c) => `\\${c}`);
}

function encodeCursor(sort: SortField, value: unknown, id: string): string {
  return Buffer.from(JSON.stringify([sort, value, id])).toString('base64url');
}

function decodeCursor(cursor: string, sort: SortField): [string | number, string] {
  let parsed: unknown[] | undefined;
  try {
    const value: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    parsed = Array.isArray(value) ? value : undefined;
  } catch {
    parsed = undefined;
  }
  const ok =
    parsed !== undefined &&
    parsed.length === 3 &&
    (typeof parsed[1] === 'string' || typeof parsed[1] === 'number') &&
    typeof parsed[2] === 'string';
  if (!ok || !parsed) throw invalidInput('cursor is not one this server issued; start again without it');
  if (parsed[0] !== sort) {
    throw invalidInput(`cursor was issued for sort "${parsed[0]}", not "${sort}"; keep the sort`);
  }
  return [parsed[1] as string | number, parsed[2] as string];
}
