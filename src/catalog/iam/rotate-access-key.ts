import { isDeepStrictEqual } from 'node:util';
import type { PlannedCall, ResourceRef, Reversibility } from '../../domain/action.ts';
import type { Fix, FixContext, FixInput, State } from '../fix.ts';
import { createKey, deleteKey, setStatus } from './calls.ts';
import {
  bad,
  daysParam,
  daysSince,
  type KeyInfo,
  listKeys,
  parseKeyList,
  parsePrincipal,
  type PrincipalState,
  principalState,
  requireKey,
  ROOT_REFUSAL,
} from './key-state.ts';
import { namedKeyId, resolvePrincipal } from './principal.ts';
import { applyRotation, createdKeyOf, restoreRotation } from './rotation.ts';

const TYPE = 'iam.rotate-access-key';

/** Stands in the plan for the key the fix creates, whose id IAM picks at execution. */
export const NEW_KEY = '<new key created when the fix runs>';

/** A user's keys, and what earlier attempts of this action left (from its progress). */
export interface RotateState extends PrincipalState, State {
  keys: KeyInfo[];
  /** The key an earlier attempt created, so a retry adopts or replaces it. */
  createdKeyId: string | null;
  /** Whether that key's secret reached the requester. */
  createdKeyDelivered: boolean;
}

export const rotateAccessKey: Fix = {
  type: TYPE,
  resourceType: 'AwsIamAccessKey',
  alsoAccepts: ['AwsIamUser'],
  service: 'iam',
  risk: 'high',
  summary:
    'Creates a new access key for the IAM user, deactivates the old one and hands the new ' +
    'secret once to the person who executes.',
  permissions: [
    'iam:ListUsers',
    'iam:ListAccessKeys',
    'iam:GetAccessKeyLastUsed',
    'iam:CreateAccessKey',
    'iam:UpdateAccessKey',
    'iam:DeleteAccessKey',
  ],
  yieldsSecret: true,

  title: (resource) => `Rotate the access key of ${resource.name}`,

  async read(ctx: FixContext, resource: ResourceRef): Promise<RotateState> {
    const principal = await resolvePrincipal(ctx, resource);
    const named = namedKeyId(resource, ctx.params);
    const base = {
      ...principalState(principal, named),
      createdKeyId: null,
      createdKeyDelivered: ctx.progress.delivered === true,
    };
    // IAM's user APIs cannot reach the root user's keys, so there is nothing to read.
    if (principal.kind === 'root') return { ...base, keys: [] };
    const keys = await listKeys(ctx, principal.userName);
    if (named) requireKey(keys, named, principal.userName);
    return { ...base, keys, createdKeyId: createdKeyOf(keys, ctx.progress) };
  },

  isCompliant(state, input) {
    const s = parse(state);
    return s.principal === 'user' && keyToRotate(s, input) === null && !awaitingSecret(s);
  },

  refusal(state, input) {
    const s = parse(state);
    if (s.principal === 'root') return ROOT_REFUSAL;
    const key = keyToRotate(s, input);
    if (!key) return null;
    return atKeyLimit(s, key);
  },

  target(state, input) {
    const s = parse(state);
    const key = keyToRotate(s, input);
    if (!key || atKeyLimit(s, key)) return s;
    const keys = s.keys.map((k) =>
      k.accessKeyId === key.accessKeyId ? { ...k, status: 'Inactive' } : k,
    );
    if (!s.keys.some((k) => k.accessKeyId === s.createdKeyId)) {
      keys.push({
        accessKeyId: s.createdKeyId ?? NEW_KEY,
        status: 'Active',
        createDate: 'at execution',
      });
    }
    return { ...s, keys, createdKeyDelivered: true };
  },

  calls(_resource, state, input): PlannedCall[] {
    const s = parse(state);
    const key = keyToRotate(s, input);
    if (!key || s.userName === null || atKeyLimit(s, key)) return [];
    return [createKey(s.userName), setStatus(s.userName, key.accessKeyId, 'Inactive')];
  },

  rollbackCalls(_resource, snapshot, input): PlannedCall[] {
    const s = parse(snapshot);
    const key = keyToRotate(s, input);
    if (!key || s.userName === null || atKeyLimit(s, key)) return [];
    return [setStatus(s.userName, key.accessKeyId, 'Active'), deleteKey(s.userName, NEW_KEY)];
  },

  reversibility(state, input): Reversibility {
    const key = keyToRotate(parse(state), input);
    return {
      level: 'partial',
      note:
        `the new key's secret is handed out once when the fix runs and cannot be taken back; a ` +
        `rollback reactivates ${key?.accessKeyId ?? 'the old key'} with its unchanged secret and ` +
        'deletes the new key, so the handed-out secret stops working',
    };
  },

  warnings(state, input) {
    const s = parse(state);
    const key = keyToRotate(s, input);
    if (!key) return [];
    const age = daysSince(key.createDate);
    const out: string[] = [];
    if (!s.namedKeyId) {
      out.push(
        `The finding names user ${s.userName} but not a key: this rotates ${key.accessKeyId}, ` +
          `the user's oldest active key over ${maxAge(input)} days (created ` +
          `${key.createDate.slice(0, 10)}, ${age} days old).`,
      );
    }
    out.push(
      `${key.accessKeyId} stops working as soon as the fix runs: everything that signs with ` +
        'it fails until it is given the new key.',
      'The new secret is shown once, to the admin who executes (sealed to the key their CLI ' +
        'sends); InfraAudit does not keep it. Execute with `infraudit remediation execute ' +
        '--wait` to receive it.',
    );
    return out;
  },

  apply: (ctx, _resource, state) => applyRotation(ctx, parse(state), keyToRotate),

  restore: (ctx, _resource, snapshot) => restoreRotation(ctx, parse(snapshot), keyToRotate),

  isRestored: (live, snapshot) => isDeepStrictEqual(sorted(parse(live)), sorted(parse(snapshot))),

  isUnchangedSinceFix(live, snapshot, input) {
    const now = parse(live);
    const then = parse(snapshot);
    const key = keyToRotate(then, input);
    if (!key) return isDeepStrictEqual(sorted(now), sorted(then));
    const extra = now.keys.filter((k) => !then.keys.some((t) => t.accessKeyId === k.accessKeyId));
    const createdOk =
      extra.length === 1 &&
      extra[0]?.status === 'Active' &&
      (now.createdKeyId === null || extra[0].accessKeyId === now.createdKeyId);
    const oldOk = then.keys.every((t) => {
      const k = now.keys.find((n) => n.accessKeyId === t.accessKeyId);
      const expected = t.accessKeyId === key.accessKeyId ? 'Inactive' : t.status;
      return k?.status === expected;
    });
    return createdOk && oldOk;
  },
};

