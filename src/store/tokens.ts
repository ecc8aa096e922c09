import { createHash, randomBytes } from 'node:crypto';
import type { Kysely, Transaction } from 'kysely';
import { conflict, notFound } from '../domain/errors.ts';
import type { Role } from '../domain/status.ts';
import { isUniqueViolation } from './actions.ts';
import { ownerForNewToken } from './persons.ts';
import { appendEvent } from './events.ts';
import { dataText } from './rows.ts';
import type { Database, TokenRow } from './schema.ts';
import type { ApiToken, TokenInfo } from './store.ts';
import { newId } from './ids.ts';

/**
 * Tokens are 256 random bits, so a plain SHA-256 is enough to store them: unlike a
 * password there is nothing to guess, and lookups stay one indexed read.
 */
const hash = (token: string) => createHash('sha256').update(token).digest('hex');

const toToken = (row: TokenRow): ApiToken => ({
  id: row.id,
  name: row.name,
  role: row.role as Role,
  createdAt: row.created_at,
  expiresAt: row.expires_at ?? null,
});

const toInfo = (row: TokenRow): TokenInfo => ({
  ...toToken(row),
  revokedAt: row.revoked_at,
  revokedBy: row.revoked_by,
  createdBy: row.created_by ?? 'unknown',
});

const nameTaken = (name: string) =>
  conflict(
    `a token named "${name}" already exists (names stay taken after a revocation, because ` +
      'the audit trail names actors by them); choose another --name',
    { name },
  );

export async function createToken(
  db: Kysely<Database>,
  input: { role: Role; name: string; now: Date; actor?: string; expiresAt?: string | null },
): Promise<{ token: string; info: ApiToken }> {
  const token = `ia_${randomBytes(32).toString('base64url')}`;
  const createdBy = input.actor ?? 'local';
  const row: TokenRow = {
    id: newId(),
    name: input.name,
    role: input.role,
    hash: hash(token),
    created_at: input.now.toISOString(),
    revoked_at: null,
    revoked_by: null,
    expires_at: input.expiresAt ?? null,
    created_by: createdBy,
    created_by_user: null,
    person: null,
  };
  try {
    await db.transaction().execute(async (trx) => {
      const same = await trx
        .selectFrom('api_tokens')
        .select('id')
        .where('name', '=', input.name)
        .executeTakeFirst();
      if (same) throw nameTaken(input.name);
      const owner = await ownerForNewToken(trx, createdBy, input.name);
      row.created_by_user = owner.user;
      row.person = owner.person;
      await trx.insertInto('api_tokens').values(row).execute();
      if (input.actor) await audit(trx, row, 'token created', input.actor, input.now);
    });
  } catch (error) {
    // Two creations racing for one name: the unique index lets only one in.
    if (isUniqueViolation(error)) throw nameTaken(input.name);
    throw error;
  }
  return { token, info: toToken(row) };
}

export async function findToken(db: Kysely<Database>, token: string) {
  const found = await lookupToken(db, token);
  return found && found.revokedAt === null && found.ownerDisabledAt === null
    ? toApiToken(found)
    : undefined;
}

/**
 * A presented token, revoked or not, with `ownerDisabledAt`: when the user who created it
 * (directly or through other tokens) is disabled, the token is refused with them.
 */
export async function lookupToken(db: Kysely<Database>, token: string) {
  const row = await db
    .selectFrom('api_tokens as t')
    .leftJoin('users as u', 'u.username', 't.created_by_user')
    .selectAll('t')
    .select(['u.disabled_at as owner_disabled_at'])
    .where('t.hash', '=', hash(token))
    .executeTakeFirst();
  if (!row) return undefined;
  const { owner_disabled_at: ownerDisabledAt, ...tokenRow } = row;
  return {
    ...toInfo(tokenRow),
    ownerUser: tokenRow.created_by_user,
    ownerDisabledAt: ownerDisabledAt ?? null,
  };
}

const toApiToken = ({ id, name, role, createdAt, expiresAt }: ApiToken): ApiToken => ({
  id,
  name,
  role,
  createdAt,
  expiresAt,
});

export async function countTokens(db: Kysely<Database>): Promise<number> {
  const row = await db
    .selectFrom('api_tokens')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('revoked_at', 'is', null)
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

export async function listTokens(db: Kysely<Database>): Promise<TokenInfo[]> {
  const rows = await db
    .selectFrom('api_tokens')
    .selectAll()
    .orderBy('created_at')
    .orderBy('id')
    .execute();
  return rows.map(toInfo);
}

/**
 * Revokes one token. On PostgreSQL the active admin tokens are locked first, so two
 * admins revoking each other at once cannot both succeed and leave none; the SQLite
 * store runs one call at a time anyway.
 */
export async function revokeToken(
  db: Kysely<Database>,
  engine: 'sqlite' | 'postgres',
  id: string,
  input: { actor: string; now: Date },
): Promise<TokenInfo> {
  return db.transaction().execute(async (trx) => {
    let admins = trx
      .selectFrom('api_tokens')
      .select(['id', 'expires_at', 'created_by_user'])
      .where('role', '=', 'admin')
      .where('revoked_at', 'is', null);
    if (engine === 'postgres') admins = admins.forUpdate();
    const activeAdmins = await admins.execute();
    // Only a credential that keeps working counts: an expiring token will stop by itself,
    // and a token whose creating user is disabled is refused already.
    const disabled = new Set(
      (
        await trx
          .selectFrom('users')
          .select('username')
          .where('disabled_at', 'is not', null)
          .execute()
      ).map((u) => u.username),
    );
    const lasting = activeAdmins.filter(
      (t) =>
        t.expires_at === null && (t.created_by_user === null || !disabled.has(t.created_by_user)),
    );

    const row = await trx
      .selectFrom('api_tokens')
      .selectAll()
      .where('id', '=', id)
      .executeTakeFirst();
    if (!row) throw notFound(`no token with id "${id}"; list the tokens to find its id`);
    if (row.revoked_at !== null) {
      const by = row.revoked_by ?? 'unknown';
      throw conflict(`token "${row.name}" was already revoked at ${row.revoked_at} by ${by}`, {
        id,
        revokedAt: row.revoked_at,
      });
    }
    if (row.role === 'admin' && !lasting.some((t) => t.id !== id)) {
      throw conflict(
        `token "${row.name}" is the last active admin token that keeps working (admin ` +
          'tokens with an expiry, and tokens whose creating user is disabled, do not count); ' +
          'without one nobody could approve, execute or create tokens any more. Create ' +
          'another admin token first, without --expires-in (infraudit tokens create --role ' +
          'admin), then revoke this one',
        { id, role: 'admin' },
      );
    }
    const revoked = { ...row, revoked_at: input.now.toISOString(), revoked_by: input.actor };
    await trx
      .updateTable('api_tokens')
      .set({ revoked_at: revoked.revoked_at, revoked_by: revoked.revoked_by })
      .where('id', '=', id)
      .execute();
    await audit(trx, revoked, 'token revoked', input.actor, input.now);
    return toInfo(revoked);
  });
}

/** Token changes are audited like settings changes: an event that belongs to no action. */
async function audit(
  trx: Transaction<Database>,
  row: TokenRow,
  what: string,
  actor: string,
  now: Date,
): Promise<void> {
  await appendEvent(trx, {
    action_id: null,
    at: now.toISOString(),
    actor,
    type: 'token',
    from_status: null,
    to_status: null,
    comment: what,
    data: dataText({
      tokenId: row.id,
      name: row.name,
      role: row.role,
      ...(row.expires_at ? { expiresAt: row.expires_at } : {}),
    }),
  });
}
