import type { ParamReader } from '../query/form.ts';
import { list, type XmlValue } from '../query/xml.ts';
import type { SandboxRequest } from '../types.ts';
import type { IamDeps } from './users-api.ts';

/** IAM's default quotas, as GetAccountSummary reports them beside the counts. */
const QUOTAS = {
  UsersQuota: 5000,
  GroupsQuota: 300,
  GroupsPerUserQuota: 10,
  AccessKeysPerUserQuota: 2,
  SigningCertificatesPerUserQuota: 2,
  AttachedPoliciesPerUserQuota: 10,
  PolicySizeQuota: 6144,
  UserPolicySizeQuota: 2048,
  ServerCertificatesQuota: 20,
  MFADevicesInUse: 0,
  MFADevices: 0,
};

/**
 * GetAccountSummary: the account's counts and quotas as a `SummaryMap` of entries.
 * `AccountAccessKeysPresent` is 1 when the root user has any access key, active or not.
 */
export function getAccountSummary(_p: ParamReader, req: SandboxRequest, deps: IamDeps): XmlValue {
  const account = deps.store.account(req.account, deps.ctx.now());
  const users = Object.values(account.users);
  const summary: Record<string, number> = {
    ...QUOTAS,
    Users: users.length,
    Groups: 0,
    Roles: 0,
    Policies: 0,
    AccountMFAEnabled: 0,
    AccountAccessKeysPresent: account.root.accessKeys.length > 0 ? 1 : 0,
    AccountSigningCertificatesPresent: 0,
  };
  const entries = Object.entries(summary)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([key, value]) => ({ key, value }));
  return { SummaryMap: list('entry', entries) };
}
