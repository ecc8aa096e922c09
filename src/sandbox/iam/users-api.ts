import type { ParamReader } from '../query/form.ts';
import { list, type XmlValue } from '../query/xml.ts';
import type { SandboxRequest, ServiceContext } from '../types.ts';
import { constraint, deleteConflict, noSuchUser, userExists } from './errors.ts';
import { newUserId } from './ids.ts';
import { type IamAccountState, type IamStore, USER_NAME, type UserState } from './state.ts';

export interface IamDeps {
  store: IamStore;
  ctx: ServiceContext;
}

/** Who signed the request: an IAM user holding the key, or else the account root. */
export type Caller = { kind: 'root' } | { kind: 'user'; name: string };

export function callerOf(account: IamAccountState, req: SandboxRequest): Caller {
  const keyId = req.signer?.accessKeyId;
  if (keyId) {
    for (const [name, user] of Object.entries(account.users)) {
      if (user.accessKeys.some((k) => k.accessKeyId === keyId)) return { kind: 'user', name };
    }
  }
  // The product's static credentials and any other key IAM does not list act as the root,
  // as the account's own credentials would.
  return { kind: 'root' };
}

/** The stored name of a user, found regardless of case as IAM does; throws NoSuchEntity. */
export function findUser(account: IamAccountState, name: string): [string, UserState] {
  checkUserName(name);
  const wanted = name.toLowerCase();
  for (const [stored, user] of Object.entries(account.users)) {
    if (stored.toLowerCase() === wanted) return [stored, user];
  }
  throw noSuchUser(name);
}

export function checkUserName(name: string, field = 'userName'): void {
  if (!USER_NAME.test(name)) {
    throw constraint(name, field, 'Member must satisfy regular expression pattern: [\\w+=,.@-]+');
  }
}

export const userArn = (account: string, name: string, user: UserState) =>
  `arn:aws:iam::${account}:user${user.path}${name}`;

export function userXml(account: string, name: string, user: UserState): XmlValue {
  return {
    Path: user.path,
    UserName: name,
    UserId: user.userId,
    Arn: userArn(account, name, user),
    CreateDate: user.createDate,
  };
}

/** MaxItems as IAM bounds it, and the position a Marker from an earlier page points at. */
export function page(p: ParamReader, total: number): { start: number; end: number } {
  const max = p.int('MaxItems') ?? 100;
  if (max < 1 || max > 1000) {
    throw constraint(max, 'maxItems', 'Member must have value between 1 and 1000');
  }
  const marker = p.str('Marker');
  let start = 0;
  if (marker !== undefined) {
    start = Number(Buffer.from(marker, 'base64url').toString('utf8'));
    if (!Number.isInteger(start) || start < 0 || start > total) {
      throw constraint(marker, 'marker', 'Member must be a marker returned by an earlier call');
    }
  }
  return { start, end: Math.min(total, start + max) };
}

export function pageFields(end: number, total: number) {
  return end < total
    ? { IsTruncated: true, Marker: Buffer.from(String(end)).toString('base64url') }
    : { IsTruncated: false };
}

export function createUser(p: ParamReader, req: SandboxRequest, deps: IamDeps): XmlValue {
  const name = p.required('UserName');
  checkUserName(name);
  const path = p.str('Path') ?? '/';
  if (!/^\/([\x21-\x7e]*\/)?$/.test(path) || path.length > 512) {
    throw constraint(
      path,
      'path',
      'Member must satisfy regular expression pattern: ' +
        '(\\u002F)|(\\u002F[\\u0021-\\u007E]+\\u002F)',
    );
  }
  const account = deps.store.account(req.account, deps.ctx.now());
  if (Object.keys(account.users).some((n) => n.toLowerCase() === name.toLowerCase())) {
    throw userExists(name);
  }
  const user: UserState = {
    userId: newUserId(),
    path,
    createDate: deps.ctx.now().toISOString(),
    accessKeys: [],
  };
  account.users[name] = user;
  deps.ctx.record({
    service: 'iam',
    operation: 'CreateUser',
    resource: name,
    account: req.account,
    region: 'global',
    params: { UserName: name, ...(p.str('Path') !== undefined ? { Path: path } : {}) },
  });
  return { User: userXml(req.account, name, user) };
}

export function getUser(p: ParamReader, req: SandboxRequest, deps: IamDeps): XmlValue {
  const account = deps.store.account(req.account, deps.ctx.now());
  const asked = p.str('UserName');
  const caller = callerOf(account, req);
  if (asked === undefined && caller.kind === 'root') {
    return {
      User: {
        UserId: req.account,
        Arn: `arn:aws:iam::${req.account}:root`,
        CreateDate: account.root.createDate,
      },
    };
  }
  const [name, user] = findUser(account, asked ?? (caller as { name: string }).name);
  return { User: userXml(req.account, name, user) };
}

export function listUsers(p: ParamReader, req: SandboxRequest, deps: IamDeps): XmlValue {
  const account = deps.store.account(req.account, deps.ctx.now());
  const prefix = p.str('PathPrefix') ?? '/';
  const users = Object.entries(account.users)
    .filter(([, user]) => user.path.startsWith(prefix))
    .sort(([a], [b]) => a.toLowerCase().localeCompare(b.toLowerCase()));
  const { start, end } = page(p, users.length);
  return {
    Users: list(
      'member',
      users.slice(start, end).map(([name, user]) => userXml(req.account, name, user)),
    ),
    ...pageFields(end, users.length),
  };
}

export function deleteUser(p: ParamReader, req: SandboxRequest, deps: IamDeps): XmlValue {
  const account = deps.store.account(req.account, deps.ctx.now());
  const [name, user] = findUser(account, p.required('UserName'));
  if (user.accessKeys.length > 0) throw deleteConflict();
  delete account.users[name];
  deps.ctx.record({
    service: 'iam',
    operation: 'DeleteUser',
    resource: name,
    account: req.account,
    region: 'global',
    params: { UserName: p.required('UserName') },
  });
  return null;
}
