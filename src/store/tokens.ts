import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { Kysely, Transaction } from 'kysely';
import { conflict, notFound } from '../domain/errors.ts';
import type { Role } from '../domain/status.ts';
import { isUniqueViolation } from './actions.ts';
import { appendEvent } from './events.ts';
import { dataText } from './rows.ts';
import type { Database, TokenRow } from './schema.ts';
import type { ApiToken, TokenInfo } from './store.ts';

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
});

const toInfo = (row: TokenRow): TokenInfo => ({
  ...toToken(row),
  revokedAt: row.revoked_at,
  revokedBy: row.revoked_by,
});

const nameTaken = (name: string) =>
  conflict(
    `a token named "${name}" already exists (names stay taken after a revocation, because ` +
      'the audit trail names actors by them); choose another --name',
    { name },
  );

export async function createToken(
  db: Kysely<Database>,
  input: { role: Role; name: string; now: Date; actor?: string },
): Promise<{ token: string; info: ApiToken }> {
  const token = `ia_${randomBytes(32).toString('base64url')}`;
  const row: TokenRow = {
    id: randomUUID(),
    name: input.name,
    role: input.role,
    hash: hash(token),
    created_at: input.now.toISOString(),
    revoked_at: null,
    revoked_by: null,
  };
  try {
    await db.transaction().execute(async (trx) => {
      const same = await trx
        .selectFrom('api_tokens')
        .select('id')
        .where('name', '=', input.name)
        .executeTakeFirst();
      if (same) throw nameTaken(input.name);
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
  return found && found.revokedAt === null ? toApiToken(found) : undefined;
}

export async function lookupToken(db: Kysely<Database>, token: string) {
  const row = await db
    .selectFrom('api_tokens')
    .selectAll()
    .where('hash', '=', hash(token))
    .executeTakeFirst();
  return row ? toInfo(row) : undefined;
}

const toApiToken = ({ id, name, role, createdAt }: TokenInfo): ApiToken => ({
  id,
  name,
  role,
  createdAt,
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
      .select('id')
      .where('role', '=', 'admin')
      .where('revoked_at', 'is', null);
    if (engine === 'postgres') admins = admins.forUpdate();
    const activeAdmins = await admins.execute();

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
    if (row.role === 'admin' && activeAdmins.length <= 1) {
      throw conflict(
        `token "${row.name}" is the last active admin token; without one nobody could ` +
          'approve, execute or create tokens any more. Create another admin token first ' +
          '(infraudit tokens create --role admin), then revoke this one',
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
    data: dataText({ tokenId: row.id, name: row.name, role: row.role }),
  });
}
