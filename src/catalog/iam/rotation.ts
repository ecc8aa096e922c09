import { AppError } from '../../domain/errors.ts';
import type { FixContext, FixInput } from '../fix.ts';
import { createAccessKey, deleteKeyIfPresent, runIamCall, setStatus } from './calls.ts';
import { type KeyInfo, listKeys, ROOT_REFUSAL } from './key-state.ts';
import type { RotateState } from './rotate-access-key.ts';

/**
 * What a rotation has done so far, kept as the action's progress:
 * `knownKeyIds`/`creatingSince` right before CreateAccessKey, `newKeyId` right after it,
 * `delivered` once the secret is sealed for the requester.
 */
export interface RotationProgress {
  oldKeyId: string;
  knownKeyIds?: string[];
  creatingSince?: string;
  newKeyId?: string;
  delivered?: boolean;
}

type Pick = (s: RotateState, input: FixInput) => KeyInfo | null;

/**
 * A key created by a call whose answer was lost is told apart from a person's key by its
 * creation time; this allows for the clock of IAM and this host to disagree.
 */
const CLOCK_SKEW_MS = 5 * 60 * 1000;

/**
 * Create, deactivate, deliver; each step recorded before the next. The secret is sealed
 * last, so a key whose secret did not reach the current requester is never kept: a retry
 * deletes it and creates a fresh one. IAM's limit of two keys per user, with the refusal
 * for users already at two, means there is never a second new key alongside the first.
 */
export async function applyRotation(ctx: FixContext, s: RotateState, pick: Pick): Promise<void> {
  if (s.userName === null) throw new AppError('unsupported', ROOT_REFUSAL);
  const user = s.userName;
  const prior = progressOf(ctx.progress);
  const oldKeyId =
    prior.oldKeyId ?? pick(s, { params: ctx.params, options: ctx.options })?.accessKeyId;
  if (!oldKeyId) {
    throw new AppError(
      'conflict',
      `IAM user ${user} has no active access key to rotate; the live state changed since the ` +
        'plan was made: review the plan and retry',
    );
  }

  let progress: RotationProgress = prior.delivered
    ? { ...prior, oldKeyId }
    : await discardUndelivered(ctx, user, { ...prior, oldKeyId });

  let secret: string | undefined;
  if (!progress.newKeyId) {
    const knownKeyIds = (await listKeys(ctx, user)).map((k) => k.accessKeyId);
    await ctx.checkpoint({ oldKeyId, knownKeyIds, creatingSince: new Date().toISOString() });
    const created = await createAccessKey(ctx, user);
    progress = { oldKeyId, newKeyId: created.accessKeyId, delivered: false };
    await ctx.checkpoint({ ...progress });
    ctx.log.info({ user, newKeyId: created.accessKeyId }, 'created the replacement access key');
    secret = created.secret;
  }

  await runIamCall(ctx, setStatus(user, oldKeyId, 'Inactive'));

  if (secret !== undefined) {
    await ctx.deliverSecret(`SecretAccessKey for ${user}/${progress.newKeyId}`, secret);
    await ctx.checkpoint({ ...progress, delivered: true });
  }
}

/**
 * Removes what an earlier attempt created but could not hand over: the recorded new key,
 * and any key that appeared after a CreateAccessKey whose answer never arrived.
 */
async function discardUndelivered(
  ctx: FixContext,
  user: string,
  progress: RotationProgress,
): Promise<RotationProgress> {
  const { oldKeyId, newKeyId, knownKeyIds, creatingSince } = progress;
  if (!newKeyId && !creatingSince) return progress;
  if (newKeyId) {
    await deleteKeyIfPresent(ctx, user, newKeyId);
    ctx.log.warn({ user, newKeyId }, 'deleted a new key whose secret was never delivered');
  }
  if (creatingSince && knownKeyIds) {
    for (const key of lostKeys(await listKeys(ctx, user), progress)) {
      await deleteKeyIfPresent(ctx, user, key.accessKeyId);
      ctx.log.warn(
        { user, newKeyId: key.accessKeyId },
        'deleted a key from a lost CreateAccessKey answer',
      );
    }
  }
  await ctx.checkpoint({ oldKeyId });
  return { oldKeyId };
}

/** Reactivates the old key first, so the user is never without one, then drops the new. */
export async function restoreRotation(ctx: FixContext, s: RotateState, pick: Pick): Promise<void> {
  if (s.userName === null) throw new AppError('unsupported', ROOT_REFUSAL);
  const progress = progressOf(ctx.progress);
  const oldKeyId =
    progress.oldKeyId ?? pick(s, { params: ctx.params, options: ctx.options })?.accessKeyId;
  if (oldKeyId) await runIamCall(ctx, setStatus(s.userName, oldKeyId, 'Active'));
  if (progress.newKeyId) await deleteKeyIfPresent(ctx, s.userName, progress.newKeyId);
}

/**
 * The key an earlier attempt of this action created: the recorded one, or one that
 * appeared after a CreateAccessKey whose answer was lost. Null when there is none.
 */
export function createdKeyOf(keys: KeyInfo[], raw: Record<string, unknown>): string | null {
  const progress = progressOf(raw);
  return progress.newKeyId ?? lostKeys(keys, progress)[0]?.accessKeyId ?? null;
}

/** Keys that are not among those known before the create and were made after it began. */
function lostKeys(keys: KeyInfo[], progress: Partial<RotationProgress>): KeyInfo[] {
  const { knownKeyIds, creatingSince } = progress;
  if (!knownKeyIds || !creatingSince) return [];
  const since = Date.parse(creatingSince) - CLOCK_SKEW_MS;
  return keys.filter(
    (k) => !knownKeyIds.includes(k.accessKeyId) && Date.parse(k.createDate) >= since,
  );
}

function progressOf(raw: Record<string, unknown>): Partial<RotationProgress> {
  const str = (v: unknown) => (typeof v === 'string' && v !== '' ? v : undefined);
  const known = Array.isArray(raw.knownKeyIds)
    ? raw.knownKeyIds.filter((v): v is string => typeof v === 'string')
    : undefined;
  const out: Partial<RotationProgress> = {};
  const oldKeyId = str(raw.oldKeyId);
  const newKeyId = str(raw.newKeyId);
  const creatingSince = str(raw.creatingSince);
  if (oldKeyId) out.oldKeyId = oldKeyId;
  if (newKeyId) out.newKeyId = newKeyId;
  if (creatingSince) out.creatingSince = creatingSince;
  if (known) out.knownKeyIds = known;
  if (raw.delivered === true) out.delivered = true;
  return out;
}
