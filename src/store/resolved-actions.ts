import type { Transaction } from 'kysely';
import type { FindingRow } from './finding-rows.ts';
import type { Database } from './schema.ts';
import { applyTransition } from './transition.ts';

type Trx = Transaction<Database>;

/** Statuses of actions a resolution closes: nobody has approved them yet. */
const CLOSABLE = ['suggested', 'pending_approval'];

/**
 * Rejects each suggested or pending action whose every linked finding is now resolved,
 * as `system`, with the comment `resolved: <reason>` for the first resolved finding that
 * links it. An action linked to a finding that is not stored (suggested by hand) is left
 * to people, and so is one somebody approved.
 */
export async function closeResolvedActions(
  trx: Trx,
  resolved: FindingRow[],
  opts: { now: Date },
  reasonOf: (finding: FindingRow) => string,
): Promise<void> {
  if (resolved.length === 0) return;
  const candidates = new Map<string, string>();
  for (const finding of resolved) {
    const links = await trx
      .selectFrom('action_findings')
      .innerJoin('actions', 'actions.id', 'action_findings.action_id')
      .select('actions.id')
      .where('action_findings.origin', '=', finding.origin)
      .where('action_findings.finding_id', '=', finding.key)
      .where('actions.status', 'in', CLOSABLE)
      .execute();
    for (const link of links) {
      if (!candidates.has(link.id)) candidates.set(link.id, reasonOf(finding));
    }
  }
  for (const [actionId, reason] of candidates) {
    const links = await trx
      .selectFrom('action_findings')
      .leftJoin('findings', (join) =>
        join
          .onRef('findings.origin', '=', 'action_findings.origin')
          .onRef('findings.key', '=', 'action_findings.finding_id'),
      )
      .select(['findings.status'])
      .where('action_findings.action_id', '=', actionId)
      .execute();
    if (!links.every((link) => link.status === 'resolved')) continue;
    const row = await trx
      .selectFrom('actions')
      .selectAll()
      .where('id', '=', actionId)
      .executeTakeFirstOrThrow();
    await applyTransition(trx, row, 'reject', {
      actor: 'system',
      now: opts.now,
      comment: `resolved: ${reason}`,
    });
  }
}
