import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import { metrics } from '../metrics/metrics.ts';
import { CHANNEL_FAILING_AFTER } from '../store/alert-channels.ts';
import type { Store } from '../store/store.ts';
import { buildMessage } from './message.ts';
import type { ClaimedDelivery } from './model.ts';
import { sendAlert } from './send.ts';

/** However many tries are configured, none waits longer than an hour for the next. */
export const MAX_BACKOFF_MS = 3_600_000;

export interface DispatcherOptions {
  store: Store;
  log: Logger;
  /** Where people open the console; messages link `<publicUrl>/actions/<id>`. */
  publicUrl: string;
  /** Tries per round; after a failed round the delivery is `failed` until its next round. 3 unless set. */
  attempts?: number;
  /** How long one send may take; 10 s unless set. */
  timeoutMs?: number;
  /** The wait before the first retry, doubled for each one after (at most an hour); 5 s unless set. */
  backoffMs?: number;
  /** The longest wait between rounds; 5 min unless set. */
  recoveryMs?: number;
  /** A delivery still not sent this long after its event is `expired`; 7 days unless set. */
  maxAgeMs?: number;
  /** How often the outbox is read; 1 s unless set. */
  pollMs?: number;
  /** How long before a rollback deadline the window-closing warning goes out; 5 min unless set. */
  windowWarningMs?: number;
  /** Channels sent to at once (one delivery each); 8 unless set. */
  concurrency?: number;
  clock?: () => Date;
  owner?: string;
}

export interface Dispatcher {
  readonly owner: string;
  start(): void;
  /** Stops taking work and waits for the sends under way. */
  stop(): Promise<void>;
  /** One pass: raise due window warnings, then send what is due. Returns deliveries sent. */
  runOnce(): Promise<number>;
}

/**
 * Sends what `appendEvent` queued. One per process; any number may share a database,
 * because each delivery is leased by a conditional update before it is sent. A send
 * happens outside every transaction, so a slow or dead receiver holds up nothing else.
 */
