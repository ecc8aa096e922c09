import type { ParamReader } from '../query/form.ts';
import { list, type XmlValue } from '../query/xml.ts';
import type { SandboxRequest } from '../types.ts';
import { constraint, keyLimit, noSuchKey } from './errors.ts';
import { newAccessKeyId, newSecretAccessKey } from './ids.ts';
import { type AccessKeyState, type IamAccountState, STATUSES } from './state.ts';
import { callerOf, findUser, type IamDeps, page, pageFields } from './users-api.ts';

const MAX_KEYS = 2;

/** Whose keys a call acts on: the named user, or else the caller (the root included). */
interface KeyOwner {
  /** Null for the account root. */
  name: string | null;
  keys: AccessKeyState[];
}

function ownerOf(account: IamAccountState, p: ParamReader, req: SandboxRequest): KeyOwner {
  const asked = p.str('UserName');
  if (asked !== undefined) {
    const [name, user] = findUser(account, asked);
    return { name, keys: user.accessKeys };
  }
  const caller = callerOf(account, req);
  if (caller.kind === 'root') return { name: null, keys: account.root.accessKeys };
  const [name, user] = findUser(account, caller.name);
  return { name, keys: user.accessKeys };
}

function keyOf(owner: KeyOwner, p: ParamReader): AccessKeyState {
  const id = p.required('AccessKeyId');
  if (!/^\w{16,128}$/.test(id)) {
    throw constraint(id, 'accessKeyId', 'Member must satisfy regular expression pattern: [\\w]+');
  }
  const key = owner.keys.find((k) => k.accessKeyId === id);
  if (!key) throw noSuchKey(id);
  return key;
}

const metadata = (owner: KeyOwner, key: AccessKeyState): XmlValue => ({
  UserName: owner.name,
  AccessKeyId: key.accessKeyId,
  Status: key.status,
  CreateDate: key.createDate,
});

export function createAccessKey(p: ParamReader, req: SandboxRequest, deps: IamDeps): XmlValue {
  const account = deps.store.account(req.account, deps.ctx.now());
  const owner = ownerOf(account, p, req);
  if (owner.keys.length >= MAX_KEYS) throw keyLimit();
  let accessKeyId = newAccessKeyId();
  while (deps.store.keyExists(accessKeyId)) accessKeyId = newAccessKeyId();
  const key: AccessKeyState = {
    accessKeyId,
    secretAccessKey: newSecretAccessKey(),
    status: 'Active',
    createDate: deps.ctx.now().toISOString(),
    lastUsed: null,
  };
  owner.keys.push(key);
  record(deps, req, 'CreateAccessKey', accessKeyId, sent(p, ['UserName']));
  return {
    AccessKey: { ...(metadata(owner, key) as object), SecretAccessKey: key.secretAccessKey },
  };
}

export function listAccessKeys(p: ParamReader, req: SandboxRequest, deps: IamDeps): XmlValue {
  const account = deps.store.account(req.account, deps.ctx.now());
  const owner = ownerOf(account, p, req);
  const { start, end } = page(p, owner.keys.length);
  return {
    AccessKeyMetadata: list(
      'member',
      owner.keys.slice(start, end).map((key) => metadata(owner, key)),
    ),
    ...pageFields(end, owner.keys.length),
  };
}

export function updateAccessKey(p: ParamReader, req: SandboxRequest, deps: IamDeps): XmlValue {
  const account = deps.store.account(req.account, deps.ctx.now());
  const status = p.str('Status');
  if (!STATUSES.includes(status as AccessKeyState['status'])) {
    throw constraint(status, 'status', 'Member must satisfy enum value set: [Active, Inactive]');
  }
  const key = keyOf(ownerOf(account, p, req), p);
  key.status = status as AccessKeyState['status'];
  record(
    deps,
    req,
    'UpdateAccessKey',
    key.accessKeyId,
    sent(p, ['UserName', 'AccessKeyId', 'Status']),
  );
  return null;
}

export function deleteAccessKey(p: ParamReader, req: SandboxRequest, deps: IamDeps): XmlValue {
  const account = deps.store.account(req.account, deps.ctx.now());
  const owner = ownerOf(account, p, req);
  const key = keyOf(owner, p);
  owner.keys.splice(owner.keys.indexOf(key), 1);
  record(deps, req, 'DeleteAccessKey', key.accessKeyId, sent(p, ['UserName', 'AccessKeyId']));
  return null;
}

/** Any key of the account, its owner's name and when it was last used. */
export function getAccessKeyLastUsed(p: ParamReader, req: SandboxRequest, deps: IamDeps): XmlValue {
  const account = deps.store.account(req.account, deps.ctx.now());
  const id = p.required('AccessKeyId');
  const owners: KeyOwner[] = [
    { name: null, keys: account.root.accessKeys },
    ...Object.entries(account.users).map(([name, user]) => ({ name, keys: user.accessKeys })),
  ];
  for (const owner of owners) {
    const key = owner.keys.find((k) => k.accessKeyId === id);
    if (!key) continue;
    const used = key.lastUsed;
    return {
      UserName: owner.name,
      AccessKeyLastUsed: used
        ? { LastUsedDate: used.date, ServiceName: used.serviceName, Region: used.region }
        : { ServiceName: 'N/A', Region: 'N/A' },
    };
  }
  throw noSuchKey(id);
}

/** The parameters the caller actually sent, for the mutation log. */
function sent(p: ParamReader, names: string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const name of names) {
    const value = p.str(name);
    if (value !== undefined) out[name] = value;
  }
  return out;
}

function record(
  deps: IamDeps,
  req: SandboxRequest,
  operation: string,
  accessKeyId: string,
  params: Record<string, unknown>,
) {
  deps.ctx.record({
    service: 'iam',
    operation,
    resource: accessKeyId,
    account: req.account,
    region: 'global',
    params,
  });
}
