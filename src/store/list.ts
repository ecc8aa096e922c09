import { createHmac, timingSafeEqual } from 'node:crypto';
import { type ExpressionBuilder, type Kysely, type SelectQueryBuilder, sql } from 'kysely';
import type { ActionSummary } from '../domain/action.ts';
import { invalidInput } from '../domain/errors.ts';
import { CURSOR_KEY_SETTING } from './migrations/003-token-names-cursor-key.ts';
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
export async function listActions(
  db: Kysely<Database>,
  query: ActionQuery,
): Promise<Page<ActionSummary>> {
  const sort = query.sort ?? 'created';
  const column = COLUMN[sort];
  const order = query.order ?? 'desc';
  const limit = pageLimit(query.limit);

  let q = db.selectFrom('actions').select(SUMMARY_COLUMNS);
  if (query.status?.length) q = q.where('status', 'in', query.status);
  if (query.severity?.length) q = q.where('severity', 'in', query.severity);
  if (query.sourceKind?.length) q = q.where('source_kind', 'in', query.sourceKind);
  if (query.resourceType?.length) q = q.where('resource_type', 'in', query.resourceType);
  if (query.provider?.length) q = q.where('resource_provider', 'in', query.provider);
  if (query.text?.trim()) {
    q = q.where(containsText(query.text, ['title', 'resource_id', 'resource_name']));
  }
  const page = await keysetPage(db, q, {
    scope: sort,
    column,
    valueType: VALUE_TYPE[sort],
    order,
    limit,
    cursor: query.cursor,
  });
  return { items: page.items.map(toSummary), nextCursor: page.nextCursor };
}

/** Where a keyset page starts and how it is ordered: by `column`, then by id. */
export interface Keyset {
  /** What a cursor is issued for; a cursor of another scope is refused. */
  scope: string;
  column: string;
  valueType: 'string' | 'number';
  order: 'asc' | 'desc';
  limit: number;
  cursor?: string;
}

/** The page of `q` after the keyset's cursor, with the signed cursor of the page after it. */
export async function keysetPage<O extends { id: string }>(
  db: Kysely<Database>,
  q: SelectQueryBuilder<any, any, O>,
  keyset: Keyset,
): Promise<Page<O>> {
  const { scope, column, order, limit } = keyset;
  const key = await cursorKey(db);
  if (keyset.cursor) {
    const [value, id] = decodeCursor(key, keyset.cursor, scope, keyset.valueType);
    const op = order === 'desc' ? '<' : '>';
    q = q.where((eb) => eb(eb.refTuple(column, 'id'), op, eb.tuple(value, id)));
  }
  const rows = await q
    .orderBy(column, order)
    .orderBy('id', order)
    .limit(limit + 1)
    .execute();
  return pageOf(rows, limit, (last) =>
    encodeCursor(key, scope, (last as Record<string, unknown>)[column], last.id),
  );
}

/** The page size asked for, 50 when not given; refused outside 1 to MAX_PAGE. */
export function pageLimit(limit = 50): number {
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE) {
    throw invalidInput(`limit must be a whole number from 1 to ${MAX_PAGE}, got ${limit}`);
  }
  return limit;
}

/** A page from `limit + 1` rows read: the extra row only says another page follows. */
export function pageOf<R>(rows: R[], limit: number, cursorAfter: (last: R) => string): Page<R> {
  const items = rows.slice(0, limit);
  const last = items.at(-1);
  return { items, nextCursor: rows.length > limit && last ? cursorAfter(last) : null };
}

/** A filter: `text`, in any case, somewhere in one of `columns`. */
export function containsText(text: string, columns: readonly string[]) {
  const pattern = `%${escapeLike(text.trim().toLowerCase())}%`;
  // SQLite has no default LIKE escape character, so name it for both engines.
  return (eb: ExpressionBuilder<any, any>) =>
    eb.or(columns.map((c) => sql<boolean>`lower(${sql.ref(c)}) like ${pattern} escape '\\'`));
}

export function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (c) => `\\${c}`);
}

/** What a cursor's value must be for each sort: the sort column's type. */
const VALUE_TYPE: Record<SortField, 'string' | 'number'> = {
  created: 'string',
  updated: 'string',
  severity: 'number',
  status: 'string',
  type: 'string',
  title: 'string',
};

/*
 * A cursor is its position, signed with the database's own key (kept in the settings
 * table, made by migration 003): the position goes straight into the query, so only
 * positions this database handed out are accepted.
 */
const keys = new WeakMap<object, Promise<Buffer>>();

export function cursorKey(db: Kysely<Database>): Promise<Buffer> {
  let key = keys.get(db);
  if (!key) {
    key = loadCursorKey(db);
    keys.set(db, key);
    key.catch(() => keys.delete(db));
  }
  return key;
}

async function loadCursorKey(db: Kysely<Database>): Promise<Buffer> {
  const row = await db
    .selectFrom('settings')
    .select('value')
    .where('key', '=', CURSOR_KEY_SETTING)
    .executeTakeFirst();
  if (!row) {
    throw new Error(`the settings table has no ${CURSOR_KEY_SETTING}; migrate the database`);
  }
  return Buffer.from(JSON.parse(row.value) as string, 'hex');
}

const sign = (key: Buffer, payload: string) =>
  createHmac('sha256', key).update(payload).digest('base64url');

/** A signed keyset position: `sort` names the order it belongs to, `value` its column's value. */
export function encodeCursor(key: Buffer, sort: string, value: unknown, id: string): string {
  const payload = Buffer.from(JSON.stringify([sort, value, id])).toString('base64url');
  return `${payload}.${sign(key, payload)}`;
}

export function decodeCursor(
  key: Buffer,
  cursor: string,
  sort: string,
  valueType: 'string' | 'number',
): [string | number, string] {
  const refused = invalidInput('cursor is not one this server issued; start again without it', {
    cursor: cursor.length > 40 ? `${cursor.slice(0, 37)}...` : cursor,
  });
  const [payload = '', signature = '', ...rest] = cursor.split('.');
  const expected = Buffer.from(sign(key, payload));
  const given = Buffer.from(signature);
  if (rest.length > 0 || given.length !== expected.length || !timingSafeEqual(given, expected)) {
    throw refused;
  }
  let parsed: unknown[] | undefined;
  try {
    const value: unknown = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
    parsed = Array.isArray(value) ? value : undefined;
  } catch {
    parsed = undefined;
  }
  const ok =
    parsed !== undefined &&
    parsed.length === 3 &&
    typeof parsed[2] === 'string' &&
    (parsed[0] !== sort || typeof parsed[1] === valueType);
  if (!ok || !parsed) throw refused;
  if (parsed[0] !== sort) {
    throw invalidInput(`cursor was issued for sort "${parsed[0]}", not "${sort}"; keep the sort`);
  }
  return [parsed[1] as string | number, parsed[2] as string];
}
