import { isDeepStrictEqual } from 'node:util';
import type { Logger } from 'pino';
import type { Action } from '../domain/action.ts';
import { rollbackDeadline } from '../domain/settings.ts';
import type { Fix, FixContext } from '../catalog/fix.ts';
import type { Store } from '../store/store.ts';
import { engineError, toActionError } from './cloud-error.ts';
import { planFor } from './plan.ts';

export interface RunContext {
  store: Store;
  fix: Fix;
  ctx: FixContext;
  owner: string;
  clock: () => Date;
  log: Logger;
}

/**
 * Executes one claimed action: snapshot, compare with the plan, apply, verify.
 * Expected outcomes (already compliant, changed since planned) are recorded results,
 * not exceptions; only a lost lease escapes, and then nothing more is written.
 */
export async function execute(run: RunContext, action: Action): Promise<Action> {
  const { store, fix, ctx, owner, clock } = run;
  const { resource } = action;
  const fail = (error: ReturnType<typeof toActionError>, extra: object = {}) =>
    store.transition(action.id, 'fail', {
      actor: 'system',
      now: clock(),
      leaseOwner: owner,
      patch: { error, ...extra },
      data: { error },
    });

  let live;
  try {
    live = await fix.read(ctx, resource);
  } catch (error) {
    return fail(toActionError(error, clock()));
  }
  await store.saveSnapshot(action.id, { capturedAt: clock().toISOString(), state: live }, owner);

  if (fix.isCompliant(live)) {
    return store.transition(action.id, 'complete', {
      actor: 'system',
      now: clock(),
      leaseOwner: owner,
      patch: {
        result: {
          kind: 'already_compliant',
          message: 'the fix was already in place; nothing was changed',
          observed: live,
        },
        completedAt: clock().toISOString(),
      },
    });
  }

  const planned = action.plan.before;
  if (planned && !isDeepStrictEqual(planned, live)) {
    const error = engineError(
      'resource_changed',
      `${resource.name} changed since the plan was made, so the approved change was not ` +
        'applied; the plan now shows the live configuration: review it and retry',
      clock(),
    );
    return fail(error, { plan: planFor(fix, resource, live), plannedAt: clock().toISOString() });
  }

  try {
    await fix.apply(ctx, resource, live);
  } catch (error) {
    return fail(toActionError(error, clock()));
  }

  let after;
  try {
    after = await fix.read(ctx, resource);
  } catch (error) {
    return fail(toActionError(error, clock()));
  }
  if (!fix.isCompliant(after)) {
    return fail(
      engineError('verification_failed', 'the change was accepted but is not in place', clock()),
      { result: { kind: 'applied', message: 'verification failed', observed: after } },
    );
  }

  const settings = await store.getSettings();
  const done = clock();
  return store.transition(action.id, 'complete', {
    actor: 'system',
    now: done,
    leaseOwner: owner,
    patch: {
      result: { kind: 'applied', message: 'the change was applied and verified', observed: after },
      completedAt: done.toISOString(),
      rollbackDeadline: rollbackDeadline(done, settings.rollbackWindowMinutes).toISOString(),
      ...(planned ? {} : { plan: planFor(fix, resource, live), plannedAt: done.toISOString() }),
    },
  });
}

/**
 * Rolls a completed action back to its snapshot. A resource someone changed after the
 * fix is left alone: the rollback stops and the audit event shows both states.
 */
export async function rollback(run: RunContext, action: Action): Promise<Action> {
  const { store, fix, ctx, owner, clock } = run;
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
    return abort(engineError('no_snapshot', 'no snapshot was captured, so nothing to restore', clock()));
  }
  try {
    const live = await fix.read(ctx, resource);
    const expected = fix.target(snapshot.state);
    if (!isDeepStrictEqual(live, expected)) {
      const error = engineError(
        'resource_changed',
        `${resource.name} changed after the fix was applied; the rollback did not overwrite ` +
          'that change',
        clock(),
      );
      return abort(error, { expected, live });
    }
    await fix.restore(ctx, resource, snapshot.state);
    const restored = await fix.read(ctx, resource);
    if (!fix.isRestored(restored, snapshot.state)) {
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
    });
  } catch (error) {
    return abort(toActionError(error, clock()));
  }
}
