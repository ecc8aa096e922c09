import type { KubeConfig, RequestContext } from '@kubernetes/client-node';
import type { CloudClients } from '../cloud/clients.ts';
import type { ResourceRef } from '../domain/action.ts';
import { metrics } from '../metrics/metrics.ts';

/**
 * How hard the engine may press one account's service (or one kube context), across the
 * whole deployment: each replica uses its share of these (see `shareOf`).
 */
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

/**
 * Whose gate a call passes: an AWS account's (its region's when no account is named yet)
 * or a kube context's.
 */
export type GateRef = Pick<ResourceRef, 'provider' | 'account' | 'region'>;

/** What a caller needs to send its cloud calls through the gates. */
export interface CloudGates {
  clientsFor(clients: CloudClients, where: GateRef): CloudClients;
}

/**
 * One replica's part of the deployment's limits when `liveReplicas` share them: the
 * configured values divided among the replicas, rounded down for concurrency so that
 * together they stay within it, and never below one call.
 */
export function shareOf(configured: CloudLimits, liveReplicas: number): CloudLimits {
  const n = Number.isFinite(liveReplicas) ? Math.max(1, Math.floor(liveReplicas)) : 1;
  return {
    ...configured,
    concurrency: Math.max(1, Math.floor(configured.concurrency / n)),
    ratePerSecond: Math.max(1, configured.ratePerSecond / n),
  };
}

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
  /** The Kubernetes client's HTTP status; AWS errors carry none here. */
  code?: unknown;
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

/** A Kubernetes API answer of 429 Too Many Requests, as the client library throws it. */
function isKubeThrottling(error: unknown): boolean {
  return (error as SdkError | null)?.code === 429;
}

function errorCode(error: unknown): string {
  const e = (error ?? {}) as SdkError;
  if (typeof e.code === 'number') return `HTTP ${e.code}`;
  return e.Code ?? e.name ?? 'unknown';
}

/** The refusal of every cloud call (and store write) once the engine has handed work back. */
export class Halted extends Error {
  constructor() {
    super('the engine is shutting down; no further cloud calls are made');
    this.name = 'EngineShuttingDown';
  }
}

/**
 * One account's service: a semaphore for concurrency and a token bucket for the rate. It
 * reads the limits on every use, so a new share applies to the gates already open.
 */
class Gate {
  inFlight = 0;
  tokens: number;
  refilledAt = Date.now();
  pausedUntil = 0;
  throttledInARow = 0;
  readonly waiters: (() => void)[] = [];
  readonly limits: () => CloudLimits;

  constructor(limits: () => CloudLimits) {
    this.limits = limits;
    this.tokens = Math.max(1, limits().ratePerSecond);
  }

  refill(now: number) {
    const { ratePerSecond } = this.limits();
    const burst = Math.max(1, ratePerSecond);
    this.tokens = Math.min(burst, this.tokens + ((now - this.refilledAt) / 1000) * ratePerSecond);
    this.refilledAt = now;
  }

  release() {
    this.inFlight -= 1;
    this.waiters.shift()?.();
  }
}

/**
 * Per-account, per-service limits on the cloud calls the engine makes (AWS services, and
 * the Kubernetes API per kube context), so a burst of approved actions never turns into a
 * throttling storm on a customer's account or cluster. A throttling answer pauses every
 * call to that account's service for a growing while and is tried again; other errors are
 * counted by code and passed on unchanged. `configured` is the whole deployment's budget;
 * `setReplicas` narrows this replica to its share.
 */
export function createCloudLimiter(configured: CloudLimits = DEFAULT_CLOUD_LIMITS) {
  let limits = shareOf(configured, 1);
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
      gate = new Gate(() => limits);
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

  /**
   * Makes one call through the gate of `key`. `kube` marks a Kubernetes API call: its
   * throttling answer (429) pauses the gate like an AWS one but is not tried again here,
   * because the catalog's `kubeCall` already retries it, each try through this gate.
   */
  async function call<T>(
    key: string,
    service: string,
    send: (signal: AbortSignal) => Promise<T>,
    kube = false,
  ): Promise<T> {
    const gate = gateFor(key);
    const retries = kube ? 0 : (limits.throttleRetries ?? 3);
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
        if (!(kube ? isKubeThrottling(error) : isThrottling(error))) throw error;
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

  /**
   * The kubeconfig of `context` as a fix sees it: every request of the API clients it
   * makes passes the gate of that context, and is aborted by a halt.
   */
  function limitedKube(kc: KubeConfig, context: string): KubeConfig {
    const key = `kubernetes:${context}|kubernetes`;
    return new Proxy(kc, {
      get(target, prop, receiver) {
        // The client library asks the kubeconfig to authenticate each request: that is
        // where a request can be given the signal that aborts it.
        if (prop === 'applySecurityAuthentication') {
          return async (requestContext: RequestContext) => {
            if (aborter.signal.aborted) throw new Halted();
            requestContext.setSignal(aborter.signal);
            await target.applySecurityAuthentication(requestContext);
          };
        }
        if (prop === 'makeApiClient') {
          return <A extends object>(type: new (...args: any[]) => A): A =>
            gatedApi(target.makeApiClient.call(receiver, type as any) as A, key);
        }
        return Reflect.get(target, prop, receiver);
      },
    });
  }

  /** Every method of a generated API client makes one request: each passes the gate. */
  function gatedApi<A extends object>(api: A, key: string): A {
    return new Proxy(api, {
      get(target, prop) {
        const value = Reflect.get(target, prop, target) as unknown;
        if (typeof value !== 'function' || prop === 'constructor') return value;
        const method = value as (...a: unknown[]) => Promise<unknown>;
        return (...args: unknown[]) =>
          call(key, 'kubernetes', () => method.apply(target, args), true);
      },
    });
  }

  return {
    /**
     * The clients a fix sees while it works on `resource`, and a scan while it reads an
     * account or context: the same clients, each AWS call through the limits of the
     * account and each Kubernetes request through those of its kube context.
     */
    clientsFor(clients: CloudClients, resource: GateRef): CloudClients {
      const key = `${resource.provider}:${resource.account || resource.region || ''}`;
      return {
        s3: (region) => limited(clients.s3(region), key, 's3'),
        ec2: (region) => limited(clients.ec2(region), key, 'ec2'),
        rds: (region) => limited(clients.rds(region), key, 'rds'),
        iam: () => limited(clients.iam(), key, 'iam'),
        sts: (region) => limited(clients.sts(region), key, 'sts'),
        kube: (context) => limitedKube(clients.kube(context), context),
        // The shared clients outlive any one action.
        destroy: () => {},
      };
    },
    /**
     * Narrows this replica to its share of the configured limits, `liveReplicas` being
     * how many replicas share them now (this one included). Calls waiting for a slot look
     * again at once, since a larger share may let them start.
     */
    setReplicas(liveReplicas: number) {
      const next = shareOf(configured, liveReplicas);
      if (next.concurrency === limits.concurrency && next.ratePerSecond === limits.ratePerSecond) {
        return;
      }
      limits = next;
      metrics.cloudConcurrencyLimit.set(limits.concurrency);
      metrics.cloudRateLimit.set(limits.ratePerSecond);
      for (const gate of gates.values()) {
        for (const wake of gate.waiters.splice(0)) wake();
      }
    },
    /** The limits this replica works within now: its share of the configured ones. */
    current(): CloudLimits {
      return { ...limits };
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

export type CloudLimiter = ReturnType<typeof createCloudLimiter>;
