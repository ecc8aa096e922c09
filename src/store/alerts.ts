import { randomUUID } from 'node:crypto';
import type { ExpressionBuilder, Insertable, Kysely, Selectable, Transaction } from 'kysely';
import {
  alertEventOf,
  findingSeverity,
  WINDOW_CLOSING_EVENT,
  type AlertEvent,
  type AlertFacts,
  type AttemptInfo,
  type ChannelInfo,
  type ChannelSecretView,
  type ChannelType,
  type ClaimedDelivery,
  type DeliveryInfo,
  type DeliveryStatus,
  type NewChannel,
  type NewRule,
  type RuleInfo,
} from '../alerts/model.ts';
import { maskTarget } from '../alerts/channels.ts';
import { conflict, invalidInput, notFound } from '../domain/errors.ts';
import { severityRank, type Severity } from '../domain/status.ts';
import { isUniqueViolation } from './actions.ts';
import type { AlertChannelRow, AlertDeliveryRow, AlertRuleRow } from './alert-rows.ts';
import { appendEvent, type NewEvent } from './events.ts';
import { dataText, toResourceRef } from './rows.ts';
import { openText, sealText } from '../secrets/secret-key.ts';
import type { Database, EventRow } from './schema.ts';

type Actor = { actor: string; now: Date };

export interface DeliveryQuery {
  status?: DeliveryStatus[];
  channelId?: string;
  /** 1 to 500; newest first. */
  limit?: number;
}

/** The outcome of one send, as the dispatcher records it. */
export interface AttemptRecord {
  now: Date;
  durationMs: number;
  ok: boolean;
  statusCode: number | null;
  error: string | null;
  /**
   * What the delivery becomes after a failed send: `pending` (the next try of this round),
   * `failed` (its round is over; the next round starts at `retryAt`), `expired` (too old to
   * try again) or `cancelled` (its channel is gone). A success is always `delivered`.
   */
  next: 'pending' | 'failed' | 'expired' | 'cancelled';
  /** When to try again; required for `pending` and `failed`. */
  retryAt: Date | null;
}

export interface AlertStore {
  /** Admin: adds a channel and audits it. A name in use is a `conflict`. */
  createAlertChannel(input: NewChannel, opts: Actor): Promise<ChannelInfo>;
  listAlertChannels(): Promise<ChannelInfo[]>;
  /** The channel with its secrets, for sending; never for an API answer. */
  alertChannelForSending(id: string): Promise<ChannelSecretView | undefined>;
  /**
   * Removes a channel; `conflict` while a rule sends to it. Its deliveries not yet sent
   * are cancelled in the same transaction.
   */
  removeAlertChannel(id: string, opts: Actor): Promise<ChannelInfo>;
  createAlertRule(input: NewRule, opts: Actor): Promise<RuleInfo>;
  listAlertRules(): Promise<RuleInfo[]>;
  removeAlertRule(id: string, opts: Actor): Promise<RuleInfo>;
  listAlertDeliveries(query: DeliveryQuery): Promise<DeliveryInfo[]>;
  getAlertDelivery(id: string): Promise<(DeliveryInfo & { attemptLog: AttemptInfo[] }) | undefined>;
  /** A failed or expired delivery goes back to the queue, to be tried now. */
  retryAlertDelivery(id: string, opts: Actor): Promise<DeliveryInfo>;
  /**
   * Every failed delivery of a channel (by id or name) is tried now, in event order; one
   * audit event. Returns the channel and how many were queued.
   */
  retryAlertChannel(
    channel: string,
    opts: Actor,
  ): Promise<{ channel: { id: string; name: string }; queued: number }>;
  /** Encrypts channel secrets an earlier version stored in clear; returns how many. */
  sealAlertSecrets(): Promise<number>;
  /**
   * Leases due deliveries to `owner`: each by a conditional update, so of several
   * dispatchers exactly one wins it; an expired lease (a dispatcher that died) is taken over.
   */
  claimAlertDeliveries(
    owner: string,
    opts: { now: Date; leaseMs: number; limit: number },
  ): Promise<ClaimedDelivery[]>;
  /**
   * Records one attempt and its effect on the delivery and the channel's health, only
   * while `owner` still holds the lease. Returns undefined when the lease was lost.
   */
  recordAlertAttempt(
    id: string,
    owner: string,
    attempt: AttemptRecord,
  ): Promise<{ status: DeliveryStatus; consecutiveFailures: number } | undefined>;
  /**
   * Writes one `window-closing` event for each completed action whose rollback deadline
   * is less than `warnMs` away, stamping `window_warned_at` by a conditional update so
   * that across replicas each action is warned once. Returns the ids warned.
   */
  warnClosingWindows(opts: { now: Date; warnMs: number; limit: number }): Promise<string[]>;
}

