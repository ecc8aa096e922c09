import { randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';

/** The settings row holding the key that signs list cursors; see list.ts. */
export const CURSOR_KEY_SETTING = 'internal.cursorKey';

/**
 * Token names become unique, because the audit trail names an actor `token:<name>`;
 * tokens record who revoked them; and the database gets its own key for signing list
 * cursors, so a page cursor cannot be forged.
 */
export async function up(db: Kysely<any>): Promise<void> {
  // Earlier versions allowed duplicate names. The oldest token keeps its name; each later
  // one gets its id's first block appended, so the unique index can be built.
  const tokens: { id: string; name: string }[] = await db
    .selectFrom('api_tokens')
    .select(['id', 'name'])
    .orderBy('created_at')
    .orderBy('id')
    .execute();
  const taken = new Set(tokens.map((t) => t.name));
  const kept = new Set<string>();
  for (const token of tokens) {
    if (!kept.has(token.name)) {
      kept.add(token.name);
      continue;
    }
    let name = `${token.name}-${token.id.slice(0, 8)}`;
    for (let n = 2; taken.has(name); n++) name = `${token.name}-${token.id.slice(0, 8)}-${n}`;
    taken.add(name);
    kept.add(name);
    await db.updateTable('api_tokens').set({ name }).where('id', '=', token.id).execute();
  }
  await db.schema.createIndex('api_tokens_name').on('api_tokens').column('name').unique().execute();
  await db.schema.alterTable('api_tokens').addColumn('revoked_by', 'text').execute();

  await db
    .insertInto('settings')
    .values({
      key: CURSOR_KEY_SETTING,
      value: JSON.stringify(randomBytes(32).toString('hex')),
      updated_at: new Date().toISOString(),
      updated_by: 'system',
    })
    .execute();
}
