import { type ExpressionBuilder, type Kysely, sql, type Transaction } from 'kysely';
import { governs, type MaintenanceWindow, windowIsOpen } from '../domain/maintenance.ts';
import type { Database } from './schema.ts';
import { escapeLike } from './list.ts';
import { getSettings } from './settings.ts';

type Db = Kysely<Database> | Transaction<Database>;

/** The resources whose executions must wait now: whole accounts, and single resources. */
export interface Held {
  accounts: string[];
  resourceIds: string[];
}

/**
 * What the maintenance windows closed at `now` hold back. An account-only window holds its
 * whole account; a tag window holds the resources the inventory saw with that tag (in its
 * account, when it names one). Null when nothing is held.
 */
export async function heldByWindows(db: Db, now: Date): Promise<Held | null> {
  const { maintenanceWindows } = await getSettings(db);
  const closed = maintenanceWindows.filter((w) => !windowIsOpen(w, now));
  if (closed.length === 0) return null;
  const accounts = closed.filter((w) => w.tag === undefined).map((w) => w.account!);
  const resourceIds = new Set<string>();
  for (const window of closed.filter((w) => w.tag !== undefined)) {
    for (const id of await taggedResources(db, window)) resourceIds.add(id);
  }
  return { accounts, resourceIds: [...resourceIds] };
}

async function taggedResources(db: Db, window: MaintenanceWindow): Promise<string[]> {
  const key = window.tag!.slice(0, window.tag!.indexOf('='));
  let query = db
    .selectFrom('resources')
    .select(['id', 'account', 'tags'])
    .where('gone_at', 'is', null)
    // A coarse text match narrows the rows; the parsed tags decide.
    .where(sql<boolean>`tags like ${`%${escapeLike(JSON.stringify(key))}%`} escape '\\'`);
  if (window.account !== undefined) query = query.where('account', '=', window.account);
  const rows = await query.execute();
  return rows
    .filter((row) => governs(window, { account: row.account, tags: parseTags(row.tags) }))
    .map((row) => row.id);
}

/** A claim-query condition: rollbacks always pass; executions only outside held resources. */
export function notHeld(held: Held) {
  return (eb: ExpressionBuilder<Database, 'actions'>) => {
    const free = [];
    if (held.accounts.length) free.push(eb('resource_account', 'not in', held.accounts));
    if (held.resourceIds.length) free.push(eb('resource_id', 'not in', held.resourceIds));
    return eb.or([eb('requested_op', '=', 'rollback'), eb.and(free)]);
  };
}

/** The inventory's tags for a resource; none when it was never scanned. */
export async function resourceTags(db: Db, resourceId: string): Promise<Record<string, string>> {
  const row = await db
    .selectFrom('resources')
    .select('tags')
    .where('id', '=', resourceId)
    .executeTakeFirst();
  return row ? parseTags(row.tags) : {};
}

function parseTags(text: string): Record<string, string> {
  try {
    const tags = JSON.parse(text) as unknown;
    return tags && typeof tags === 'object' ? (tags as Record<string, string>) : {};
  } catch {
    return {};
  }
}
