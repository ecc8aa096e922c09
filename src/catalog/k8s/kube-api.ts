import { setTimeout as sleep } from 'node:timers/promises';
import { isKubeApiException, kubeSdk } from '../sdk.ts';

/** Total attempts per call, as the AWS clients have by default. */
const MAX_ATTEMPTS = 4;
const BASE_DELAY_MS = 100;
const MAX_DELAY_MS = 1_000;
const RETRIED_STATUSES = new Set([429, 500, 502, 503, 504]);
const RETRIED_NETWORK = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'EPIPE',
  'ETIMEDOUT',
  'UND_ERR_SOCKET',
]);

/**
 * A refusal from the Kubernetes API, shaped like an AWS SDK error (`name` is the Status
 * reason, `$metadata.httpStatusCode` the status) so the engine records the cloud's own
 * code and message for it as it does for AWS.
 */
export class KubeApiError extends Error {
  readonly status: number;
  readonly reason: string;
  readonly $fault: 'client' | 'server';
  readonly $metadata: { httpStatusCode: number; attempts: number };

  constructor(status: number, reason: string, message: string, attempts: number) {
    super(message);
    this.name = reason;
    this.status = status;
    this.reason = reason;
    this.$fault = status >= 500 ? 'server' : 'client';
    this.$metadata = { httpStatusCode: status, attempts };
  }
}

export function isKubeStatus(err: unknown, status: number): err is KubeApiError {
  return err instanceof KubeApiError && err.status === status;
}

/**
 * Makes one API call. Throttling (429) and server errors are retried with exponential
 * backoff (honouring Retry-After, up to a second), as the AWS SDK retries; every other
 * refusal fails at once. `what` names the call in the error, e.g. `patch deployment shop/web`.
 */
export async function kubeCall<T>(what: string, call: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await call();
    } catch (err) {
      // The client's errors are told apart by its class; callers outside the catalog (the
      // scan) build their clients without the catalog's loader, so load it here.
      await kubeSdk();
      const retry = attempt < MAX_ATTEMPTS && retryable(err);
      if (!retry) throw toKubeApiError(what, err, attempt);
      await sleep(delayMs(err, attempt));
    }
  }
}

function retryable(err: unknown): boolean {
  if (isKubeApiException(err)) return RETRIED_STATUSES.has(err.code);
  const cause = (err as { cause?: { code?: string } } | null)?.cause;
  return typeof cause?.code === 'string' && RETRIED_NETWORK.has(cause.code);
}

function delayMs(err: unknown, attempt: number): number {
  const backoff = BASE_DELAY_MS * 2 ** (attempt - 1) * (0.5 + Math.random() / 2);
  const headers = isKubeApiException(err) ? (err.headers as Record<string, string>) : {};
  const retryAfter = Number(headers['retry-after']);
  const wait = Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter * 1000 : backoff;
  return Math.min(wait, MAX_DELAY_MS);
}

/** The Status the API answered with, in the product's terms; other errors pass through. */
function toKubeApiError(what: string, err: unknown, attempts: number): unknown {
  if (!isKubeApiException(err)) return err;
  const status = parseStatus(err.body);
  const reason = status?.reason || reasonFor(err.code);
  const message = status?.message || `HTTP ${err.code}`;
  return new KubeApiError(
    err.code,
    reason,
    `${what}: ${message} (HTTP ${err.code} ${reason})`,
    attempts,
  );
}

function parseStatus(body: unknown): { reason?: string; message?: string } | null {
  let value = body;
  if (typeof body === 'string') {
    try {
      value = JSON.parse(body);
    } catch {
      return null;
    }
  }
  if (typeof value !== 'object' || value === null) return null;
  const { reason, message } = value as { reason?: unknown; message?: unknown };
  return {
    ...(typeof reason === 'string' ? { reason } : {}),
    ...(typeof message === 'string' ? { message } : {}),
  };
}

function reasonFor(code: number): string {
  const reasons: Record<number, string> = {
    400: 'BadRequest',
    401: 'Unauthorized',
    403: 'Forbidden',
    404: 'NotFound',
    409: 'Conflict',
    415: 'UnsupportedMediaType',
    422: 'Invalid',
    429: 'TooManyRequests',
    500: 'InternalError',
    503: 'ServiceUnavailable',
  };
  return reasons[code] ?? 'Unknown';
}