export function alertStore(db: Kysely<Database>, secretKey: Buffer | undefined): AlertStore {
  const key = (): Buffer => {
    if (secretKey) return secretKey;
    throw new Error('this database was opened without the secret key channel secrets need');
  };
  return {
    createAlertChannel: (input, opts) => createChannel(db, key(), input, opts),
    listAlertChannels: async () => {
      const rows = await db.selectFrom('alert_channels').selectAll().orderBy('name').execute();
      return rows.map(toChannel);
    },
    alertChannelForSending: async (id) => {
      const row = await db
        .selectFrom('alert_channels')
        .selectAll()
        .where('id', '=', id)
        .executeTakeFirst();
      if (!row) return undefined;
      const view = openChannel(row, key());
      if (!view.channel) throw conflict(view.unreadable!, { channel: row.name });
      return view.channel;
    },
    removeAlertChannel: (id, opts) => removeChannel(db, id, opts),
    createAlertRule: (input, opts) => createRule(db, input, opts),
    listAlertRules: async () => {
      const [rules, channels] = await Promise.all([
        db.selectFrom('alert_rules').selectAll().orderBy('name').execute(),
        db.selectFrom('alert_channels').select(['id', 'name']).execute(),
      ]);
      return rules.map((r) => toRule(r, channels));
    },
    removeAlertRule: (id, opts) => removeRule(db, id, opts),
    listAlertDeliveries: (query) => listDeliveries(db, query),
    getAlertDelivery: (id) => getDelivery(db, id),
    retryAlertDelivery: (id, opts) => retryDelivery(db, id, opts),
    retryAlertChannel: (channel, opts) => retryChannel(db, channel, opts),
    sealAlertSecrets: async () => (secretKey ? sealLegacy(db, secretKey) : 0),
    claimAlertDeliveries: (owner, opts) => claimDeliveries(db, key(), owner, opts),
    recordAlertAttempt: (id, owner, attempt) => recordAttempt(db, id, owner, attempt),
    warnClosingWindows: (opts) => warnClosingWindows(db, opts),
  };
}

/**
 * The outbox: called by `appendEvent` inside the transaction of every event, before it
 * takes the audit chain's head, so these reads never lengthen the time every writer waits
 * for that lock; the step it returns queues the deliveries once the event is stored.
 * Events that raise no alert cost nothing; the others cost one read of the (small) rules
 * table, and the action's severity only when some rule names the event. Rules are read
 * here rather than cached, so a rule added on one replica holds on all of them at once.
 */
