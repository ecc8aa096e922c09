import type { Kysely } from 'kysely';
import type {
  AttemptInfo,
  ChannelInfo,
  ChannelSecretView,
  ClaimedDelivery,
  DeliveryInfo,
  DeliveryStatus,
  NewChannel,
  NewRule,
  RuleInfo,
} from '../alerts/model.ts';
import type { Actor } from './alert-changes.ts';
import {
  channelForSending,
  createChannel,
  listChannels,
  removeChannel,
  sealLegacy,
} from './alert-channels.ts';
import {
  claimDeliveries,
  expireUntried,
  recordAttempt,
  type AttemptRecord,
} from './alert-claims.ts';
import {
  getDelivery,
  listDeliveries,
  retryChannel,
  retryDelivery,
  type DeliveryQuery,
} from './alert-deliveries.ts';
import { createRule, listRules, removeRule } from './alert-rules.ts';
import { warnClosingWindows } from './alert-windows.ts';
import type { Database } from './schema.ts';

export type { AttemptRecord, DeliveryQuery };

export interface AlertStore {
  /** Admin: adds a channel and audits it. A name in use is a `conflict`. */
  createAlertChannel(input: NewChannel, opts: Actor): Promise<ChannelInfo>;
  listAlertChannels(): Promise<ChannelInfo[]>;
  /** The channel (by id or name) with its secrets, for sending; never for an API answer.
   * `not_found` when no channel has that id or name. */
  alertChannelForSending(channel: string): Promise<ChannelSecretView>;
  /**
   * Removes a channel (by id or name); `conflict` while a rule sends to it. Its deliveries not yet sent
   * are cancelled in the same transaction.
   */
  removeAlertChannel(channel: string, opts: Actor): Promise<ChannelInfo>;
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
   * Expires deliveries never tried that were raised before `before` (held back behind an
   * earlier undelivered alert of their channel); returns them. A delivery ever tried,
   * retried ones included, expires only after a failed round.
   */
  expireUntriedAlertDeliveries(opts: {
    now: Date;
    before: Date;
    limit: number;
  }): Promise<DeliveryInfo[]>;
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
    listAlertChannels: () => listChannels(db),
    alertChannelForSending: (id) => channelForSending(db, id, key),
    removeAlertChannel: (id, opts) => removeChannel(db, id, opts),
    createAlertRule: (input, opts) => createRule(db, input, opts),
    listAlertRules: () => listRules(db),
    removeAlertRule: (id, opts) => removeRule(db, id, opts),
    listAlertDeliveries: (query) => listDeliveries(db, query),
    getAlertDelivery: (id) => getDelivery(db, id),
    retryAlertDelivery: (id, opts) => retryDelivery(db, id, opts),
    retryAlertChannel: (channel, opts) => retryChannel(db, channel, opts),
    sealAlertSecrets: async () => (secretKey ? sealLegacy(db, secretKey) : 0),
    claimAlertDeliveries: (owner, opts) => claimDeliveries(db, key(), owner, opts),
    expireUntriedAlertDeliveries: (opts) => expireUntried(db, opts),
    recordAlertAttempt: (id, owner, attempt) => recordAttempt(db, id, owner, attempt),
    warnClosingWindows: (opts) => warnClosingWindows(db, opts),
  };
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
  expireUntriedAlertDeliveries: true,
  recordAlertAttempt: true,
  warnClosingWindows: true,
} as const satisfies Record<keyof AlertStore, true>;
