import type { ResourceRef } from '../../domain/action.ts';
import { AppError, invalidInput } from '../../domain/errors.ts';
import { parseArn } from '../../findings/aws-resource.ts';
import type { FixContext } from '../fix.ts';
import { iamSdk } from '../sdk.ts';

/** Whose access keys a finding is about. */
export type Principal = { kind: 'root' } | { kind: 'user'; userName: string };

const ACCESS_KEY_ID = /^AKIA[A-Z0-9]{12,124}$/;
const USER_ID = /^AIDA[A-Z0-9]{12,124}$/;

export const isAccessKeyId = (value: unknown): value is string =>
  typeof value === 'string' && ACCESS_KEY_ID.test(value);

/** Security Hub's id for a key resource, as GuardDuty and others write it. */
const KEY_RESOURCE_PREFIX = 'AWS::IAM::AccessKey:';

/**
 * The key a finding names, if it names one: an `accessKeyId` parameter (from the
 * finding's details) or a resource whose id is the key id (bare or `AWS::IAM::AccessKey:`).
 */
export function namedKeyId(resource: ResourceRef, params: Record<string, unknown>): string | null {
  if (isAccessKeyId(params.accessKeyId)) return params.accessKeyId;
  const id = resource.id.startsWith(KEY_RESOURCE_PREFIX)
    ? resource.id.slice(KEY_RESOURCE_PREFIX.length)
    : resource.id;
  return isAccessKeyId(id) ? id : null;
}

/**
 * The IAM user (or the account root) a finding is about. Scanners name users by ARN,
 * sometimes ending in the user id (`AIDA...`) instead of the name, sometimes only
 * by a key id; each is resolved through IAM itself.
 */
export async function resolvePrincipal(ctx: FixContext, resource: ResourceRef): Promise<Principal> {
  const stated = ctx.params.userName;
  if (typeof stated === 'string' && stated !== '') return { kind: 'user', userName: stated };

  const arn = parseArn(resource.id);
  if (arn?.service === 'iam' && arn.resource === 'root') return { kind: 'root' };
  const keyId = namedKeyId(resource, ctx.params);
  if (!arn && keyId) {
    // The key's owner, as IAM reports it; the root's keys have none.
    const out = await ctx.clients
      .iam()
      .send(new (await iamSdk()).GetAccessKeyLastUsedCommand({ AccessKeyId: keyId }));
    return out.UserName ? { kind: 'user', userName: out.UserName } : { kind: 'root' };
  }
  if (arn?.service !== 'iam' || !arn.resource.startsWith('user/')) {
    throw invalidInput(
      `resource "${resource.id}" is not an IAM user ARN (arn:aws:iam::ACCOUNT:user/NAME), the ` +
        "account root's ARN or an access key id, so the access keys it means cannot be found",
    );
  }
  const last = arn.resource.split('/').pop() ?? '';
  if (!USER_ID.test(last)) return { kind: 'user', userName: last };
  return { kind: 'user', userName: await userNameOf(ctx, last, resource) };
}

/** Finds the user whose UserId is `userId`; a user literally named so counts too. */
async function userNameOf(ctx: FixContext, userId: string, resource: ResourceRef): Promise<string> {
  const { ListUsersCommand } = await iamSdk();
  let marker: string | undefined;
  do {
    const out = await ctx.clients
      .iam()
      .send(new ListUsersCommand({ ...(marker ? { Marker: marker } : {}) }));
    const found = out.Users?.find((u) => u.UserId === userId || u.UserName === userId);
    if (found?.UserName) return found.UserName;
    marker = out.IsTruncated ? out.Marker : undefined;
  } while (marker);
  throw new AppError(
    'not_found',
    `the finding names IAM user id ${userId} (${resource.id}) and no user in the account has ` +
      'that id: the user was probably deleted after the scan; re-run the scan',
  );
}
