import type { Kysely } from 'kysely';
import type { Database } from './schema.ts';

export interface IdempotencyClaim {
  principal: string;
  key: string;
  route: string;
  bodyHash: string;
  now: Date;
  ttlMs: number;
  /** A first request still unanswered after this long is presumed dead and taken over. */
  staleMs: number;
}

export type IdempotencyOutcome =
  | { state: 'new' }
  | { state: 'replay'; statusCode: number; response: string }
  | { state: 'in_progress' }
  | { state: 'mismatch'; route: string };

export interface IdempotencyStore {
  /**
   * Claims a key for a first request, or says what the earlier request with it became.
   * Of concurrent first requests with one key, exactly one gets `new`.
   */
  claimIdempotencyKey(claim: IdempotencyClaim): Promise<IdempotencyOutcome>;
  /** Keeps the answer to replay; `null` forgets the key so a retry runs afresh. */
  settleIdempotencyKey(
    principal: string,
    key: string,
    answer: { statusCode: number; response: string } | null,
  ): Promise<void>;
}

export function idempotencyStore(db: Kysely<Database>): IdempotencyStore {
  return {
    claimIdempotencyKey: (claim) => claimKey(db, claim),
    settleIdempotencyKey: (principal, key, answer) => settleKey(db, principal, key, answer),
  };
}

async function claimKey(db: Kysely<Database>, c: IdempotencyClaim): Promise<IdempotencyOutcome> {
  const now = c.now.toISOString();
  return db.transaction().execute(async (trx) => {
    await trx.deleteFrom('idempotency_keys').where('expires_at', '<=', now).execute();
    const staleBefore = new Date(c.now.getTime() - c.staleMs).toISOString();
    await trx
      .deleteFrom('idempotency_keys')
      .where('principal', '=', c.principal)
      .where('key', '=', c.key)
      .where('status_code', 'is', null)
      .where('created_at', '<', staleBefore)
      .execute();
    const inserted = await trx
      .insertInto('idempotency_keys')
      .values({
        principal: c.principal,
        key: c.key,
        route: c.route,
        body_hash: c.bodyHash,
        status_code: null,
        response: null,
        created_at: now,
        expires_at: new Date(c.now.getTime() + c.ttlMs).toISOString(),
      })
      .onConflict((oc) => oc.columns(['principal', 'key']).doNothing())
      .returning('key')
      .executeTakeFirst();
    if (inserted) return { state: 'new' };
    const row = await trx
      .selectFrom('idempotency_keys')
      .selectAll()
      .where('principal', '=', c.principal)
      .where('key', '=', c.key)
      .executeTakeFirstOrThrow();
    if (row.route !== c.route || row.body_hash !== c.bodyHash) {
      return { state: 'mismatch', route: row.route };
    }
    if (row.status_code === null) return { state: 'in_progress' };
    return { state: 'replay', statusCode: row.status_code, response: row.response ?? '' };
  });
}

async function settleKey(
  db: Kysely<Database>,
  principal: string,
  key: string,
  answer: { statusCode: number; response: string } | null,
): Promise<void> {
  const row = db
    .updateTable('idempotency_keys')
    .where('principal', '=', principal)
    .where('key', '=', key);
  if (answer) {
    await row.set({ status_code: answer.statusCode, response: answer.response }).execute();
  } else {
    await db
      .deleteFrom('idempotency_keys')
      .where('principal', '=', principal)
      .where('key', '=', key)
      .execute();
  }
}
