import type { Kysely } from 'kysely';
import { personOfCreator, type TokenOwner } from '../persons.ts';

/**
 * Who stands behind a token and an action. A token records who created it (`created_by`),
 * the user at the root of that chain whose disabling stops it (`created_by_user`), and the
 * person it acts for (`person`); an action records the person who asked for it, so
 * four-eyes compares people rather than actor names. Tokens and actions from before are
 * filled in from the audit trail's "token created" events.
 *
 * `login_failures.attempt` names one counted sign-in attempt, so a successful one can take
 * back exactly its own row.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('api_tokens').addColumn('created_by', 'text').execute();
  await db.schema.alterTable('api_tokens').addColumn('created_by_user', 'text').execute();
  await db.schema.alterTable('api_tokens').addColumn('person', 'text').execute();
  await db.schema.alterTable('actions').addColumn('created_by_person', 'text').execute();
  await db.schema.alterTable('login_failures').addColumn('attempt', 'text').execute();
  await fillOwners(db);
}

/** Fills the new columns of the tokens and actions from before. */
export async function fillOwners(db: Kysely<any>): Promise<void> {
  const creators = new Map<string, string>();
  const events = await db
    .selectFrom('events')
    .select(['actor', 'data'])
    .where('type', '=', 'token')
    .where('comment', '=', 'token created')
    .orderBy('id')
    .execute();
  for (const event of events) {
    const tokenId = tokenIdOf(event.data);
    if (tokenId) creators.set(tokenId, String(event.actor));
  }

  const tokens = await db.selectFrom('api_tokens').select(['id', 'name']).execute();
  const createdByOf = new Map(
    tokens.map((t) => [String(t.name), creators.get(String(t.id)) ?? 'unknown']),
  );
  // Tokens made in one millisecond have no order to go by, so a parent is resolved on
  // demand; `seen` stops a chain that somehow loops.
  const byName = new Map<string, TokenOwner>();
  const ownerOf = (name: string, seen: Set<string>): TokenOwner | undefined => {
    const createdBy = createdByOf.get(name);
    if (createdBy === undefined || seen.has(name)) return undefined;
    const known = byName.get(name);
    if (known) return known;
    seen.add(name);
    const owner = personOfCreator(createdBy, name, (parent) => ownerOf(parent, seen));
    byName.set(name, owner);
    return owner;
  };
  for (const token of tokens) {
    const name = String(token.name);
    const owner = ownerOf(name, new Set())!;
    await db
      .updateTable('api_tokens')
      .set({ created_by: createdByOf.get(name), created_by_user: owner.user, person: owner.person })
      .where('id', '=', token.id)
      .execute();
  }

  const actors = await db.selectFrom('actions').select('created_by').distinct().execute();
  for (const { created_by: actor } of actors) {
    const name = String(actor).startsWith('token:') ? String(actor).slice(6) : undefined;
    const person = name === undefined ? String(actor) : (byName.get(name)?.person ?? actor);
    await db
      .updateTable('actions')
      .set({ created_by_person: person })
      .where('created_by', '=', actor)
      .execute();
  }
}

function tokenIdOf(data: unknown): string | undefined {
  if (typeof data !== 'string') return undefined;
  try {
    const parsed = JSON.parse(data) as { tokenId?: unknown };
    return typeof parsed.tokenId === 'string' ? parsed.tokenId : undefined;
  } catch {
    return undefined;
  }
}
