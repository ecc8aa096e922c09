import type { Kysely } from 'kysely';
import { WINDOW_CLOSING_EVENT } from '../alerts/model.ts';
import { appendEvent } from './events.ts';
import { dataText } from './rows.ts';
import type { Database } from './schema.ts';

export async function warnClosingWindows(
  db: Kysely<Database>,
  opts: { now: Date; warnMs: number; limit: number },
): Promise<string[]> {
  const now = opts.now.toISOString();
  const soon = new Date(opts.now.getTime() + opts.warnMs).toISOString();
  const candidates = await db
    .selectFrom('actions')
    .select(['id', 'rollback_deadline'])
    .where('status', '=', 'completed')
    .where('window_warned_at', 'is', null)
    .where('rollback_deadline', '>', now)
    .where('rollback_deadline', '<=', soon)
    .orderBy('rollback_deadline')
    .limit(opts.limit)
    .execute();
  const warned: string[] = [];
  for (const candidate of candidates) {
    const won = await db.transaction().execute(async (trx) => {
      // No version bump: the warning must never make a person's rollback conflict.
      const result = await trx
        .updateTable('actions')
        .set({ window_warned_at: now })
        .where('id', '=', candidate.id)
        .where('status', '=', 'completed')
        .where('window_warned_at', 'is', null)
        .executeTakeFirst();
      if (Number(result.numUpdatedRows) !== 1) return false;
      await appendEvent(trx, {
        action_id: candidate.id,
        at: now,
        actor: 'system',
        type: WINDOW_CLOSING_EVENT,
        from_status: 'completed',
        to_status: null,
        comment: `the rollback window closes at ${candidate.rollback_deadline}`,
        data: dataText({ rollbackDeadline: candidate.rollback_deadline }),
      });
      return true;
    });
    if (won) warned.push(candidate.id);
  }
  return warned;
}
