import type { PlannedCall, ResourceRef } from '../../domain/action.ts';
import type { Fix, FixContext, FixInput, State } from '../fix.ts';
import { deleteKeyIfPresent, runIamCall, setStatus } from './calls.ts';
import {
  bad,
  daysParam,
  daysSince,
  listKeys,
  listUsedKeys,
  parseKeyList,
  parsePrincipal,
  type PrincipalState,
  principalState,
  requireKey,
  ROOT_REFUSAL,
  type UsedKeyInfo,
} from './key-state.ts';
import { namedKeyId, resolvePrincipal } from './principal.ts';

const TYPE = 'iam.deactivate-unused-access-key';

/** A user's keys with their last use. */
export interface UnusedKeyState extends PrincipalState, State {
  keys: UsedKeyInfo[];
}

export const deactivateUnusedAccessKey: Fix = {
  type: TYPE,
  resourceType: 'AwsIamAccessKey',
  alsoAccepts: ['AwsIamUser'],
  service: 'iam',
  risk: 'medium',
  summary:
    'Deactivates access keys unused for longer than the limit, and deletes them once the ' +
    'rollback window has closed.',
  permissions: [
    'iam:ListUsers',
    'iam:ListAccessKeys',
    'iam:GetAccessKeyLastUsed',
    'iam:UpdateAccessKey',
    'iam:DeleteAccessKey',
  ],

  title: (resource) => `Deactivate unused access keys of ${resource.name}`,

  async read(ctx: FixContext, resource: ResourceRef): Promise<UnusedKeyState> {
    const principal = await resolvePrincipal(ctx, resource);
    const named = namedKeyId(resource, ctx.params);
    const base = principalState(principal, named);
    if (principal.kind === 'root') return { ...base, keys: [] };
    const keys = await listUsedKeys(ctx, principal.userName, unusedDays(ctx));
    if (named) requireKey(keys, named, principal.userName);
    return { ...base, keys };
  },

  isCompliant: (state, input) => {
    const s = parse(state);
    return s.principal === 'user' && unusedKeys(s, input).length === 0;
  },

  refusal: (state) => (parse(state).principal === 'root' ? ROOT_REFUSAL : null),

  target(state, input) {
    const s = parse(state);
    const ids = unusedKeys(s, input).map((k) => k.accessKeyId);
    return {
      ...s,
      keys: s.keys.map((k) => (ids.includes(k.accessKeyId) ? { ...k, status: 'Inactive' } : k)),
    };
  },

  calls: (_resource, state, input) => statusCalls(parse(state), input, 'Inactive'),

  rollbackCalls: (_resource, snapshot, input) => statusCalls(parse(snapshot), input, 'Active'),

  reversibility: () => ({
    level: 'full',
    note:
      'within the rollback window the keys are reactivated with their unchanged secrets; once ' +
      'the window closes they are deleted, and a deleted key cannot be restored',
  }),

  warnings(state, input) {
    const s = parse(state);
    const keys = unusedKeys(s, input);
    if (keys.length === 0) return [];
    const described = keys.map(describe).join('; ');
    const out: string[] = [];
    if (!s.namedKeyId) {
      out.push(
        `The finding names user ${s.userName} but not a key: this deactivates every active key ` +
          `of the user unused for over ${unusedDays(input)} days: ${described}.`,
      );
    } else {
      out.push(`This deactivates ${described}.`);
    }
    out.push(
      'Anything that still signs with these keys fails at once; a rollback within the window ' +
        'reactivates them.',
      'When the rollback window closes, the keys that are still inactive are deleted (an ' +
        'audited final step); a key someone reactivated by then is left alone.',
    );
    return out;
  },

  async apply(ctx, _resource, state) {
    for (const call of statusCalls(parse(state), ctx, 'Inactive')) await runIamCall(ctx, call);
  },

  async restore(ctx, _resource, snapshot) {
    for (const call of statusCalls(parse(snapshot), ctx, 'Active')) await runIamCall(ctx, call);
  },

  isRestored(live, snapshot, input) {
    const now = parse(live);
    return unusedKeys(parse(snapshot), input).every(
      (k) => now.keys.find((n) => n.accessKeyId === k.accessKeyId)?.status === 'Active',
    );
  },

  // Only the keys this fix deactivated matter; the user's other keys may be in use.
  isUnchangedSinceFix(live, snapshot, input) {
    const now = parse(live);
    return unusedKeys(parse(snapshot), input).every(
      (k) => now.keys.find((n) => n.accessKeyId === k.accessKeyId)?.status === 'Inactive',
    );
  },

  async finalize(ctx, _resource, snapshot) {
    const s = parse(snapshot);
    const targets = unusedKeys(s, ctx);
    if (s.userName === null || targets.length === 0)
      return 'no key was deactivated; nothing to delete';
    const live = await listKeys(ctx, s.userName);
    const done: string[] = [];
    for (const key of targets) {
      const now = live.find((k) => k.accessKeyId === key.accessKeyId);
      if (!now) {
        done.push(`${key.accessKeyId} was already deleted`);
      } else if (now.status === 'Active') {
        done.push(`${key.accessKeyId} was reactivated since, so it was left in place`);
      } else {
        const deleted = await deleteKeyIfPresent(ctx, s.userName, key.accessKeyId);
        done.push(`${key.accessKeyId} ${deleted ? 'was deleted' : 'was already deleted'}`);
      }
    }
    return `the rollback window closed; access keys of IAM user ${s.userName}: ${done.join('; ')}`;
  },
};

function unusedDays(input: FixInput): number {
  return daysParam(input.params, 'unusedDays', 90);
}

/**
 * Active keys whose last use (or, never used, whose creation) is older than the limit:
 * the one the finding names, or else all of the user's.
 */
export function unusedKeys(s: UnusedKeyState, input: FixInput): UsedKeyInfo[] {
  const limit = unusedDays(input);
  return s.keys.filter(
    (k) =>
      (s.namedKeyId === null || k.accessKeyId === s.namedKeyId) &&
      k.status === 'Active' &&
      !k.recentlyUsed &&
      daysSince(k.lastUsedDate ?? k.createDate) > limit,
  );
}

function statusCalls(
  s: UnusedKeyState,
  input: FixInput,
  status: 'Active' | 'Inactive',
): PlannedCall[] {
  if (s.userName === null) return [];
  const user = s.userName;
  return unusedKeys(s, input).map((k) => setStatus(user, k.accessKeyId, status));
}

function describe(k: UsedKeyInfo): string {
  return k.lastUsedDate
    ? `${k.accessKeyId} (last used ${k.lastUsedDate.slice(0, 10)}, ` +
        `${daysSince(k.lastUsedDate)} days ago)`
    : `${k.accessKeyId} (never used, created ${k.createDate.slice(0, 10)})`;
}

function parse(state: State): UnusedKeyState {
  const principal = parsePrincipal(state, TYPE);
  const base = parseKeyList(state.keys, TYPE);
  const raw = state.keys as Record<string, unknown>[];
  const keys = base.map((k, i) => {
    const { lastUsedDate, recentlyUsed } = raw[i] ?? {};
    if (lastUsedDate !== null && typeof lastUsedDate !== 'string') {
      throw bad(TYPE, `keys[${i}].lastUsedDate`, lastUsedDate, 'null or a time');
    }
    return { ...k, lastUsedDate, recentlyUsed: recentlyUsed === true };
  });
  return { ...principal, keys };
}
