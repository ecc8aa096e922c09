import type { Action } from '../domain/action.ts';
import { engineError, toActionError } from './cloud-error.ts';
import type { RunContext } from './run-action.ts';

/**
 * Settles an action whose engine stopped mid-way, by reading the resource rather than
 * by running the fix again: the change is either visibly in place or it is not, and in
 * the second case a person decides whether to retry.
 */
export async function settle(run: RunContext, action: Action): Promise<Action> {
  const { store, fix, ctx, input, owner, clock } = run;
  const base = { actor: 'system', leaseOwner: owner } as const;

  if (action.status === 'executing') {
    if (!action.snapshot) {
      const error = engineError(
        'interrupted',
        'the engine stopped before the snapshot was stored, so nothing was changed; ' +
          'retry to run it',
        clock(),
      );
      return store.transition(action.id, 'fail', { ...base, now: clock(), patch: { error } });
    }
    try {
      const live = await fix.read(ctx, action.resource);
      if (fix.isCompliant(live, input)) {
        return store.transition(action.id, 'complete', {
          ...base,
          now: clock(),
          openRollbackWindow: true,
          patch: {
            result: {
              kind: 'recovered',
              message: 'the engine stopped during the change; the live state shows it in place',
              observed: live,
            },
          },
        });
      }
      const error = engineError(
        'interrupted',
        'the engine stopped during the change and the live state shows it is not in place; ' +
          'nothing was re-applied: retry to run it',
        clock(),
      );
      return store.transition(action.id, 'fail', {
        ...base,
        now: clock(),
        patch: { error },
        data: { live },
      });
    } catch (error) {
      const recorded = toActionError(error, clock());
      return store.transition(action.id, 'fail', {
        ...base,
        now: clock(),
        patch: { error: recorded },
      });
    }
  }

  let live;
  try {
    live = action.snapshot ? await fix.read(ctx, action.resource) : undefined;
  } catch (error) {
    const recorded = toActionError(error, clock());
    return store.transition(action.id, 'abortRollback', {
      ...base,
      now: clock(),
      patch: { error: recorded },
    });
  }
  if (live && action.snapshot && fix.isRestored(live, action.snapshot.state, input)) {
    return store.transition(action.id, 'finishRollback', {
      ...base,
      now: clock(),
      patch: {
        error: null,
        result: { kind: 'rolled_back', message: 'the snapshot is in place', observed: live },
      },
    });
  }
  const error = engineError(
    'interrupted',
    'the engine stopped during the rollback and the snapshot is not in place; request the ' +
      'rollback again while the window is open',
    clock(),
  );
  return store.transition(action.id, 'abortRollback', {
    ...base,
    now: clock(),
    patch: { error },
    data: { live },
  });
}
