import type { Action, SealedSecret } from '../domain/action.ts';
import { forbidden, invalidInput, notFound } from '../domain/errors.ts';
import type { Fix } from '../catalog/fix.ts';
import { parseRecipientKey } from '../secrets/sealed-box.ts';
import type { Store } from '../store/store.ts';

/** What an execute request may carry. */
export interface ExecuteOptions {
  /** X25519 public key, SPKI DER in base64: the fix's new secret is sealed to it. */
  recipientKey?: string;
}

/**
 * The request data an execution of `fix` needs: a fix that hands out a secret (a new
 * access key's) cannot run without a key to seal it to, since nobody could ever read it.
 */
export function executeData(
  fix: Fix | undefined,
  action: Action,
  opts: ExecuteOptions,
): Record<string, unknown> | undefined {
  if (!fix?.yieldsSecret) return undefined;
  if (opts.recipientKey === undefined || opts.recipientKey === '') {
    throw invalidInput(
      `fix ${fix.type} creates a secret that is handed only to whoever executes action ` +
        `${action.id}, so execute needs a recipientKey (an X25519 public key, SPKI DER in ` +
        'base64): run `infraudit remediation execute --wait`, which makes one and opens the ' +
        'secret for you',
      { type: fix.type, needs: 'recipientKey' },
    );
  }
  parseRecipientKey(opts.recipientKey);
  return { recipientKey: opts.recipientKey };
}

/** Who asked for the last execution, from the audit trail (the request itself is cleared). */
async function executionRequester(store: Store, id: string): Promise<string | undefined> {
  const events = await store.events(id);
  for (let i = events.length - 1; i >= 0; i -= 1) {
    const event = events[i];
    if (event?.type === 'request' && event.data?.request === 'execute') return event.actor;
  }
  return undefined;
}

/** Hands the sealed secret over once, and only to the person who requested the execution. */
export async function takeSecret(
  store: Store,
  action: Action,
  actor: string,
  now: Date,
): Promise<SealedSecret> {
  const requester = await executionRequester(store, action.id);
  if (requester !== actor) {
    throw forbidden(
      `the secret of action ${action.id} is sealed for ${requester ?? 'whoever executes it'}, ` +
        `who requested the execution; ${actor} cannot collect it`,
    );
  }
  const secret = await store.takeSealedSecret(action.id, { actor, now });
  if (!secret) {
    throw notFound(
      `no secret is waiting for action ${action.id}: it was already handed over, or the fix ` +
        `has not created one (status ${action.status}); a secret is handed over only once`,
    );
  }
  return secret;
}