function maxAge(input: FixInput): number {
  return daysParam(input.params, 'maxAgeDays', 90);
}

/**
 * The key to rotate: the one the finding names while it is active, or else the user's
 * oldest active key older than the limit. Never the key this action created.
 */
export function keyToRotate(s: RotateState, input: FixInput): KeyInfo | null {
  if (s.namedKeyId) {
    const named = s.keys.find((k) => k.accessKeyId === s.namedKeyId);
    return named?.status === 'Active' ? named : null;
  }
  const limit = maxAge(input);
  const old = s.keys.filter(
    (k) =>
      k.status === 'Active' && k.accessKeyId !== s.createdKeyId && daysSince(k.createDate) > limit,
  );
  return old.sort((a, b) => a.createDate.localeCompare(b.createDate))[0] ?? null;
}

/** A key this action created whose secret never reached anyone: it must be replaced. */
function awaitingSecret(s: RotateState): boolean {
  return (
    s.createdKeyId !== null &&
    !s.createdKeyDelivered &&
    s.keys.some((k) => k.accessKeyId === s.createdKeyId)
  );
}

/** IAM allows two keys per user; a third cannot be created for the rotation. */
function atKeyLimit(s: RotateState, key: KeyInfo): string | null {
  const others = s.keys.filter((k) => k.accessKeyId !== s.createdKeyId);
  if (others.length < 2) return null;
  const other = others.find((k) => k.accessKeyId !== key.accessKeyId) as KeyInfo;
  const user = s.userName ?? '';
  if (other.status === 'Inactive') {
    return (
      `IAM user ${user} already has two access keys (${key.accessKeyId} active and ` +
      `${other.accessKeyId} inactive), the most IAM allows, so the new key cannot be created: ` +
      `delete the inactive key ${other.accessKeyId} once you are sure nothing needs it ` +
      `(aws iam delete-access-key --user-name ${user} --access-key-id ${other.accessKeyId}), ` +
      'then retry this action'
    );
  }
  return (
    `IAM user ${user} has two active access keys (${key.accessKeyId} and ${other.accessKeyId}), ` +
    'the most IAM allows, so the new key cannot be created: find out which one is still in ' +
    'use, deactivate and delete the other, then retry this action'
  );
}

function sorted(s: RotateState): KeyInfo[] {
  return [...s.keys].sort((a, b) => a.accessKeyId.localeCompare(b.accessKeyId));
}

function parse(state: State): RotateState {
  const principal = parsePrincipal(state, TYPE);
  const keys = parseKeyList(state.keys, TYPE);
  const created = state.createdKeyId ?? null;
  if (created !== null && typeof created !== 'string') {
    throw bad(TYPE, 'createdKeyId', created, 'null or a key id');
  }
  return {
    ...principal,
    keys,
    createdKeyId: created,
    createdKeyDelivered: state.createdKeyDelivered === true,
  };
}
