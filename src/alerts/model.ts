import { SEVERITIES, type Severity } from '../domain/status.ts';

/** The events a rule can name. */
export const ALERT_EVENTS = [
  'suggested',
  'pending_approval',
  'approved',
  'executed',
  'failed',
  'rolled_back',
  'window_closing',
  'drift_detected',
] as const;
export type AlertEvent = (typeof ALERT_EVENTS)[number];

export const CHANNEL_TYPES = ['slack', 'webhook', 'email'] as const;
export type ChannelType = (typeof CHANNEL_TYPES)[number];

export const DELIVERY_STATUSES = [
  'pending',
  'sending',
  'delivered',
  'failed',
  'expired',
  'cancelled',
] as const;
export type DeliveryStatus = (typeof DELIVERY_STATUSES)[number];

/** The audit event type the rollback-window timer writes. */
export const WINDOW_CLOSING_EVENT = 'window-closing';

/** A status an action moves to, as the alert event it raises. */
const BY_STATUS: Record<string, AlertEvent> = {
  suggested: 'suggested',
  pending_approval: 'pending_approval',
  approved: 'approved',
  failed: 'failed',
  rolled_back: 'rolled_back',
};

/** The audit event's fields the mapping reads. */
export interface EventFacts {
  type: string;
  from_status: string | null;
  to_status: string | null;
  data: string | null;
}

/**
 * Which alert event an audit event raises, if any. `completed` counts as executed only
 * when it ends an execution: a refused rollback also returns to completed.
 */
export function alertEventOf(event: EventFacts): AlertEvent | undefined {
  if (event.type === WINDOW_CLOSING_EVENT) return 'window_closing';
  if (event.type === 'transition') {
    if (event.to_status === 'completed') {
      return event.from_status === 'executing' ? 'executed' : undefined;
    }
    return event.to_status ? BY_STATUS[event.to_status] : undefined;
  }
  if (event.type === 'finding' && event.data) {
    const data = parseData(event.data);
    if (data?.kind === 'drift' && data.change === 'opened') return 'drift_detected';
  }
  return undefined;
}

/** The severity a finding event carries in its data; undefined when it names none known. */
export function findingSeverity(data: string | null): Severity | undefined {
  const severity = data ? parseData(data)?.severity : undefined;
  return SEVERITIES.includes(severity as Severity) ? (severity as Severity) : undefined;
}

function parseData(text: string): Record<string, unknown> | undefined {
  try {
    const value = JSON.parse(text) as unknown;
    return value && typeof value === 'object' ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

export interface ChannelHealth {
  /** `untested` until the first attempt; `failing` after the configured run of failures. */
  state: 'ok' | 'failing' | 'untested';
  lastSuccessAt: string | null;
  lastFailureAt: string | null;
  lastError: string | null;
  consecutiveFailures: number;
}

/** A channel as the API shows it: secrets appear only masked. */
export interface ChannelInfo {
  id: string;
  name: string;
  type: ChannelType;
  /** Where it sends, with every secret masked. */
  target: string;
  config: Record<string, unknown>;
  health: ChannelHealth;
  createdAt: string;
  createdBy: string;
}

/** A channel with its secrets, for the sender only. */
export interface ChannelSecretView {
  id: string;
  name: string;
  type: ChannelType;
  config: Record<string, unknown>;
  secrets: Record<string, string>;
}

export interface NewChannel {
  name: string;
  type: ChannelType;
  config: Record<string, unknown>;
  secrets: Record<string, string>;
}

export interface RuleInfo {
  id: string;
  name: string;
  events: AlertEvent[];
  minSeverity: Severity;
  channels: { id: string; name: string }[];
  createdAt: string;
  createdBy: string;
}

export interface NewRule {
  name: string;
  events: AlertEvent[];
  minSeverity: Severity;
  /** Channel ids or names. */
  channels: string[];
}

export interface AttemptInfo {
  attempt: number;
  at: string;
  durationMs: number;
  ok: boolean;
  statusCode: number | null;
  error: string | null;
}

export interface DeliveryInfo {
  id: string;
  eventId: number;
  event: AlertEvent;
  severity: Severity;
  actionId: string | null;
  channel: { id: string; name: string };
  ruleId: string;
  status: DeliveryStatus;
  attempts: number;
  nextAttemptAt: string | null;
  createdAt: string;
  deliveredAt: string | null;
  lastError: string | null;
}

/** What a message is made of: the event, and the action it belongs to when there is one. */
export interface AlertFacts {
  event: AlertEvent;
  severity: Severity;
  eventId: number;
  at: string;
  actor: string;
  comment: string | null;
  fromStatus: string | null;
  toStatus: string | null;
  action: {
    id: string;
    title: string;
    type: string;
    status: string;
    resource: {
      provider: string;
      account: string;
      region: string;
      type: string;
      id: string;
      name: string;
    };
    rollbackDeadline: string | null;
  } | null;
  /** The finding a drift event is about, when it is stored. */
  finding: {
    id: string;
    title: string;
    origin: string;
    checkId: string;
    driftType: string | null;
    resource: { type: string; id: string; name: string; region: string };
  } | null;
}

/** A delivery the dispatcher holds a lease on, with all it needs to send. */
export interface ClaimedDelivery {
  delivery: DeliveryInfo;
  /** Null when the channel was removed, or its secrets do not open (`unreadable`). */
  channel: ChannelSecretView | null;
  /** Why the channel's secrets cannot be used, naming the channel; null when they can. */
  unreadable: string | null;
  /** Attempts made so far over all rounds: how long the next wait between rounds is. */
  tries: number;
  facts: AlertFacts;
}
