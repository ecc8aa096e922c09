import type { Kysely } from 'kysely';
import { DEFAULT_SETTINGS, type RemediationSettings } from '../domain/settings.ts';
import { dataText } from './rows.ts';
import type { Database } from './schema.ts';

const PREFIX = 'remediation.';

export async function getSettings(db: Kysely<Database>): Promise<RemediationSettings> {
  const rows = await db
    .selectFrom('settings')
    .select(['key', 'value'])
    .where('key', 'like', `${PREFIX}%`)
    .execute();
  const settings: RemediationSettings = { ...DEFAULT_SETTINGS };
  for (const row of rows) {
    const key = row.key.slice(PREFIX.length);
    if (key in settings) Object.assign(settings, { [key]: JSON.parse(row.value) });
  }
  return settings;
}

/** Writes a validated patch and audits it with the old and new values. */
export async function updateSettings(
  db: Kysely<Database>,
  patch: Partial<RemediationSettings>,
  input: { actor: string; now: Date },
): Promise<RemediationSettings> {
  return db.transaction().execute(async (trx) => {
    const before = await getSettings(trx);
    const now = input.now.toISOString();
    for (const [key, value] of Object.entries(patch)) {
      const row = { key: PREFIX + key, value: JSON.stringify(value), updated_at: now, updated_by: input.actor };
      await trx
        .insertInto('settings')
        .values(row)
        .onConflict((oc) => oc.column('key').doUpdateSet({ value: row.value, updated_at: now, updated_by: input.actor }))
        .execute();
    }
    const after = { ...before, ...patch };
    await trx
      .insertInto('events')
      .values({
        action_id: null,
        at: now,
        actor: input.actor,
        type: 'settings',
        from_status: null,
        to_status: null,
        comment: null,
        data: dataText({ before, after }),
      })
      .execute();
    return after;
  });
}
