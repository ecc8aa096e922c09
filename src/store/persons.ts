import type { Kysely, Transaction } from 'kysely';
import type { Database } from './schema.ts';

/**
 * The person behind an actor, as four-eyes compares them. A user is itself. A token acts
 * for whoever created it: a user, or the person of the token that created it. The token
 * the server makes at first start ("system") belongs to the user it makes at first start,
 * `admin`, and stops while that user is disabled. Anything else (a token made by the local
 * CLI, which needs the database itself) is its own person.
 */
export const FIRST_START_USER = 'admin';
export const FIRST_START_PERSON = `user:${FIRST_START_USER}`;

export interface TokenOwner {
  /** `user:<name>` or `token:<name>`. */
  person: string;
  /** The user whose disabling stops the token; null when no user created the chain. */
  user: string | null;
}

export function personOfCreator(
  createdBy: string,
  tokenName: string,
  tokenOwner: (name: string) => TokenOwner | undefined,
): TokenOwner {
  if (createdBy.startsWith('user:')) return { person: createdBy, user: createdBy.slice(5) };
  if (createdBy.startsWith('token:')) {
    const parent = tokenOwner(createdBy.slice(6));
    if (parent) return parent;
  }
  if (createdBy === 'system') return { person: FIRST_START_PERSON, user: FIRST_START_USER };
  return { person: `token:${tokenName}`, user: null };
}

type Db = Kysely<Database> | Transaction<Database>;

async function ownerOfToken(db: Db, name: string): Promise<TokenOwner | undefined> {
  const row = await db
    .selectFrom('api_tokens')
    .select(['person', 'created_by_user'])
    .where('name', '=', name)
    .executeTakeFirst();
  if (!row) return undefined;
  return { person: row.person ?? `token:${name}`, user: row.created_by_user };
}

/** The owner a new token named `tokenName`, created by `createdBy`, gets. */
export async function ownerForNewToken(
  db: Db,
  createdBy: string,
  tokenName: string,
): Promise<TokenOwner> {
  const parent = createdBy.startsWith('token:')
    ? await ownerOfToken(db, createdBy.slice(6))
    : undefined;
  return personOfCreator(createdBy, tokenName, () => parent);
}

/** The person an audit actor (`user:<name>`, `token:<name>`, `system:...`) stands for. */
export async function personOf(db: Db, actor: string): Promise<string> {
  if (!actor.startsWith('token:')) return actor;
  return (await ownerOfToken(db, actor.slice(6)))?.person ?? actor;
}
