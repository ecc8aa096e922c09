import { setTimeout as sleep } from 'node:timers/promises';
import type { Action } from '../domain/action.ts';
import type { Status } from '../domain/status.ts';
import type { ApiClient } from './client.ts';

/** Statuses an action rests in until a person acts again. */
export const SETTLED: readonly Status[] = ['completed', 'failed', 'rolled_back', 'rejected'];

export interface WaitOptions {
  timeoutMs: number;
  intervalMs?: number;
  /** Called whenever the status (or the pending request) changes. */
  onProgress?: (action: Action) => void;
}

/**
 * Polls an action until the engine has taken its request and it rests in a settled
 * status. A request still queued counts as unsettled, so a rollback requested on a
 * completed action is not mistaken for done.
 */
export async function waitForSettled(
  client: ApiClient,
  id: string,
  opts: WaitOptions,
): Promise<Action> {
  const deadline = Date.now() + opts.timeoutMs;
  let last = '';
  for (;;) {
    const { action } = await client.get<{ action: Action }>(`/actions/${encodeURIComponent(id)}`);
    const state = `${action.status}:${action.requestedOp ?? ''}`;
    if (state !== last) {
      opts.onProgress?.(action);
      last = state;
    }
    if (action.requestedOp === null && SETTLED.includes(action.status)) return action;
    if (Date.now() >= deadline) {
      throw new Error(
        `gave up waiting for action ${id} after ${Math.round(opts.timeoutMs / 1000)} s; it is ` +
          `still ${action.status}. Check the server log, or wait longer with --timeout`,
      );
    }
    await sleep(opts.intervalMs ?? 500);
  }
}
