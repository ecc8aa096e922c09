import { GetCallerIdentityCommand } from '@aws-sdk/client-sts';
import type { ActionError, ResourceRef } from '../domain/action.ts';
import type { CloudClients } from '../cloud/clients.ts';
import { engineError, toActionError } from './cloud-error.ts';

const IDENTITY_TTL_MS = 5 * 60_000;

/**
 * Checks that the credentials the engine picked for an action act in the account it names,
 * so a finding for one account never changes a same-named resource in another. The
 * caller's identity is asked of STS once per account and region and kept for a few minutes.
 */
export function createAccountGuard(
  clientsFor: CloudClients | ((resource: ResourceRef) => CloudClients),
  clock: () => Date,
) {
  const known = new Map<string, { account: string; at: number }>();

  async function callerAccount(resource: ResourceRef): Promise<string> {
    const key = `${resource.account}|${resource.region}`;
    const cached = known.get(key);
    if (cached && clock().getTime() - cached.at < IDENTITY_TTL_MS) return cached.account;
    const clients = typeof clientsFor === 'function' ? clientsFor(resource) : clientsFor;
    const identity = await clients.sts(resource.region).send(new GetCallerIdentityCommand({}));
    const account = identity.Account ?? '';
    known.set(key, { account, at: clock().getTime() });
    return account;
  }

  /** Null when the action may run here; otherwise the error to record. */
  return async function check(resource: ResourceRef): Promise<ActionError | null> {
    if (resource.provider !== 'aws' || !resource.account) return null;
    let account: string;
    try {
      account = await callerAccount(resource);
    } catch (error) {
      return {
        ...toActionError(error, clock()),
        message: `could not tell which AWS account the server's credentials act in: ${
          (error as Error).message
        }`,
      };
    }
    if (account === resource.account) return null;
    return engineError(
      'wrong_account',
      `the action is for AWS account ${resource.account}, but the server's credentials act ` +
        `in account ${account || '(unknown)'}; nothing was read or changed. Run it with ` +
        `credentials for ${resource.account}, or reject the action`,
      clock(),
    );
  };
}

export type AccountGuard = ReturnType<typeof createAccountGuard>;
