import type { KubeConfig, RequestContext } from '@kubernetes/client-node';
import type { CloudClients } from '../cloud/clients.ts';
import type { ResourceRef } from '../domain/action.ts';
import { metrics } from '../metrics/metrics.ts';

/** How hard the engine may press one account's service, on one replica. */
export interface CloudLimits {
  /** Calls in flight at once per account and service. */
  concurrency: number;
  /** Calls started per second per account and service (a token bucket of one second). */
  ratePerSecond: number;
  /** Extra tries after a throttling answer that outlived the SDK's own retries. */
  throttleRetries?: number;
  /** First pause after a throttling answer; it doubles with each one in a row, to 30 s. */
  backoffMs?: number;
}

export const DEFAULT_CLOUD_LIMITS: CloudLimits = { concurrency: 8, ratePerSecond: 20 };

/** Error codes AWS services use to say "too many requests"; all mean nothing was done. */
const THROTTLING = new Set([
  'Throttling',
  'ThrottlingException',
  'ThrottledException',
  'RequestLimitExceeded',
  'RequestThrottled',
  'RequestThrottledException',
  'TooManyRequestsException',
  'SlowDown',
  'ProvisionedThroughputExceededException',
]);

interface SdkError {
  name?: string;
  Code?: string;
  $metadata?: { httpStatusCode?: number };
}

export function isThrottling(error: unknown): boolean {
  const e = (error ?? {}) as SdkError;
  return (
    THROTTLING.has(e.Code ?? '') ||
    THROTTLING.has(e.name ?? '') ||
    e.$metadata?.httpStatusCode === 429
  );
}

function errorCode(error: unknown): string {
  const e = (error ?? {}) as SdkError;
  return e.Code ?? e.name ?? 'unknown';
}

/** The refusal of every cloud call (and store write) once the engine has handed work back. */
export class Halted extends Error {
  constructor() {
    super('the engine is shutting down; no further cloud calls are made');
    this.name = 'EngineShuttingDown';
  }
}

/** One account's service: a semaphore for concurrency and a token bucket for the rate. */
class Gate {
  inFlight = 0;
  tokens: number;
  refilledAt = Date.now();
  pausedUntil = 0;
  throttledInARow = 0;
  readonly waiters: (() => void)[] = [];
  readonly limits: CloudLimits;

  constructor(limits: CloudLimits) {
    this.limits = limits;
    this.tokens = Math.max(1, limits.ratePerSecond);
  }

  refill(now: number) {
    const burst = Math.max(1, this.limits.ratePerSecond);
    this.tokens = Math.min(
      burst,
      this.tokens + ((now - this.refilledAt) / 1000) * this.limits.ratePerSecond,
    );
    this.refilledAt = now;
  }

  release() {
    this.inFlight -= 1;
    this.waiters.shift()?.();
  }
}

/**
 * Per-account, per-service limits on the cloud calls the engine makes, so a burst of
 * approved actions never turns into a throttling storm on a customer's account. A
 * throttling answer pauses every call to that account's service for a growing while and
 * is tried again; other errors are counted by code and passed on unchanged.
 */
