/** What one part of a scan (a service in an account and region) could not read. */
export interface ReadError {
  provider: 'aws' | 'kubernetes';
  account: string;
  region: string;
  service: string;
  operation: string;
  /** The cloud's own error code (`AccessDenied`), or `error` when it gave none. */
  code: string;
  message: string;
  /** The resource whose details could not be read; null when a whole listing failed. */
  resourceId: string | null;
}

/** One unit of discovery: a service in one account and region (or kube context). */
export interface ScanUnit {
  provider: 'aws' | 'kubernetes';
  account: string;
  region: string;
  service: string;
}

export const unitKey = (u: ScanUnit) => `${u.provider}|${u.account}|${u.region}|${u.service}`;

/** The error code an SDK or Kubernetes client error carries. */
export function errorCode(error: unknown): string {
  const e = (error ?? {}) as {
    name?: unknown;
    Code?: unknown;
    code?: unknown;
    body?: { reason?: unknown };
  };
  if (typeof e.Code === 'string' && e.Code) return e.Code;
  if (typeof e.body?.reason === 'string' && e.body.reason) return e.body.reason;
  if (typeof e.code === 'number' || (typeof e.code === 'string' && e.code)) return String(e.code);
  if (typeof e.name === 'string' && e.name && e.name !== 'Error') return e.name;
  return 'error';
}

export function errorMessage(error: unknown): string {
  const message = (error as { message?: unknown })?.message;
  return typeof message === 'string' && message ? message : String(error);
}

/** Runs `work` on every item with at most `limit` in flight; results keep input order. */
export async function mapBounded<T, R>(
  items: readonly T[],
  limit: number,
  work: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await work(items[index] as T, index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
