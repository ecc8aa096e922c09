import { isDeepStrictEqual } from 'node:util';
import type { Logger } from 'pino';
import type { Action } from '../domain/action.ts';
import { AppError } from '../domain/errors.ts';
import type { Fix, FixContext, FixInput } from '../catalog/fix.ts';
import type { Store } from '../store/store.ts';
import { engineError, toActionError } from './cloud-error.ts';
import { planFor } from './plan.ts';

export interface RunContext {
  store: Store;
  fix: Fix;
  ctx: FixContext;
  input: FixInput;
  owner: string;
  clock: () => Date;
  log: Logger;
  /**
   * Proves this engine still holds the action's lease, by a conditional write, right
   * before a change reaches the cloud; throws a conflict when another engine has taken
   * the action over, so a paused engine never acts on a stale claim.
   */
  fence(): Promise<void>;
}

/**
 * Executes one claimed action: snapshot, compare with the plan, apply, verify.
 * Expected outcomes (already compliant, refused, changed since planned) are recorded
 * results, not exceptions; only a lost lease escapes, and then nothing more is written.
 */
export async function execute(run: RunContext, action: Action): Promise<Action> {
  const { store, fix, ctx, input, owner, clock } = run;
  const { resource } = action;
  const fail = (error: ReturnType<typeof toActionError>, extra: object = {}, data: object = {}) =>
    store.transition(action.id, 'fail', {
      actor: 'system',
      now: clock(),
      leaseOwner: owner,
      patch: { error, ...extra },
      data: { error, ...data },
    });
  const replan = (state: Record<string, unknown>) => ({
    plan: planFor(fix, resource, state, input),
    plannedAt: clock().toISOString(),
  });

  let live;
  try {
    live = await fix.read(ctx, resource);
  } catch (error) {
    return fail(toActionError(error, clock()));
  }
  // A retry after an attempt whose change may have landed (steps recorded, or an answer
  // that never came) keeps the snapshot taken before that attempt: it is the only record
  // of the configuration before the change.
  const resuming =
    action.snapshot &&
    (Object.keys(ctx.progress).length > 0 || action.error?.outcomeUnknown === true);
  if (!resuming) {
    await store.saveSnapshot(action.id, { capturedAt: clock().toISOString(), state: live }, owner);
  }

  if (resuming && fix.isCompliant(live, input)) {
    // The earlier attempt's change is in place: finish without applying it again.
    return store.transition(action.id, 'complete', {
      actor: 'system',
      now: clock(),
      leaseOwner: owner,
      openRollbackWindow: true,
      patch: {
        error: null,
        result: {
          kind: 'applied',
          message: 'an earlier attempt applied the change; verified without applying it again',
          observed: live,
        },
      },
    });
  }

  if (fix.isCompliant(live, input)) {
    return store.transition(action.id, 'complete', {
      actor: 'system',
      now: clock(),
      leaseOwner: owner,
      patch: {
        error: null,
        result: {
          kind: 'already_compliant',
          message: 'the fix was already in place; nothing was changed',
          observed: live,
        },
        completedAt: clock().toISOString(),
      },
    });
  }

  const refusal = fix.refusal?.(live, input);
  if (refusal) return fail(engineError('refused', refusal, clock()), replan(live));

  const planned = action.plan.before;
  if (!resuming && planned && !isDeepStrictEqual(planned, live)) {
    const error = engineError(
      'resource_changed',
      `${resource.name} changed since the plan was made, so the approved change was not ` +
        'applied; the plan now shows the live configuration: review it again',
      clock(),
    );
    if (!(await store.getSettings()).requireApproval) {
      return fail(error, replan(live), { planned, live });
    }
    return store.transition(action.id, 'returnToReview', {
      actor: 'system',
      now: clock(),
      leaseOwner: owner,
      patch: { error, ...replan(live) },
      data: { error, planned, live },
    });
  }

  // The snapshot write above is conditional on the lease, and nothing but pure checks
  // has run since, so it is the fence; a resumed attempt wrote no snapshot and fences here.
  if (resuming) await run.fence();
  try {
    await fix.apply(ctx, resource, resuming ? action.snapshot!.state : live);
  } catch (error) {
    const recorded = toActionError(error, clock(), { duringChange: true });
    // When the cloud refused outright, show the retry what is there now.
    const current = recorded.outcomeUnknown
      ? undefined
      : await fix.read(ctx, resource).catch(() => undefined);
    return fail(recorded, current ? replan(current) : {}, { progress: ctx.progress });
  }

  let after;
  try {
    after = await fix.read(ctx, resource);
  } catch (error) {
    return fail(toActionError(error, clock()));
  }
  if (!fix.isCompliant(after, input)) {
    const error = engineError(
      'verification_failed',
      'the change was accepted but is not in place',
      clock(),
    );
    return fail(
      { ...error, outcomeUnknown: true },
      { result: { kind: 'applied', message: 'verification failed', observed: after } },
    );
  }

  return store.transition(action.id, 'complete', {
    actor: 'system',
    now: clock(),
    leaseOwner: owner,
    openRollbackWindow: true,
    patch: {
      error: null,
      result: { kind: 'applied', message: 'the change was applied and verified', observed: after },
      ...(planned ? {} : replan(live)),
    },
  });
}

