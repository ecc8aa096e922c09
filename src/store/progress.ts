import type { Kysely } from 'kysely';
import type { SealedSecret } from '../domain/action.ts';
import { conflict } from '../domain/errors.ts';
import { appendEvent } from './events.ts';
import { dataText } from './rows.ts';
import type { Database } from './schema.ts';

/**
 * Writes made by the engine while it runs an action. Each names the lease it holds, so an
 * engine that lost the action to another cannot write over it.
 */
async function leasedUpdate(
  db: Kysely<Database>,
  id: string,
  owner: string,
  set: { progress?: string; sealed_secret?: string },
  what: string,
) {
  const result = await db
    .updateTable('actions')
    .set(set)
    .where('id', '=', id)
    .where('lease_owner', '=', owner)
    .where('status', 'in', ['executing', 'rolling_back'])
    .executeTakeFirst();
  if (Number(result.numUpdatedRows) !== 1) {
    throw conflict(`lost the lease on action ${id} before its ${what} was stored`);
  }
}

export function saveProgress(
  db: Kysely<Database>,
  id: string,
  progress: Record<string, unknown>,
  owner: string,
) {
  return leasedUpdate(db, id, owner, { progress: JSON.stringify(progress) }, 'progress');
}

export function saveSealedSecret(
  db: Kysely<Database>,
  id: string,
  secret: SealedSecret,
  owner: string,
) {
  return leasedUpdate(db, id, owner, { sealed_secret: JSON.stringify(secret) }, 'sealed secret');
}

/** One taker wins: the secret is cleared in the same conditional write that reads it. */
export async function takeSealedSecret(
  db: Kysely<Database>,
  id: string,
  input: { actor: string; now: Date },
): Promise<SealedSecret | undefined> {
  return db.transaction().execute(async (trx) => {
    const row = await trx
      .selectFrom('actions')
      .select(['sealed_secret', 'status'])
      .where('id', '=', id)
      .executeTakeFirst();
    if (!row?.sealed_secret) return undefined;
    const result = await trx
      .updateTable('actions')
      .set({ sealed_secret: null })
      .where('id', '=', id)
      .where('sealed_secret', '=', row.sealed_secret)
      .executeTakeFirst();
    if (Number(result.numUpdatedRows) !== 1) return undefined;
    const secret = JSON.parse(row.sealed_secret) as SealedSecret;
    await appendEvent(trx, {
      action_id: id,
      at: input.now.toISOString(),
      actor: input.actor,
      type: 'note',
      from_status: row.status,
      to_status: null,
      comment: `the sealed secret "${secret.name}" was handed over and removed from the server`,
      data: dataText({ secret: secret.name }),
    });
    return secret;
  });
}