export async function alertsFor(
  trx: Transaction<Database>,
  event: NewEvent,
): Promise<((stored: Selectable<EventRow>) => Promise<void>) | undefined> {
  const kind = alertEventOf({
    type: event.type,
    from_status: event.from_status ?? null,
    to_status: event.to_status ?? null,
    data: event.data ?? null,
  });
  if (!kind) return;
  const rules = await trx.selectFrom('alert_rules').selectAll().execute();
  const named = rules.filter((rule) => (JSON.parse(rule.events) as string[]).includes(kind));
  if (named.length === 0) return;

  let severity: Severity | undefined;
  if (kind === 'drift_detected') severity = findingSeverity(event.data ?? null);
  else if (event.action_id) {
    const action = await trx
      .selectFrom('actions')
      .select('severity')
      .where('id', '=', event.action_id)
      .executeTakeFirst();
    severity = action?.severity as Severity | undefined;
  }
  if (!severity) return;
  const rank = severityRank(severity);

  // Two rules naming one channel send it one message, not two.
  const byChannel = new Map<string, string>();
  for (const rule of named) {
    if (rank < rule.min_severity_rank) continue;
    for (const channelId of JSON.parse(rule.channel_ids) as string[]) {
      if (!byChannel.has(channelId)) byChannel.set(channelId, rule.id);
    }
  }
  if (byChannel.size === 0) return;
  const channels = await trx
    .selectFrom('alert_channels')
    .select(['id', 'name'])
    .where('id', 'in', [...byChannel.keys()])
    .execute();
  if (channels.length === 0) return;
  return async (stored) => {
    await trx
      .insertInto('alert_deliveries')
      .values(
        channels.map((channel): Insertable<AlertDeliveryRow> => ({
          id: randomUUID(),
          event_id: Number(stored.id),
          event: kind,
          severity,
          action_id: stored.action_id,
          channel_id: channel.id,
          channel_name: channel.name,
          rule_id: byChannel.get(channel.id)!,
          status: 'pending',
          attempts: 0,
          next_attempt_at: stored.at,
          lease_owner: null,
          lease_expires_at: null,
          created_at: stored.at,
          delivered_at: null,
          last_error: null,
        })),
      )
      .execute();
  };
}

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
 * A channel counts as failing after this many failed attempts in a row; the dispatcher
 * logs a warning when it crosses it.
 */
export const CHANNEL_FAILING_AFTER = 3;

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

