import type { Kysely } from 'kysely';
import type { ChannelInfo, ChannelSecretView, ChannelType, NewChannel } from '../alerts/model.ts';
import { maskTarget } from '../alerts/channels.ts';
import { conflict } from '../domain/errors.ts';
import { openText, sealText } from '../secrets/secret-key.ts';
import { audit, channelByRef, createNamed, type Actor } from './alert-changes.ts';
import type { AlertChannelRow } from './alert-rows.ts';
import { newId } from './ids.ts';
import type { Database } from './schema.ts';

/**
 * A channel counts as failing after this many failed attempts in a row; the dispatcher
 * logs a warning when it crosses it.
 */
export const CHANNEL_FAILING_AFTER = 3;

function toHealth(row: AlertChannelRow, failingAfter: number): ChannelInfo['health'] {
  let state: ChannelInfo['health']['state'] = 'untested';
  if (row.consecutive_failures >= failingAfter) state = 'failing';
  else if (row.last_success_at || row.last_failure_at) state = 'ok';
  return {
    state,
    lastSuccessAt: row.last_success_at,
    lastFailureAt: row.last_failure_at,
    lastError: row.last_error,
    consecutiveFailures: row.consecutive_failures,
  };
}

/**
 * The secrets column holds `{ target, sealed }`: the masked target, which lists show
 * without the key, and the secrets sealed with AES-256-GCM bound to the channel's id.
 * A column without `sealed` was written in clear by an earlier version.
 */
type StoredSecrets = { target: string; sealed: string } | Record<string, string>;

function sealSecrets(
  key: Buffer,
  id: string,
  type: ChannelType,
  config: Record<string, unknown>,
  secrets: Record<string, string>,
): string {
  return JSON.stringify({
    target: maskTarget(type, config, secrets),
    sealed: sealText(key, JSON.stringify(secrets), `alert-channel:${id}`),
  });
}

const isSealed = (stored: StoredSecrets): stored is { target: string; sealed: string } =>
  typeof stored.sealed === 'string';

/** The channel with its secrets opened, or why they cannot be opened with this key. */
export function openChannel(
  row: AlertChannelRow,
  key: Buffer,
): { channel: ChannelSecretView; unreadable: null } | { channel: null; unreadable: string } {
  const stored = JSON.parse(row.secrets) as StoredSecrets;
  let secrets: Record<string, string> = stored;
  if (isSealed(stored)) {
    const text = openText(key, stored.sealed, `alert-channel:${row.id}`);
    if (text === undefined) {
      return {
        channel: null,
        unreadable:
          `cannot decrypt the secrets of alert channel "${row.name}": this server's secret key ` +
          'is not the one they were stored with; give every server the same ' +
          'INFRAUDIT_SECRET_KEY (or the same secret.key file)',
      };
    }
    secrets = JSON.parse(text) as Record<string, string>;
  }
  return {
    channel: {
      id: row.id,
      name: row.name,
      type: row.type as ChannelType,
      config: JSON.parse(row.config) as Record<string, unknown>,
      secrets,
    },
    unreadable: null,
  };
}

function toChannel(row: AlertChannelRow): ChannelInfo {
  const config = JSON.parse(row.config) as Record<string, unknown>;
  const stored = JSON.parse(row.secrets) as StoredSecrets;
  return {
    id: row.id,
    name: row.name,
    type: row.type as ChannelType,
    target: isSealed(stored) ? stored.target : maskTarget(row.type as ChannelType, config, stored),
    config,
    health: toHealth(row, CHANNEL_FAILING_AFTER),
    createdAt: row.created_at,
    createdBy: row.created_by,
  };
}

export async function listChannels(db: Kysely<Database>): Promise<ChannelInfo[]> {
  const rows = await db.selectFrom('alert_channels').selectAll().orderBy('name').execute();
  return rows.map(toChannel);
}

/**
 * The channel (by id or name) with its secrets; not found is an error. The key is asked
 * for only once the channel is found, as only its secrets need it.
 */
export async function channelForSending(
  db: Kysely<Database>,
  ref: string,
  key: () => Buffer,
): Promise<ChannelSecretView> {
  const row = await channelByRef(db, ref);
  const view = openChannel(row, key());
  if (!view.channel) throw conflict(view.unreadable!, { channel: row.name });
  return view.channel;
}

export async function createChannel(
  db: Kysely<Database>,
  secretKey: Buffer,
  input: NewChannel,
  opts: Actor,
) {
  const id = newId();
  const row: AlertChannelRow = {
    id,
    name: input.name,
    type: input.type,
    config: JSON.stringify(input.config),
    secrets: sealSecrets(secretKey, id, input.type, input.config, input.secrets),
    created_at: opts.now.toISOString(),
    created_by: opts.actor,
    last_success_at: null,
    last_failure_at: null,
    last_error: null,
    consecutive_failures: 0,
  };
  const info = toChannel(row);
  await createNamed(db, 'alert_channels', 'channel', input.name, async (trx) => {
    await trx.insertInto('alert_channels').values(row).execute();
    await audit(
      trx,
      'alert channel added',
      { channelId: row.id, name: row.name, channelType: row.type, target: info.target },
      opts,
    );
  });
  return info;
}

export async function removeChannel(db: Kysely<Database>, ref: string, opts: Actor) {
  return db.transaction().execute(async (trx) => {
    const row = await channelByRef(trx, ref);
    const id = row.id;
    const rules = await trx.selectFrom('alert_rules').select(['name', 'channel_ids']).execute();
    const using = rules
      .filter((r) => (JSON.parse(r.channel_ids) as string[]).includes(id))
      .map((r) => r.name);
    if (using.length > 0) {
      throw conflict(
        `alert channel "${row.name}" is used by the rule(s) ${using.join(', ')}; remove ` +
          'those rules first',
        { rules: using },
      );
    }
    await trx.deleteFrom('alert_channels').where('id', '=', id).execute();
    await trx
      .updateTable('alert_deliveries')
      .set({ status: 'cancelled', last_error: 'the channel was removed', lease_owner: null })
      .where('channel_id', '=', id)
      .where('status', 'in', ['pending', 'sending', 'failed'])
      .execute();
    const info = toChannel(row);
    await audit(
      trx,
      'alert channel removed',
      { channelId: id, name: row.name, channelType: row.type, target: info.target },
      opts,
    );
    return info;
  });
}

/** Seals the secrets an earlier version stored in clear; returns how many channels. */
export async function sealLegacy(db: Kysely<Database>, secretKey: Buffer): Promise<number> {
  const rows = await db.selectFrom('alert_channels').selectAll().execute();
  let sealed = 0;
  for (const row of rows) {
    const stored = JSON.parse(row.secrets) as StoredSecrets;
    if (isSealed(stored)) continue;
    const type = row.type as ChannelType;
    const config = JSON.parse(row.config) as Record<string, unknown>;
    const result = await db
      .updateTable('alert_channels')
      .set({ secrets: sealSecrets(secretKey, row.id, type, config, stored) })
      .where('id', '=', row.id)
      .where('secrets', '=', row.secrets)
      .executeTakeFirst();
    sealed += Number(result.numUpdatedRows);
  }
  return sealed;
}
