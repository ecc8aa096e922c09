import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Role } from '../domain/status.ts';
import type { Database, TokenRow } from './schema.ts';
import type { ApiToken } from './store.ts';

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

export async function createToken(
  db: Kysely<Database>,
  input: { role: Role; name: string; now: Date },
): Promise<{ token: string; info: ApiToken }> {
  const token = `ia_${randomBytes(32).toString('base64url')}`;
  const row: TokenRow = {
    id: randomUUID(),
    name: input.name,
    role: input.role,
    hash: hash(token),
    created_at: input.now.toISOString(),
    revoked_at: null,
  };
  await db.insertInto('api_tokens').values(row).execute();
  return { token, info: toToken(row) };
}

export async function findToken(db: Kysely<Database>, token: string) {
  const row = await db
    .selectFrom('api_tokens')
    .selectAll()
    .where('hash', '=', hash(token))
    .where('revoked_at', 'is', null)
    .executeTakeFirst();
  return row ? toToken(row) : undefined;
}

export async function countTokens(db: Kysely<Database>): Promise<number> {
  const row = await db
    .selectFrom('api_tokens')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('revoked_at', 'is', null)
    .executeTakeFirstOrThrow();
  return Number(row.n);
}
