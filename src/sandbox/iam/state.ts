import { SandboxInputError } from '../api-error.ts';
import type { StateDocument } from '../types.ts';
import { newSecretAccessKey } from './ids.ts';

/** When and where a key was last used, as GetAccessKeyLastUsed reports it. */
export interface LastUsed {
  date: string;
  serviceName: string;
  region: string;
}

export interface AccessKeyState {
  accessKeyId: string;
  /** Kept so a test can compare what reached the person with what the cloud issued. */
  secretAccessKey: string;
  status: 'Active' | 'Inactive';
  createDate: string;
  /** Null when the key was never used (IAM then reports `N/A`). */
  lastUsed: LastUsed | null;
}

export interface UserState {
  userId: string;
  path: string;
  createDate: string;
  accessKeys: AccessKeyState[];
  /** ListUserTags; none when absent. */
  tags?: Record<string, string>;
  /** ListAttachedUserPolicies; none when absent. */
  attachedPolicies?: { policyName: string; policyArn: string }[];
  /** ListUserPolicies: inline policy names; none when absent. */
  inlinePolicies?: string[];
}

/** One account's IAM, as saved under `accounts[id].iam`. */
export interface IamAccountState {
  /** Keyed by user name as created; names are unique regardless of case. */
  users: Record<string, UserState>;
  /** The account root: its keys are not reachable through IAM's user APIs. */
  root: { createDate: string; accessKeys: AccessKeyState[] };
}

export const STATUSES = ['Active', 'Inactive'] as const;
export const USER_NAME = /^[\w+=,.@-]{1,64}$/;
const PATH = /^\/([\x21-\x7e]*\/)?$/;

export function emptyAccount(now: Date): IamAccountState {
  return { users: {}, root: { createDate: now.toISOString(), accessKeys: [] } };
}

/** Every account's IAM; access key ids are unique across all of them, as in AWS. */
export class IamStore {
  #accounts = new Map<string, IamAccountState>();

  account(id: string, now: Date): IamAccountState {
    let account = this.#accounts.get(id);
    if (!account) {
      account = emptyAccount(now);
      this.#accounts.set(id, account);
    }
    return account;
  }

  /** Whether any account holds a key with this id: new ids must be unique everywhere. */
  keyExists(accessKeyId: string): boolean {
    for (const account of this.#accounts.values()) {
      if (account.root.accessKeys.some((k) => k.accessKeyId === accessKeyId)) return true;
      for (const user of Object.values(account.users)) {
        if (user.accessKeys.some((k) => k.accessKeyId === accessKeyId)) return true;
      }
    }
    return false;
  }

  load(doc: StateDocument, now: Date): void {
    const next = new Map<string, IamAccountState>();
    const seenKeys = new Map<string, string>();
    for (const [id, account] of Object.entries(doc.accounts)) {
      if (account.iam === undefined) continue;
      const parsed = parseAccount(account.iam, `accounts.${id}.iam`, now);
      for (const [where, key] of allKeys(parsed, `accounts.${id}.iam`)) {
        const other = seenKeys.get(key.accessKeyId);
        if (other) {
          throw new SandboxInputError(
            `${where}: access key id ${key.accessKeyId} is also used at ${other}; ` +
              'access key ids are unique across accounts, keep one',
          );
        }
        seenKeys.set(key.accessKeyId, where);
      }
      next.set(id, parsed);
    }
    this.#accounts = next;
  }

  save(doc: StateDocument): void {
    for (const [id, account] of this.#accounts) {
      const target = (doc.accounts[id] ??= { regions: {} });
      target.iam = structuredClone(account);
    }
  }
}

function* allKeys(account: IamAccountState, where: string): Generator<[string, AccessKeyState]> {
  for (const [i, key] of account.root.accessKeys.entries()) {
    yield [`${where}.root.accessKeys[${i}]`, key];
  }
  for (const [name, user] of Object.entries(account.users)) {
    for (const [i, key] of user.accessKeys.entries()) {
      yield [`${where}.users.${name}.accessKeys[${i}]`, key];
    }
  }
}

function parseAccount(raw: unknown, where: string, now: Date): IamAccountState {
  if (!isObject(raw)) throw fail(where, 'must be an object with "users" and "root"');
  const users: Record<string, UserState> = {};
  const usersRaw = raw.users ?? {};
  if (!isObject(usersRaw)) throw fail(`${where}.users`, 'must be an object keyed by user name');
  const lowered = new Set<string>();
  for (const [name, user] of Object.entries(usersRaw)) {
    const at = `${where}.users.${name}`;
    if (!USER_NAME.test(name)) throw fail(at, `"${name}" is not a valid IAM user name`);
    if (lowered.has(name.toLowerCase())) {
      throw fail(at, `a user named "${name}" in another case is already listed; names ignore case`);
    }
    lowered.add(name.toLowerCase());
    users[name] = parseUser(user, at, now);
  }
  const rootRaw = raw.root ?? {};
  if (!isObject(rootRaw)) throw fail(`${where}.root`, 'must be an object with "accessKeys"');
  return {
    users,
    root: {
      createDate: time(rootRaw.createDate, `${where}.root.createDate`, now),
      accessKeys: parseKeys(rootRaw.accessKeys, `${where}.root.accessKeys`, now),
    },
  };
}

