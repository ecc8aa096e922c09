import type { Kysely, Transaction } from 'kysely';
import { DEFAULT_FIX_OPTIONS, type FixOptions } from '../domain/fix-options.ts';
import { DEFAULT_SETTINGS, type RemediationSettings } from '../domain/settings.ts';
import { appendEvent } from './events.ts';
import { dataText } from './rows.ts';
import type { Database } from './schema.ts';

/** A group of settings kept as one row per key under a prefix, with its defaults. */
export interface Group<T extends object> {
  prefix: string;
  defaults: T;
  /** Facts the change's audit event states outright, beyond the before and after values. */
  annotate?: (before: T, after: T) => Record<string, unknown>;
}

const REMEDIATION: Group<RemediationSettings> = {
  prefix: 'remediation.',
  defaults: DEFAULT_SETTINGS,
  // Relaxing four-eyes is a security decision; the audit log names it, not only the diff.
  annotate: (before, after) =>
    before.allowSelfApproval === after.allowSelfApproval
      ? {}
      : { fourEyes: after.allowSelfApproval ? 'relaxed' : 'enforced' },
};
const FIXES: Group<FixOptions> = { prefix: 'fixes.', defaults: DEFAULT_FIX_OPTIONS };

export async function read<T extends object>(
  db: Kysely<Database> | Transaction<Database>,
  group: Group<T>,
): Promise<T> {
  const rows = await db
    .selectFrom('settings')
    .select(['key', 'value'])
    .where('key', 'like', `${group.prefix}%`)
    .execute();
  const values: T = structuredClone(group.defaults);
  for (const row of rows) {
    const key = row.key.slice(group.prefix.length);
    if (key in values) Object.assign(values, { [key]: JSON.parse(row.value) });
  }
  return values;
}

/** Writes a validated patch and audits it with the old and new values. */
export async function write<T extends object>(
  db: Kysely<Database>,
  group: Group<T>,
  patch: Partial<T>,
  input: { actor: string; now: Date },
): Promise<T> {
  return db.transaction().execute(async (trx) => {
    const before = await read(trx, group);
    const now = input.now.toISOString();
    for (const [key, value] of Object.entries(patch)) {
      const row = {
        key: group.prefix + key,
        value: JSON.stringify(value),
        updated_at: now,
        updated_by: input.actor,
      };
      await trx
        .insertInto('settings')
        .values(row)
        .onConflict((oc) =>
          oc
            .column('key')
            .doUpdateSet({ value: row.value, updated_at: now, updated_by: input.actor }),
        )
        .execute();
    }
    const after = { ...before, ...patch };
    await appendEvent(trx, {
      action_id: null,
      at: now,
      actor: input.actor,
      type: 'settings',
      from_status: null,
      to_status: null,
      comment: group.prefix.slice(0, -1),
      data: dataText({ before, after, ...group.annotate?.(before, after) }),
    });
    return after;
  });
}

export const getSettings = (db: Kysely<Database> | Transaction<Database>) => read(db, REMEDIATION);
export const updateSettings = (
  db: Kysely<Database>,
  patch: Partial<RemediationSettings>,
  input: { actor: string; now: Date },
) => write(db, REMEDIATION, patch, input);

export const getFixOptions = (db: Kysely<Database>) => read(db, FIXES);
export const updateFixOptions = (
  db: Kysely<Database>,
  patch: Partial<FixOptions>,
  input: { actor: string; now: Date },
) => write(db, FIXES, patch, input);
