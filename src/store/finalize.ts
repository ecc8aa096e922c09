import type { Kysely } from 'kysely';
import { appendEvent } from './events.ts';
import { dataText, toAction } from './rows.ts';
import type { Database } from './schema.ts';

export async function finalizable(db: Kysely<Database>, types: string[], now: Date, limit: number) {
  if (types.length === 0) return [];
  const rows = await db
    .selectFrom('actions')
    .selectAll()
    .where('status', '=', 'completed')
    .where('finalized_at', 'is', null)
    // A rollback requested inside the window goes first; the step waits for its outcome.
    .where('requested_op', 'is', null)
    .where('rollback_deadline', '<=', now.toISOString())
    .where('type', 'in', types)
    .orderBy('rollback_deadline')
    .limit(limit)
    .execute();
  return rows.map(toAction);
}

/**
 * Claims the finalize step by stamping it, in the same transaction as its audit event.
 * The engine stamps before acting, so across engines the step runs at most once; a crash
 * in between leaves the stamp and an audit entry saying the step was started.
 */
export async function markFinalized(
  db: Kysely<Database>,
  id: string,
  version: number,
  input: { now: Date; message: string },
): Promise<boolean> {
  return db.transaction().execute(async (trx) => {
    const result = await trx
      .updateTable('actions')
      .set({ finalized_at: input.now.toISOString(), version: version + 1 })
      .where('id', '=', id)
      .where('version', '=', version)
      .where('status', '=', 'completed')
      .where('finalized_at', 'is', null)
      .where('requested_op', 'is', null)
      .executeTakeFirst();
    if (Number(result.numUpdatedRows) !== 1) return false;
    await appendEvent(trx, {
      action_id: id,
      at: input.now.toISOString(),
      actor: 'system',
      type: 'finalize',
      from_status: 'completed',
      to_status: null,
      comment: input.message,
      data: dataText(null),
    });
    return true;
  });
}