function parseUser(raw: unknown, where: string, now: Date): UserState {
  if (!isObject(raw)) throw fail(where, 'must be an object');
  const { userId, path = '/' } = raw;
  if (typeof userId !== 'string' || !/^AIDA[A-Z0-9]{12,}$/.test(userId)) {
    throw fail(`${where}.userId`, `must be an IAM user id such as AIDA..., got ${show(userId)}`);
  }
  if (typeof path !== 'string' || !PATH.test(path)) {
    throw fail(`${where}.path`, `must be "/" or "/a/path/", got ${show(path)}`);
  }
  return {
    userId,
    path,
    createDate: time(raw.createDate, `${where}.createDate`, now),
    accessKeys: parseKeys(raw.accessKeys, `${where}.accessKeys`, now),
    ...parseDetails(raw, where),
  };
}

/** The optional user details the state file may state; each checked for its shape. */
function parseDetails(raw: Record<string, unknown>, where: string): Partial<UserState> {
  const out: Partial<UserState> = {};
  const { tags, attachedPolicies, inlinePolicies } = raw;
  if (tags !== undefined) {
    if (!isObject(tags) || Object.values(tags).some((v) => typeof v !== 'string')) {
      throw fail(`${where}.tags`, 'must be an object of string values');
    }
    out.tags = { ...(tags as Record<string, string>) };
  }
  if (attachedPolicies !== undefined) {
    const ok =
      Array.isArray(attachedPolicies) &&
      attachedPolicies.every(
        (p) => isObject(p) && typeof p.policyName === 'string' && typeof p.policyArn === 'string',
      );
    if (!ok) throw fail(`${where}.attachedPolicies`, 'must be a list of { policyName, policyArn }');
    out.attachedPolicies = structuredClone(attachedPolicies) as UserState['attachedPolicies'];
  }
  if (inlinePolicies !== undefined) {
    if (!Array.isArray(inlinePolicies) || inlinePolicies.some((n) => typeof n !== 'string')) {
      throw fail(`${where}.inlinePolicies`, 'must be a list of policy names');
    }
    out.inlinePolicies = [...(inlinePolicies as string[])];
  }
  return out;
}

function parseKeys(raw: unknown, where: string, now: Date): AccessKeyState[] {
  if (raw === undefined) return [];
  if (!Array.isArray(raw)) throw fail(where, 'must be a list of access keys');
  if (raw.length > 2) throw fail(where, `holds ${raw.length} keys; IAM allows at most 2`);
  return raw.map((key: unknown, i) => parseKey(key, `${where}[${i}]`, now));
}

function parseKey(raw: unknown, where: string, now: Date): AccessKeyState {
  if (!isObject(raw)) throw fail(where, 'must be an object');
  const { accessKeyId, secretAccessKey, status = 'Active' } = raw;
  if (typeof accessKeyId !== 'string' || !/^AKIA[A-Z0-9]{12,}$/.test(accessKeyId)) {
    throw fail(
      `${where}.accessKeyId`,
      `must be a key id such as AKIA..., got ${show(accessKeyId)}`,
    );
  }
  if (status !== 'Active' && status !== 'Inactive') {
    throw fail(`${where}.status`, `must be "Active" or "Inactive", got ${show(status)}`);
  }
  if (secretAccessKey !== undefined && typeof secretAccessKey !== 'string') {
    throw fail(`${where}.secretAccessKey`, `must be a string, got ${show(secretAccessKey)}`);
  }
  return {
    accessKeyId,
    secretAccessKey: secretAccessKey ?? newSecretAccessKey(),
    status,
    createDate: time(raw.createDate, `${where}.createDate`, now),
    lastUsed: parseLastUsed(raw.lastUsed ?? null, `${where}.lastUsed`),
  };
}

function parseLastUsed(raw: unknown, where: string): LastUsed | null {
  if (raw === null) return null;
  if (!isObject(raw)) {
    throw fail(where, 'must be null (never used) or { "date", "serviceName", "region" }');
  }
  const { serviceName, region } = raw;
  if (typeof serviceName !== 'string' || typeof region !== 'string') {
    throw fail(where, 'needs "serviceName" and "region" strings, e.g. "s3" and "us-east-1"');
  }
  return { date: time(raw.date, `${where}.date`, null), serviceName, region };
}

function time(raw: unknown, where: string, fallback: Date | null): string {
  if (raw === undefined && fallback) return fallback.toISOString();
  if (typeof raw !== 'string' || Number.isNaN(Date.parse(raw))) {
    throw fail(where, `must be an ISO 8601 time, got ${show(raw)}`);
  }
  return new Date(raw).toISOString();
}

const fail = (where: string, what: string) => new SandboxInputError(`${where} ${what}`);
const show = (value: unknown) => JSON.stringify(value) ?? 'nothing';

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
