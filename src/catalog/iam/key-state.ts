import { AppError, invalidInput } from '../../domain/errors.ts';
import type { FixContext, State } from '../fix.ts';
import type { Principal } from './principal.ts';
import { iamSdk } from '../sdk.ts';

const DAY_MS = 24 * 60 * 60 * 1000;

/** One access key as the IAM fixes see it. */
export interface KeyInfo {
  accessKeyId: string;
  status: 'Active' | 'Inactive';
  createDate: string;
}

/** A key with what IAM knows of its last use. */
export interface UsedKeyInfo extends KeyInfo {
  /** The last use, when it is older than the fix's threshold; null otherwise. */
  lastUsedDate: string | null;
  /**
   * Used within the threshold. The exact time is left out then: it moves with every
   * request, and an approved plan must not go stale because a key is in use.
   */
  recentlyUsed: boolean;
}

/** Whole days from `iso` to now. */
export function daysSince(iso: string, now = new Date()): number {
  return Math.floor((now.getTime() - Date.parse(iso)) / DAY_MS);
}

/** Every key of a user, oldest first, through ListAccessKeys (all pages). */
export async function listKeys(ctx: FixContext, userName: string): Promise<KeyInfo[]> {
  const { ListAccessKeysCommand } = await iamSdk();
  const keys: KeyInfo[] = [];
  let marker: string | undefined;
  do {
    const out = await ctx.clients
      .iam()
      .send(
        new ListAccessKeysCommand({ UserName: userName, ...(marker ? { Marker: marker } : {}) }),
      );
    for (const key of out.AccessKeyMetadata ?? []) {
      if (!key.AccessKeyId) continue;
      keys.push({
        accessKeyId: key.AccessKeyId,
        status: key.Status === 'Active' ? 'Active' : 'Inactive',
        createDate: (key.CreateDate ?? new Date(0)).toISOString(),
      });
    }
    marker = out.IsTruncated ? out.Marker : undefined;
  } while (marker);
  return keys.sort((a, b) => a.createDate.localeCompare(b.createDate));
}

/** The keys with their last use, the exact time kept only for keys idle over `days`. */
export async function listUsedKeys(
  ctx: FixContext,
  userName: string,
  days: number,
): Promise<UsedKeyInfo[]> {
  const keys = await listKeys(ctx, userName);
  const out: UsedKeyInfo[] = [];
  for (const key of keys) {
    const used = await ctx.clients
      .iam()
      .send(new (await iamSdk()).GetAccessKeyLastUsedCommand({ AccessKeyId: key.accessKeyId }));
    const last = used.AccessKeyLastUsed?.LastUsedDate?.toISOString() ?? null;
    const recentlyUsed = last !== null && daysSince(last) <= days;
    out.push({ ...key, lastUsedDate: recentlyUsed ? null : last, recentlyUsed });
  }
  return out;
}

/** The key named, or a not-found error that says what was looked for. */
export function requireKey<K extends KeyInfo>(keys: K[], id: string, userName: string): K {
  const key = keys.find((k) => k.accessKeyId === id);
  if (!key) {
    throw new AppError(
      'not_found',
      `IAM user ${userName} has no access key ${id} (it has ` +
        `${keys.map((k) => k.accessKeyId).join(', ') || 'none'}); it was probably deleted ` +
        'after the scan: re-run the scan',
    );
  }
  return key;
}

/** A whole positive number of days from the parameters, or the default. */
export function daysParam(params: Record<string, unknown>, name: string, fallback: number): number {
  const value = params[name] ?? fallback;
  if (!Number.isInteger(value) || (value as number) < 1 || (value as number) > 3650) {
    throw invalidInput(
      `parameter "${name}" must be a whole number of days from 1 to 3650, got ` +
        `${JSON.stringify(value)}; fix the finding mapping or the suggested action`,
    );
  }
  return value as number;
}

/** The common fields of the IAM fixes' states, checked when read back from storage. */
export interface PrincipalState {
  principal: 'user' | 'root';
  userName: string | null;
  namedKeyId: string | null;
}

export function principalState(principal: Principal, namedKeyId: string | null): PrincipalState {
  return principal.kind === 'root'
    ? { principal: 'root', userName: null, namedKeyId }
    : { principal: 'user', userName: principal.userName, namedKeyId };
}

export function parsePrincipal(state: State, fix: string): PrincipalState {
  const { principal, userName, namedKeyId } = state;
  if (principal !== 'user' && principal !== 'root')
    throw bad(fix, 'principal', principal, '"user" or "root"');
  if (principal === 'user' && (typeof userName !== 'string' || userName === '')) {
    throw bad(fix, 'userName', userName, 'a user name');
  }
  if (namedKeyId !== null && typeof namedKeyId !== 'string') {
    throw bad(fix, 'namedKeyId', namedKeyId, 'null or an access key id');
  }
  return { principal, userName: principal === 'user' ? (userName as string) : null, namedKeyId };
}

export function parseKeyList(raw: unknown, fix: string): KeyInfo[] {
  if (!Array.isArray(raw)) throw bad(fix, 'keys', raw, 'a list of access keys');
  return raw.map((key: unknown, i) => {
    const k = (key ?? {}) as Record<string, unknown>;
    if (typeof k.accessKeyId !== 'string')
      throw bad(fix, `keys[${i}].accessKeyId`, k.accessKeyId, 'a key id');
    if (k.status !== 'Active' && k.status !== 'Inactive') {
      throw bad(fix, `keys[${i}].status`, k.status, '"Active" or "Inactive"');
    }
    if (typeof k.createDate !== 'string')
      throw bad(fix, `keys[${i}].createDate`, k.createDate, 'a time');
    return { accessKeyId: k.accessKeyId, status: k.status, createDate: k.createDate };
  });
}

export function bad(fix: string, field: string, value: unknown, expected: string) {
  return invalidInput(
    `${fix}: state field "${field}" must be ${expected}, got ${JSON.stringify(value)}; ` +
      'the state was not produced by this fix, so it cannot be used',
  );
}

export const ROOT_REFUSAL =
  "the finding is about the account root user's access keys, and root user keys cannot be " +
  'rotated, deactivated or deleted through IAM by anyone but the root user itself: sign in ' +
  'as the root user, open Security credentials, create what you need and then deactivate and ' +
  'delete the root access key (AWS recommends the root user has none)';