function openChannel(
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

function toRule(row: AlertRuleRow, channels: { id: string; name: string }[]): RuleInfo {
  const ids = JSON.parse(row.channel_ids) as string[];
  return {
    id: row.id,
    name: row.name,
    events: JSON.parse(row.events) as AlertEvent[],
    minSeverity: row.min_severity as Severity,
    channels: ids.map((id) => ({ id, name: channels.find((c) => c.id === id)?.name ?? '' })),
    createdAt: row.created_at,
    createdBy: row.created_by,
  };
}

function toDelivery(row: AlertDeliveryRow): DeliveryInfo {
  const waiting = row.status === 'pending' || row.status === 'failed';
  return {
    id: row.id,
    eventId: Number(row.event_id),
    event: row.event as AlertEvent,
    severity: row.severity as Severity,
    actionId: row.action_id,
    channel: { id: row.channel_id, name: row.channel_name },
    ruleId: row.rule_id,
    status: row.status as DeliveryStatus,
    attempts: row.attempts,
    nextAttemptAt: waiting ? row.next_attempt_at : null,
    createdAt: row.created_at,
    deliveredAt: row.delivered_at,
    lastError: row.last_error,
  };
}

/** Configuration changes are audited like token changes: an event of no action. */
async function audit(
  trx: Transaction<Database>,
  comment: string,
  data: Record<string, unknown>,
  opts: Actor,
): Promise<void> {
  await appendEvent(trx, {
    action_id: null,
    at: opts.now.toISOString(),
    actor: opts.actor,
    type: 'alerts',
    from_status: null,
    to_status: null,
    comment,
    data: dataText(data),
  });
}

const nameTaken = (what: string, name: string) =>
  conflict(`an alert ${what} named "${name}" already exists; choose another name`, { name });

async function createChannel(
  db: Kysely<Database>,
  secretKey: Buffer,
  input: NewChannel,
  opts: Actor,
) {
  const id = randomUUID();
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

async function removeChannel(db: Kysely<Database>, id: string, opts: Actor) {
  return db.transaction().execute(async (trx) => {
    const row = await existing(
      trx,
      'alert_channels',
      id,
      `no alert channel with id "${id}"; list the channels to find its id`,
    );
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

async function createRule(db: Kysely<Database>, input: NewRule, opts: Actor) {
  return createNamed(db, 'alert_rules', 'rule', input.name, async (trx) => {
    const channels = await trx.selectFrom('alert_channels').select(['id', 'name']).execute();
    const ids: string[] = [];
    for (const wanted of input.channels) {
      const found = channels.find((c) => c.id === wanted || c.name === wanted);
      if (!found) {
        throw invalidInput(
          `no alert channel "${wanted}" (by id or name); add it first or list the channels`,
          { channel: wanted },
        );
      }
      if (!ids.includes(found.id)) ids.push(found.id);
    }
    const row: AlertRuleRow = {
      id: randomUUID(),
      name: input.name,
      events: JSON.stringify([...new Set(input.events)]),
      min_severity: input.minSeverity,
      min_severity_rank: severityRank(input.minSeverity),
      channel_ids: JSON.stringify(ids),
      created_at: opts.now.toISOString(),
      created_by: opts.actor,
    };
    await trx.insertInto('alert_rules').values(row).execute();
    const rule = toRule(row, channels);
    await audit(
      trx,
      'alert rule added',
      {
        ruleId: row.id,
        name: row.name,
        events: rule.events,
        minSeverity: rule.minSeverity,
        channels: ids,
      },
      opts,
    );
    return rule;
  });
}

/**
 * Runs `work` in a transaction once `name` is known to be free; the unique index turns a
 * concurrent creation of the same name into the same conflict.
 */
async function createNamed<T>(
  db: Kysely<Database>,
  table: 'alert_channels' | 'alert_rules',
  what: string,
  name: string,
  work: (trx: Transaction<Database>) => Promise<T>,
): Promise<T> {
  try {
    return await db.transaction().execute(async (trx) => {
      const same = await trx
        .selectFrom(table)
        .select('id')
        .where('name', '=', name)
        .executeTakeFirst();
      if (same) throw nameTaken(what, name);
      return work(trx);
    });
  } catch (error) {
    if (isUniqueViolation(error)) throw nameTaken(what, name);
    throw error;
  }
}

/** The row of `table` with this id, or a not-found error saying `missing`. */
async function existing<T extends 'alert_channels' | 'alert_rules' | 'alert_deliveries'>(
  trx: Transaction<Database>,
  table: T,
  id: string,
  missing: string,
): Promise<Selectable<Database[T]>> {
  const row = await trx
    .selectFrom(table as 'alert_channels')
    .selectAll()
    .where('id', '=', id)
    .executeTakeFirst();
  if (!row) throw notFound(missing);
  return row as Selectable<Database[T]>;
}

async function removeRule(db: Kysely<Database>, id: string, opts: Actor) {
  return db.transaction().execute(async (trx) => {
    const row = await existing(
      trx,
      'alert_rules',
      id,
      `no alert rule with id "${id}"; list the rules to find its id`,
    );
    const channels = await trx.selectFrom('alert_channels').select(['id', 'name']).execute();
    await trx.deleteFrom('alert_rules').where('id', '=', id).execute();
    await audit(trx, 'alert rule removed', { ruleId: id, name: row.name }, opts);
    return toRule(row, channels);
  });
}

async function listDeliveries(db: Kysely<Database>, query: DeliveryQuery) {
  let select = db.selectFrom('alert_deliveries').selectAll();
  if (query.status?.length) select = select.where('status', 'in', query.status);
  if (query.channelId) select = select.where('channel_id', '=', query.channelId);
  const rows = await select
    .orderBy('created_at', 'desc')
    .orderBy('id', 'desc')
    .limit(query.limit ?? 50)
    .execute();
  return rows.map(toDelivery);
}

async function getDelivery(db: Kysely<Database>, id: string) {
  const row = await db
    .selectFrom('alert_deliveries')
    .selectAll()
    .where('id', '=', id)
    .executeTakeFirst();
  if (!row) return undefined;
  const attempts = await db
    .selectFrom('alert_attempts')
    .selectAll()
    .where('delivery_id', '=', id)
    .orderBy('attempt')
    .execute();
  return {
    ...toDelivery(row),
    attemptLog: attempts.map((a): AttemptInfo => ({
      attempt: a.attempt,
      at: a.at,
      durationMs: a.duration_ms,
      ok: Boolean(a.ok),
      statusCode: a.status_code,
      error: a.error,
    })),
  };
}

async function retryDelivery(db: Kysely<Database>, id: string, opts: Actor) {
  return db.transaction().execute(async (trx) => {
    const row = await existing(
      trx,
      'alert_deliveries',
      id,
      `no alert delivery with id "${id}"; list the deliveries`,
    );
    if (!RETRYABLE.includes(row.status)) {
      throw conflict(
        `alert delivery ${id} is ${row.status}; only a failed or expired one can be retried`,
        { status: row.status },
      );
    }
    const set = requeued(opts.now);
    const result = await trx
      .updateTable('alert_deliveries')
      .set(set)
      .where('id', '=', id)
      .where('status', '=', row.status)
      .executeTakeFirst();
    if (Number(result.numUpdatedRows) !== 1) {
      throw conflict(`alert delivery ${id} changed meanwhile; reload it and try again`);
    }
    await audit(trx, 'alert delivery retried', { deliveryId: id, channelId: row.channel_id }, opts);
    return toDelivery({ ...row, ...set });
  });
}

const RETRYABLE = ['failed', 'expired'];

/** A delivery an admin retries: due now, in a fresh round. */
const requeued = (now: Date) => ({
  status: 'pending',
  attempts: 0,
  next_attempt_at: now.toISOString(),
  lease_owner: null,
  lease_expires_at: null,
});

async function retryChannel(db: Kysely<Database>, wanted: string, opts: Actor) {
  return db.transaction().execute(async (trx) => {
    const channel = await trx
      .selectFrom('alert_channels')
      .select(['id', 'name'])
      .where((eb) => eb.or([eb('id', '=', wanted), eb('name', '=', wanted)]))
      .executeTakeFirst();
    if (!channel) {
      throw notFound(`no alert channel "${wanted}" (by id or name); list the channels`);
    }
    // One time for all of them: the dispatcher then takes them in event order.
    const result = await trx
      .updateTable('alert_deliveries')
      .set(requeued(opts.now))
      .where('channel_id', '=', channel.id)
      .where('status', '=', 'failed')
      .executeTakeFirst();
    const queued = Number(result.numUpdatedRows);
    await audit(
      trx,
      'alert deliveries of a channel retried',
      { channelId: channel.id, name: channel.name, queued },
      opts,
    );
    return { channel, queued };
  });
}

async function sealLegacy(db: Kysely<Database>, secretKey: Buffer): Promise<number> {
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

/** Due work: a new or retried delivery, a failed one whose next round has come, or a lease
 * whose dispatcher died. */
const due = (now: string) => (eb: ExpressionBuilder<Database, 'alert_deliveries'>) =>
  eb.or([
    eb.and([eb('status', 'in', ['pending', 'failed']), eb('next_attempt_at', '<=', now)]),
    eb.and([eb('status', '=', 'sending'), eb('lease_expires_at', '<', now)]),
  ]);

async function claimDeliveries(
  db: Kysely<Database>,
  secretKey: Buffer,
  owner: string,
  opts: { now: Date; leaseMs: number; limit: number },
): Promise<ClaimedDelivery[]> {
  const now = opts.now.toISOString();
  const leaseUntil = new Date(opts.now.getTime() + opts.leaseMs).toISOString();
  const candidates = await db
    .selectFrom('alert_deliveries')
    .select(['id', 'status', 'attempts'])
    .where(due(now))
    .orderBy('next_attempt_at')
    .orderBy('event_id')
    .limit(opts.limit)
    .execute();

  const claimed: ClaimedDelivery[] = [];
  for (const candidate of candidates) {
    const won = await db
      .updateTable('alert_deliveries')
      .set({
        status: 'sending',
        lease_owner: owner,
        lease_expires_at: leaseUntil,
        // A failed delivery starts a new round of tries.
        ...(candidate.status === 'failed' ? { attempts: 0 } : {}),
      })
      .where('id', '=', candidate.id)
      .where('status', '=', candidate.status)
      .where('attempts', '=', candidate.attempts)
      .where(due(now))
      .executeTakeFirst();
    if (Number(won.numUpdatedRows) !== 1) continue;
    const row = await db
      .selectFrom('alert_deliveries')
      .selectAll()
      .where('id', '=', candidate.id)
      .executeTakeFirstOrThrow();
    claimed.push(await withFacts(db, secretKey, row));
  }
  return claimed;
}

async function withFacts(
  db: Kysely<Database>,
  secretKey: Buffer,
  row: AlertDeliveryRow,
): Promise<ClaimedDelivery> {
  const event = await db
    .selectFrom('events')
    .selectAll()
    .where('id', '=', row.event_id)
    .executeTakeFirstOrThrow();
  const findingId = row.event === 'drift_detected' ? findingIdOf(event.data) : undefined;
  const [channel, action, finding, tries] = await Promise.all([
    db.selectFrom('alert_channels').selectAll().where('id', '=', row.channel_id).executeTakeFirst(),
    row.action_id
      ? db.selectFrom('actions').selectAll().where('id', '=', row.action_id).executeTakeFirst()
      : Promise.resolve(undefined),
    findingId
      ? db.selectFrom('findings').selectAll().where('id', '=', findingId).executeTakeFirst()
      : Promise.resolve(undefined),
    db
      .selectFrom('alert_attempts')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('delivery_id', '=', row.id)
      .executeTakeFirst(),
  ]);
  const facts: AlertFacts = {
    event: row.event as AlertEvent,
    severity: row.severity as Severity,
    eventId: Number(event.id),
    at: event.at,
    actor: event.actor,
    comment: event.comment,
    fromStatus: event.from_status,
    toStatus: event.to_status,
    action: action
      ? {
          id: action.id,
          title: action.title,
          type: action.type,
          status: action.status,
          resource: toResourceRef(action),
          rollbackDeadline: action.rollback_deadline,
        }
      : null,
    finding: finding
      ? {
          id: finding.id,
          title: finding.title,
          origin: finding.origin,
          checkId: finding.check_id,
          driftType: finding.drift_type,
          resource: {
            type: finding.resource_type,
            id: finding.resource_id,
            name: finding.resource_name,
            region: finding.resource_region,
          },
        }
      : null,
  };
  const opened = channel ? openChannel(channel, secretKey) : undefined;
  return {
    delivery: toDelivery(row),
    channel: opened?.channel ?? null,
    unreadable: opened?.unreadable ?? null,
    tries: Number(tries?.n ?? 0),
    facts,
  };
}

/** The finding a drift event names in its data. */
function findingIdOf(data: string | null): string | undefined {
  const parsed = data ? (JSON.parse(data) as { findingId?: unknown }) : undefined;
  return typeof parsed?.findingId === 'string' ? parsed.findingId : undefined;
}

async function recordAttempt(
  db: Kysely<Database>,
  id: string,
  owner: string,
  attempt: AttemptRecord,
) {
  return db.transaction().execute(async (trx) => {
    const row = await trx
      .selectFrom('alert_deliveries')
      .selectAll()
      .where('id', '=', id)
      .executeTakeFirst();
    if (!row || row.status !== 'sending' || row.lease_owner !== owner) return undefined;
    const now = attempt.now.toISOString();
    const number = row.attempts + 1;
    const status: DeliveryStatus = attempt.ok ? 'delivered' : attempt.next;
    const again = status === 'pending' || status === 'failed';
    if (again && !attempt.retryAt) throw new Error(`a ${status} delivery needs retryAt`);
    const result = await trx
      .updateTable('alert_deliveries')
      .set({
        status,
        attempts: number,
        next_attempt_at: again ? attempt.retryAt!.toISOString() : now,
        lease_owner: null,
        lease_expires_at: null,
        delivered_at: attempt.ok ? now : null,
        last_error: attempt.ok ? null : attempt.error,
      })
      .where('id', '=', id)
      .where('status', '=', 'sending')
      .where('lease_owner', '=', owner)
      .where('attempts', '=', row.attempts)
      .executeTakeFirst();
    if (Number(result.numUpdatedRows) !== 1) return undefined;
    // Attempt numbers go on across a manual retry, which restarts the count of tries.
    const last = await trx
      .selectFrom('alert_attempts')
      .select((eb) => eb.fn.max('attempt').as('n'))
      .where('delivery_id', '=', id)
      .executeTakeFirst();
    await trx
      .insertInto('alert_attempts')
      .values({
        delivery_id: id,
        attempt: Number(last?.n ?? 0) + 1,
        at: now,
        duration_ms: Math.round(attempt.durationMs),
        ok: attempt.ok ? 1 : 0,
        status_code: attempt.statusCode,
        error: attempt.error,
      })
      .execute();
    if (attempt.ok) {
      // The receiver is back: what waits for its next round goes now, oldest event first.
      await trx
        .updateTable('alert_deliveries')
        .set({ next_attempt_at: now })
        .where('channel_id', '=', row.channel_id)
        .where('status', '=', 'failed')
        .where('next_attempt_at', '>', now)
        .execute();
    }
    let health = trx.updateTable('alert_channels').where('id', '=', row.channel_id);
    health = attempt.ok
      ? health.set({ last_success_at: now, consecutive_failures: 0 })
      : health.set((eb) => ({
          last_failure_at: now,
          last_error: attempt.error,
          consecutive_failures: eb('consecutive_failures', '+', 1),
        }));
    await health.execute();
    const channel = await trx
      .selectFrom('alert_channels')
      .select('consecutive_failures')
      .where('id', '=', row.channel_id)
      .executeTakeFirst();
    return { status, consecutiveFailures: channel?.consecutive_failures ?? 0 };
  });
}

async function warnClosingWindows(
  db: Kysely<Database>,
  opts: { now: Date; warnMs: number; limit: number },
): Promise<string[]> {
  const now = opts.now.toISOString();
  const soon = new Date(opts.now.getTime() + opts.warnMs).toISOString();
  const candidates = await db
    .selectFrom('actions')
    .select(['id', 'rollback_deadline'])
    .where('status', '=', 'completed')
    .where('window_warned_at', 'is', null)
    .where('rollback_deadline', '>', now)
    .where('rollback_deadline', '<=', soon)
    .orderBy('rollback_deadline')
    .limit(opts.limit)
    .execute();
  const warned: string[] = [];
  for (const candidate of candidates) {
    const won = await db.transaction().execute(async (trx) => {
      // No version bump: the warning must never make a person's rollback conflict.
      const result = await trx
        .updateTable('actions')
        .set({ window_warned_at: now })
        .where('id', '=', candidate.id)
        .where('status', '=', 'completed')
        .where('window_warned_at', 'is', null)
        .executeTakeFirst();
      if (Number(result.numUpdatedRows) !== 1) return false;
      await appendEvent(trx, {
        action_id: candidate.id,
        at: now,
        actor: 'system',
        type: WINDOW_CLOSING_EVENT,
        from_status: 'completed',
        to_status: null,
        comment: `the rollback window closes at ${candidate.rollback_deadline}`,
        data: dataText({ rollbackDeadline: candidate.rollback_deadline }),
      });
      return true;
    });
    if (won) warned.push(candidate.id);
  }
  return warned;
}

/** The methods above, for the SQLite worker's proxy, which must list every store method. */
export const ALERT_STORE_METHODS = {
  createAlertChannel: true,
  listAlertChannels: true,
  alertChannelForSending: true,
  removeAlertChannel: true,
  createAlertRule: true,
  listAlertRules: true,
  removeAlertRule: true,
  listAlertDeliveries: true,
  getAlertDelivery: true,
  retryAlertDelivery: true,
  retryAlertChannel: true,
  sealAlertSecrets: true,
  claimAlertDeliveries: true,
  recordAlertAttempt: true,
  warnClosingWindows: true,
} as const satisfies Record<keyof AlertStore, true>;
