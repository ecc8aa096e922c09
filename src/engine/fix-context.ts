import type { Logger } from 'pino';
import type { Action } from '../domain/action.ts';
import type { FixOptions } from '../domain/fix-options.ts';
import type { Fix, FixContext, FixInput } from '../catalog/fix.ts';
import type { CloudClients } from '../cloud/clients.ts';
import { parseRecipientKey, seal } from '../secrets/sealed-box.ts';
import type { Store } from '../store/store.ts';

/**
 * The input an action runs with: the one its plan was made with, so what ran was
 * approved. Only an action never planned falls back to the options in force now.
 */
export async function inputOf(
  action: Action,
  options: () => Promise<FixOptions>,
): Promise<FixInput> {
  return action.plan.input ?? { params: action.params, options: await options() };
}

/** Everything a fix may touch while it runs one action, bound to this engine's lease. */
export function fixContext(opts: {
  action: Action;
  input: FixInput;
  clients: CloudClients;
  log: Logger;
  store: Store;
  owner: string;
}): FixContext {
  const { action, store, owner } = opts;
  let progress: Record<string, unknown> = { ...action.progress };
  return {
    ...opts.input,
    clients: opts.clients,
    log: opts.log,
    get progress() {
      return progress;
    },
    async checkpoint(next) {
      await store.saveProgress(action.id, next, owner);
      progress = { ...next };
    },
    async deliverSecret(name, value) {
      const recipient = parseRecipientKey(action.requestData?.recipientKey);
      await store.saveSealedSecret(action.id, seal(name, value, recipient), owner);
    },
  };
}

/**
 * A context outside any lease (planning, the final step): it may not record progress
 * or secrets.
 */
export function contextWithoutLease(
  clients: CloudClients,
  log: Logger,
  input: FixInput,
): FixContext {
  const refuse = async () => {
    throw new Error('a fix tried to record progress or a secret outside a running action');
  };
  return { ...input, clients, log, progress: {}, checkpoint: refuse, deliverSecret: refuse };
}

export type { Fix };