export function createCloudLimiter(limits: CloudLimits = DEFAULT_CLOUD_LIMITS) {
  const gates = new Map<string, Gate>();
  const halts = new Set<() => void>();
  // Aborts the requests already sent, so a slow answer cannot hold the process past its
  // shutdown grace period.
  const aborter = new AbortController();
  let halted = false;
  metrics.cloudConcurrencyLimit.set(limits.concurrency);
  metrics.cloudRateLimit.set(limits.ratePerSecond);

  const gateFor = (key: string) => {
    let gate = gates.get(key);
    if (!gate) {
      gate = new Gate(limits);
      gates.set(key, gate);
    }
    return gate;
  };

  /** Waits, or throws when halted, until `gate` lets one more call start. */
  async function acquire(gate: Gate, service: string) {
    let counted = false;
    try {
      for (;;) {
        if (halted) throw new Halted();
        const now = Date.now();
        gate.refill(now);
        if (gate.inFlight < limits.concurrency && now >= gate.pausedUntil && gate.tokens >= 1) {
          gate.tokens -= 1;
          gate.inFlight += 1;
          return;
        }
        if (!counted) {
          counted = true;
          metrics.cloudWaiting.inc({ service });
        }
        await new Promise<void>((resolve) => {
          const done = () => {
            clearTimeout(timer);
            halts.delete(done);
            resolve();
          };
          halts.add(done);
          let timer: NodeJS.Timeout | undefined;
          if (gate.inFlight >= limits.concurrency) {
            gate.waiters.push(done);
          } else {
            const wait = Math.max(
              gate.pausedUntil - now,
              Math.ceil(((1 - gate.tokens) * 1000) / limits.ratePerSecond),
              1,
            );
            timer = setTimeout(done, wait);
          }
        });
      }
    } finally {
      if (counted) metrics.cloudWaiting.dec({ service });
    }
  }

  async function call<T>(
    key: string,
    service: string,
    send: (signal: AbortSignal) => Promise<T>,
  ): Promise<T> {
    const gate = gateFor(key);
    const retries = limits.throttleRetries ?? 3;
    const backoff = limits.backoffMs ?? 200;
    for (let attempt = 0; ; attempt += 1) {
      await acquire(gate, service);
      try {
        const result = await send(aborter.signal);
        gate.throttledInARow = 0;
        return result;
      } catch (error) {
        if (halted) throw new Halted();
        metrics.cloudErrors.inc({ service, code: errorCode(error) });
        if (!isThrottling(error)) throw error;
        metrics.cloudThrottled.inc({ service });
        gate.throttledInARow += 1;
        const pause = Math.min(30_000, backoff * 2 ** (gate.throttledInARow - 1));
        // Jitter keeps replicas that were throttled together from returning together.
        gate.pausedUntil = Math.max(gate.pausedUntil, Date.now() + pause * (0.5 + Math.random()));
        gate.tokens = 0;
        if (attempt >= retries) throw error;
      } finally {
        gate.release();
      }
    }
  }

  type Sender = { send(...args: any[]): Promise<any> };
  const wrapped = new WeakMap<object, Map<string, Sender>>();
  function limited<C extends Sender>(client: C, key: string, service: string): C {
    let byKey = wrapped.get(client);
    if (!byKey) {
      byKey = new Map();
      wrapped.set(client, byKey);
    }
    let proxy = byKey.get(key) as C | undefined;
    if (!proxy) {
      proxy = new Proxy(client, {
        get(target, prop) {
          if (prop === 'send') {
            return (command: unknown, options?: object) =>
              call(`${key}|${service}`, service, (abortSignal) =>
                target.send(command, { ...options, abortSignal }),
              );
          }
          const value = Reflect.get(target, prop, target);
          return typeof value === 'function' ? value.bind(target) : value;
        },
      });
      byKey.set(key, proxy);
    }
    return proxy;
  }

  return {
    /**
     * The clients a fix sees while it works on `resource`: the same AWS clients, each
     * call through the limits of the resource's account. Kubernetes clients are built by
     * the fix from the kubeconfig and are not limited here, but their requests are
     * aborted by a halt all the same.
     */
    clientsFor(clients: CloudClients, resource: ResourceRef): CloudClients {
      const key = `${resource.provider}:${resource.account || resource.region || ''}`;
      return {
        s3: (region) => limited(clients.s3(region), key, 's3'),
        ec2: (region) => limited(clients.ec2(region), key, 'ec2'),
        rds: (region) => limited(clients.rds(region), key, 'rds'),
        iam: () => limited(clients.iam(), key, 'iam'),
        sts: (region) => limited(clients.sts(region), key, 'sts'),
        kube: (context) => abortable(clients.kube(context), aborter.signal),
        // The shared clients outlive any one action.
        destroy: () => {},
      };
    },
    /**
     * Refuses every further call, wakes the waiting ones with that refusal and aborts
     * the ones in flight.
     */
    halt() {
      halted = true;
      aborter.abort(new Halted());
      for (const wake of [...halts]) wake();
    },
  };
}

/**
 * A kubeconfig whose API clients send every request with `signal`: the client library
 * asks the kubeconfig to authenticate each request, and that is where the signal is set.
 */
function abortable(kc: KubeConfig, signal: AbortSignal): KubeConfig {
  return new Proxy(kc, {
    get(target, prop, receiver) {
      if (prop !== 'applySecurityAuthentication') return Reflect.get(target, prop, receiver);
      return async (context: RequestContext) => {
        if (signal.aborted) throw new Halted();
        context.setSignal(signal);
        await target.applySecurityAuthentication(context);
      };
    },
  });
}

export type CloudLimiter = ReturnType<typeof createCloudLimiter>;
