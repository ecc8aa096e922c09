import {
  GetAccessKeyLastUsedCommand,
  GetAccountSummaryCommand,
  GetUserCommand,
  ListAccessKeysCommand,
  ListAttachedUserPoliciesCommand,
  ListUserPoliciesCommand,
  ListUserTagsCommand,
  ListUsersCommand,
  type User,
} from '@aws-sdk/client-iam';
import type { CloudClients } from '../../cloud/clients.ts';
import { mapBounded } from '../reads.ts';
import type {
  AccessKeySummary,
  AwsAccountConfig,
  DiscoveredResource,
  IamAccessKeyConfig,
  IamUserConfig,
} from '../types.ts';
import { DETAIL_CONCURRENCY, IAM_REGION, iso, type Reading, tagMap } from './reading.ts';

/** The id of an account's own resource: its root user's ARN, as importers name the account. */
export const accountArn = (account: string) => `arn:aws:iam::${account}:root`;

/** Every user of the account with its access keys, and the account itself. */
export async function discoverIam(
  clients: CloudClients,
  reading: Reading,
): Promise<(DiscoveredResource | null)[]> {
  const iam = clients.iam();
  const users: User[] = [];
  let marker: string | undefined;
  do {
    const page = await iam.send(new ListUsersCommand({ MaxItems: 1000, Marker: marker }));
    users.push(...(page.Users ?? []));
    marker = page.IsTruncated ? page.Marker : undefined;
  } while (marker);

  const perUser = await mapBounded(users, DETAIL_CONCURRENCY, (u) => readUser(clients, reading, u));
  return [await discoverAccount(clients, reading), ...perUser.flat()];
}

/** One user by name, with its keys; IAM answers NoSuchEntity for one that does not exist. */
export async function discoverUser(
  clients: CloudClients,
  reading: Reading,
  userName: string,
): Promise<DiscoveredResource[]> {
  const found = await clients.iam().send(new GetUserCommand({ UserName: userName }));
  return found.User ? readUser(clients, reading, found.User) : [];
}

/**
 * The account as IAM summarizes it: whether its root user has access keys. A failed read
 * leaves the account out (and the unit incomplete): its check would judge a guess.
 */
export async function discoverAccount(
  clients: CloudClients,
  reading: Reading,
): Promise<DiscoveredResource | null> {
  const { account } = reading.unit;
  const id = accountArn(account);
  let summary: Record<string, number>;
  try {
    summary = (await clients.iam().send(new GetAccountSummaryCommand({}))).SummaryMap ?? {};
  } catch (error) {
    reading.fail('GetAccountSummary', error, id);
    return null;
  }
  const config: AwsAccountConfig = {
    accountId: account,
    accountAccessKeysPresent: (summary.AccountAccessKeysPresent ?? 0) > 0,
  };
  return {
    provider: 'aws',
    account,
    region: IAM_REGION,
    type: 'AwsAccount',
    id,
    name: account,
    tags: {},
    config: { ...config },
  };
}

async function readUser(
  clients: CloudClients,
  reading: Reading,
  u: User,
): Promise<DiscoveredResource[]> {
  const { account } = reading.unit;
  const iam = clients.iam();
  const userName = u.UserName ?? '';
  const arn = u.Arn ?? `arn:aws:iam::${account}:user${u.Path ?? '/'}${userName}`;
  let keys: AccessKeySummary[];
  try {
    const listed = await iam.send(new ListAccessKeysCommand({ UserName: userName }));
    keys = await Promise.all(
      (listed.AccessKeyMetadata ?? []).map(async (k) => {
        const used = await iam.send(
          new GetAccessKeyLastUsedCommand({ AccessKeyId: k.AccessKeyId }),
        );
        const last = used.AccessKeyLastUsed;
        return {
          accessKeyId: k.AccessKeyId ?? '',
          status: k.Status ?? '',
          created: iso(k.CreateDate),
          lastUsed: iso(last?.LastUsedDate),
          lastUsedService:
            last?.ServiceName && last.ServiceName !== 'N/A' ? last.ServiceName : null,
          lastUsedRegion: last?.Region && last.Region !== 'N/A' ? last.Region : null,
        };
      }),
    );
  } catch (error) {
    reading.fail('ListAccessKeys', error, arn);
    return [];
  }
  const [tags, attached, inline] = await Promise.all([
    reading.optional('ListUserTags', arn, () =>
      iam.send(new ListUserTagsCommand({ UserName: userName })),
    ),
    reading.optional('ListAttachedUserPolicies', arn, () =>
      iam.send(new ListAttachedUserPoliciesCommand({ UserName: userName })),
    ),
    reading.optional('ListUserPolicies', arn, () =>
      iam.send(new ListUserPoliciesCommand({ UserName: userName })),
    ),
  ]);
  const userConfig: IamUserConfig = {
    userName,
    userId: u.UserId ?? '',
    arn,
    path: u.Path ?? '/',
    created: iso(u.CreateDate),
    passwordLastUsed: iso(u.PasswordLastUsed),
    attachedPolicies: attached
      ? (attached.AttachedPolicies ?? []).map((p) => ({
          policyName: p.PolicyName ?? '',
          policyArn: p.PolicyArn ?? '',
        }))
      : null,
    inlinePolicies: inline ? (inline.PolicyNames ?? []) : null,
    accessKeys: keys,
  };
  const userTags = tagMap(tags?.Tags);
  const unread = [
    ...(tags ? [] : ['tags']),
    ...(attached ? [] : ['attachedPolicies']),
    ...(inline ? [] : ['inlinePolicies']),
  ];
  const user: DiscoveredResource = {
    provider: 'aws',
    account,
    region: IAM_REGION,
    type: 'AwsIamUser',
    id: arn,
    name: userName,
    tags: userTags,
    config: { ...userConfig },
    ...(unread.length > 0 ? { unread } : {}),
  };
  const keyResources = keys.map((k): DiscoveredResource => {
    const keyConfig: IamAccessKeyConfig = { ...k, userName, userArn: arn };
    return {
      provider: 'aws',
      account,
      region: IAM_REGION,
      type: 'AwsIamAccessKey',
      id: `${arn}/accesskey/${k.accessKeyId}`,
      name: k.accessKeyId,
      tags: userTags,
      config: { ...keyConfig },
      ...(tags ? {} : { unread: ['tags'] }),
    };
  });
  return [user, ...keyResources];
}