/**
 * Rolls a completed action back to its snapshot. A resource someone changed after the
 * fix is left alone unless an admin forced the rollback; either way the audit event
 * shows both states.
 */
export async function rollback(run: RunContext, action: Action): Promise<Action> {
  const { store, fix, ctx, input, owner, clock } = run;
  const { resource } = action;
  const abort = (error: ReturnType<typeof toActionError>, data: object = {}) =>
    store.transition(action.id, 'abortRollback', {
      actor: 'system',
      now: clock(),
      leaseOwner: owner,
      patch: { error },
      data: { error, ...data },
    });

  const snapshot = action.snapshot;
  if (!snapshot) {
    return abort(
      engineError('no_snapshot', 'no snapshot was captured, so nothing to restore', clock()),
    );
  }
  const forced = action.requestData?.force === true;
  try {
    const live = await fix.read(ctx, resource);
    const expected = fix.target(snapshot.state, input);
    const unchanged = fix.isUnchangedSinceFix
      ? fix.isUnchangedSinceFix(live, snapshot.state, input)
      : isDeepStrictEqual(live, expected);
    if (!unchanged && fix.isRestored(live, snapshot.state, input)) {
      // Someone already put the old configuration back: nothing to change.
      return store.transition(action.id, 'finishRollback', {
        actor: 'system',
        now: clock(),
        leaseOwner: owner,
        patch: {
          error: null,
          result: {
            kind: 'rolled_back',
            message:
              'the configuration was already back as it was before the fix; nothing was changed',
            observed: live,
          },
        },
      });
    }
    if (!unchanged && !forced) {
      const error = engineError(
        'resource_changed',
        `${resource.name} changed after the fix was applied; the rollback did not overwrite ` +
          'that change (an admin can force it)',
        clock(),
      );
      return abort(error, { expected, live });
    }
    await run.fence();
    await fix.restore(ctx, resource, snapshot.state);
    const restored = await fix.read(ctx, resource);
    if (!fix.isRestored(restored, snapshot.state, input)) {
      const error = engineError('verification_failed', 'the snapshot was not restored', clock());
      return abort(error, { snapshot: snapshot.state, live: restored });
    }
    return store.transition(action.id, 'finishRollback', {
      actor: 'system',
      now: clock(),
      leaseOwner: owner,
      patch: {
        error: null,
        result: { kind: 'rolled_back', message: 'the snapshot was restored', observed: restored },
      },
      data: unchanged ? undefined : { forced: true, overwritten: live, restored },
    });
  } catch (error) {
    if (error instanceof AppError && error.code === 'conflict') throw error;
    return abort(toActionError(error, clock()));
  }
}
