import type { ActionError } from '../domain/action.ts';

/** What the AWS SDK v3 attaches to a service error. */
interface SdkError {
  name?: string;
  Code?: string;
  message?: string;
  $fault?: 'client' | 'server';
  $metadata?: { httpStatusCode?: number; attempts?: number };
}

/**
 * Turns whatever a fix threw into the error recorded on the action, keeping the cloud's
 * own code and message so a person can look them up.
 */
export function toActionError(
  error: unknown,
  now: Date,
  opts: { duringChange?: boolean } = {},
): ActionError {
  const e = (error ?? {}) as SdkError;
  const fromCloud = e.$metadata !== undefined || e.$fault !== undefined;
  const cloudCode = fromCloud ? (e.Code ?? e.name) : undefined;
  // Only a refusal the cloud answered (a 4xx) proves the change did not happen.
  const outcomeUnknown = opts.duringChange === true && e.$fault !== 'client';
  return {
    code: fromCloud ? 'cloud_error' : 'internal_error',
    message: e.message || String(error),
    ...(cloudCode ? { cloudCode } : {}),
    ...(outcomeUnknown ? { outcomeUnknown } : {}),
    at: now.toISOString(),
  };
}

export function engineError(code: string, message: string, now: Date): ActionError {
  return { code, message, at: now.toISOString() };
}