export function createDispatcher(opts: DispatcherOptions): Dispatcher {
  const { store, log } = opts;
  const attempts = opts.attempts ?? 3;
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const backoffMs = opts.backoffMs ?? 5_000;
  const pollMs = opts.pollMs ?? 1_000;
  const recoveryMs = opts.recoveryMs ?? 5 * 60_000;
  const maxAgeMs = opts.maxAgeMs ?? 7 * 86_400_000;
  const warnMs = opts.windowWarningMs ?? 5 * 60_000;
  const concurrency = opts.concurrency ?? 8;
  const clock = opts.clock ?? (() => new Date());
  const owner = opts.owner ?? `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  // A lease outlives the longest send, so only a dispatcher that died loses one.
  const leaseMs = timeoutMs + 30_000;

  let stopped = true;
  let stopping = false;
  let timer: NodeJS.Timeout | undefined;
  let pass: Promise<number> | undefined;

  async function deliver(claimed: ClaimedDelivery): Promise<void> {
    const { delivery, channel } = claimed;
    const deliveryLog = log.child({
      deliveryId: delivery.id,
      channel: delivery.channel.name,
      event: delivery.event,
      ...(delivery.actionId ? { actionId: delivery.actionId } : {}),
      attempt: delivery.attempts + 1,
    });
    const result = channel
      ? await sendAlert(
          channel,
          buildMessage(claimed.facts, { publicUrl: opts.publicUrl, deliveryId: delivery.id }),
          { timeoutMs, now: clock },
        )
      : {
          ok: false,
          statusCode: null,
          error: claimed.unreadable ?? 'the channel was removed',
          durationMs: 0,
        };
    const now = clock();
    const { next, retryAt } = afterFailure(claimed, now);
    const recorded = await store.recordAlertAttempt(delivery.id, owner, {
      now,
      ...result,
      next,
      retryAt,
    });
    if (!recorded) {
      deliveryLog.warn('another dispatcher took this delivery over; its attempt was not recorded');
      return;
    }
    const facts = { statusCode: result.statusCode, durationMs: result.durationMs };
    if (!result.ok) metrics.alertDeliveryFailures.inc({ channel: delivery.channel.name });
    if (result.ok) deliveryLog.info(facts, 'alert delivered');
    else if (next === 'pending') {
      deliveryLog.warn(
        { ...facts, error: result.error, retryAt },
        'alert not delivered; will retry',
      );
    } else if (next === 'failed') {
      deliveryLog.warn(
        { ...facts, error: result.error, retryAt },
        'alert not delivered in this round of tries; the next round starts at retryAt, or ' +
          'as soon as the channel delivers another alert',
      );
    } else if (next === 'expired') {
      deliveryLog.error(
        { ...facts, error: result.error, createdAt: delivery.createdAt },
        'alert expired: not delivered within INFRAUDIT_ALERT_MAX_AGE_DAYS; it is given up ' +
          '(`alerts retry <id>` sends it again)',
      );
    } else {
      deliveryLog.warn(
        { ...facts, error: result.error },
        'alert cancelled: its channel was removed',
      );
    }
    if (!result.ok && recorded.consecutiveFailures === CHANNEL_FAILING_AFTER) {
      deliveryLog.warn(
        { consecutiveFailures: recorded.consecutiveFailures },
        'alert channel failing: its last attempts all failed',
      );
    }
  }

  /** Where a failed send leaves the delivery: the next try of this round, the next round
   * (waits growing with every try, at most `recoveryMs`), or given up. */
  function afterFailure(
    claimed: ClaimedDelivery,
    now: Date,
  ): { next: 'pending' | 'failed' | 'expired' | 'cancelled'; retryAt: Date | null } {
    if (!claimed.channel && !claimed.unreadable) return { next: 'cancelled', retryAt: null };
    const tried = claimed.delivery.attempts + 1;
    if (tried < attempts) {
      const wait = Math.min(backoffMs * 2 ** (tried - 1), MAX_BACKOFF_MS);
      return { next: 'pending', retryAt: new Date(now.getTime() + wait) };
    }
    const total = claimed.tries + 1;
    const wait = Math.min(backoffMs * 2 ** Math.min(total - 1, 40), recoveryMs);
    const retryAt = new Date(now.getTime() + wait);
    const deadline = Date.parse(claimed.delivery.createdAt) + maxAgeMs;
    return retryAt.getTime() > deadline
      ? { next: 'expired', retryAt: null }
      : { next: 'failed', retryAt };
  }

  async function runOnce(): Promise<number> {
    const now = clock();
    const warned = await store.warnClosingWindows({ now, warnMs, limit: 100 });
    for (const actionId of warned) log.info({ actionId }, 'rollback window closing: alert raised');
    const expired = await store.expireUntriedAlertDeliveries({
      now,
      before: new Date(now.getTime() - maxAgeMs),
      limit: 500,
    });
    for (const delivery of expired) {
      log.error(
        {
          deliveryId: delivery.id,
          channel: delivery.channel.name,
          event: delivery.event,
          error: delivery.lastError,
          createdAt: delivery.createdAt,
        },
        'alert expired: not delivered within INFRAUDIT_ALERT_MAX_AGE_DAYS; it is given up ' +
          '(`alerts retry <id>` sends it again)',
      );
    }
    let sent = 0;
    for (;;) {
      const batch = await store.claimAlertDeliveries(owner, {
        now: clock(),
        leaseMs,
        limit: concurrency,
      });
      if (batch.length === 0) return sent;
      // A claim holds at most one delivery per channel, the oldest undelivered: channels
      // go in parallel, and each channel hears its alerts in event order.
      await Promise.all(batch.map((claimed) => deliver(claimed)));
      sent += batch.length;
      if (stopping) return sent;
    }
  }

  function schedule() {
    if (stopped) return;
    timer = setTimeout(() => {
      timer = undefined;
      pass = runOnce()
        .catch((error: unknown) => {
          log.error({ err: error }, 'alert dispatch pass failed; retrying');
          return 0;
        })
        .finally(() => {
          pass = undefined;
          schedule();
        });
    }, pollMs);
  }

  return {
    owner,
    start() {
      if (!stopped) return;
      stopped = false;
      stopping = false;
      log.info(
        { owner, attempts, timeoutMs, backoffMs, recoveryMs, maxAgeMs },
        'alert dispatcher started',
      );
      schedule();
    },
    async stop() {
      stopped = true;
      stopping = true;
      clearTimeout(timer);
      timer = undefined;
      await pass;
    },
    runOnce,
  };
}
