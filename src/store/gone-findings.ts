import type { Transaction } from 'kysely';
import { appendFindingEvents } from './finding-changes.ts';
import type { FindingRow } from './finding-rows.ts';
import { closeResolvedActions } from './resolved-actions.ts';
import type { Database } from './schema.ts';

type Trx = Transaction<Database>;

/** Ids per statement, under SQLite's limit on bound variables. */
const CHUNK = 500;
/** The resolution of a finding whose resource a complete scan no longer finds. */
export const GONE_RESOLUTION = 'resource gone: a complete scan no longer finds it';

function chunks<T>(list: T[]): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < list.length; i += CHUNK) out.push(list.slice(i, i + CHUNK));
  return out;
}

/**
 * The resources are gone: their open findings resolve, naming that, and each suggested or
 * pending action whose every finding is now resolved is rejected, as when a check passes.
 * Nothing would ever report these findings again. Returns the findings resolved.
 */
export async function resolveGoneFindings(
  trx: Trx,
  resourceIds: string[],
  opts: { actor: string; now: Date },
): Promise<number> {
  const rows: FindingRow[] = [];
  for (const ids of chunks([...new Set(resourceIds)])) {
    rows.push(
      ...(await trx
        .selectFrom('findings')
        .selectAll()
        .where('resource_id', 'in', ids)
        .where('status', '=', 'open')
        .execute()),
    );
  }
  if (rows.length === 0) return 0;
  const now = opts.now.toISOString();
  const set = {
    status: 'resolved',
    resolved_at: now,
    resolution: GONE_RESOLUTION,
    resolved_by_action: null,
    updated_at: now,
  };
  for (const ids of chunks(rows.map((r) => r.id))) {
    await trx.updateTable('findings').set(set).where('id', 'in', ids).execute();
  }
  await appendFindingEvents(
    trx,
    rows.map((row) => ({ row: { ...row, ...set }, change: 'resolved' as const })),
    opts,
    { comment: GONE_RESOLUTION, data: { resourceGone: true } },
  );
  await closeResolvedActions(trx, rows, opts, () => GONE_RESOLUTION);
  return rows.length;
}
