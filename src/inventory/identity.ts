import { GetCallerIdentityCommand } from '@aws-sdk/client-sts';
import type { CloudClients } from '../cloud/clients.ts';
import { errorCode, errorMessage, type ReadError } from './reads.ts';

/**
 * The account the clients act in (STS GetCallerIdentity), checked against the one expected,
 * so resources of one account are never recorded under another's id. `expected` null
 * accepts whichever account the default chain acts in.
 */
export async function identifyAccount(
  clients: CloudClients,
  region: string,
  expected: string | null,
): Promise<{ account: string } | { error: ReadError }> {
  const failed = (code: string, message: string) => ({
    error: {
      provider: 'aws' as const,
      account: expected ?? '',
      region,
      service: 'sts',
      operation: 'GetCallerIdentity',
      code,
      message,
      resourceId: null,
    },
  });
  try {
    const identity = await clients.sts(region).send(new GetCallerIdentityCommand({}));
    const account = identity.Account ?? '';
    if (expected !== null && account !== expected) {
      return failed(
        'WrongAccount',
        `the credentials for account ${expected} act in account ${account || '(unknown)'}; ` +
          'nothing of this account was read',
      );
    }
    return { account };
  } catch (error) {
    return failed(errorCode(error), errorMessage(error));
  }
}
