import type { ParamReader } from '../query/form.ts';
import { list, type XmlValue } from '../query/xml.ts';
import type { SandboxRequest } from '../types.ts';
import { findUser, page, pageFields, type IamDeps } from './users-api.ts';

/** The read-only details of a user that discovery reads: tags and policies. */
function userOf(p: ParamReader, req: SandboxRequest, deps: IamDeps) {
  const account = deps.store.account(req.account, deps.ctx.now());
  return findUser(account, p.required('UserName'))[1];
}

export function listUserTags(p: ParamReader, req: SandboxRequest, deps: IamDeps): XmlValue {
  const tags = Object.entries(userOf(p, req, deps).tags ?? {});
  const { start, end } = page(p, tags.length);
  return {
    Tags: list(
      'member',
      tags.slice(start, end).map(([Key, Value]) => ({ Key, Value })),
    ),
    ...pageFields(end, tags.length),
  };
}

export function listAttachedUserPolicies(
  p: ParamReader,
  req: SandboxRequest,
  deps: IamDeps,
): XmlValue {
  const policies = userOf(p, req, deps).attachedPolicies ?? [];
  const { start, end } = page(p, policies.length);
  return {
    AttachedPolicies: list(
      'member',
      policies.slice(start, end).map((x) => ({ PolicyName: x.policyName, PolicyArn: x.policyArn })),
    ),
    ...pageFields(end, policies.length),
  };
}

export function listUserPolicies(p: ParamReader, req: SandboxRequest, deps: IamDeps): XmlValue {
  const names = userOf(p, req, deps).inlinePolicies ?? [];
  const { start, end } = page(p, names.length);
  return { PolicyNames: list('member', names.slice(start, end)), ...pageFields(end, names.length) };
}
