import type { ActionError, Plan, ResourceRef } from '../domain/action.ts';
import type { Fix, FixInput, State } from '../catalog/fix.ts';

/**
 * Builds a plan from the live state a fix read. Before the first read (`state` null)
 * the plan carries only what is known without the cloud: reversibility is stated from
 * the worst case so a reviewer is never told more than the fix can promise.
 */
export function planFor(
  fix: Fix,
  resource: ResourceRef,
  state: State | null,
  input: FixInput | null,
  error: ActionError | null = null,
): Plan {
  if (!state || !input) {
    return {
      before: null,
      after: {},
      calls: [],
      rollbackCalls: [],
      reversibility: {
        level: 'partial',
        note: 'not yet known: the live configuration has not been read',
      },
      warnings: [],
      refusal: null,
      input,
      alreadyCompliant: false,
      error,
    };
  }
  const compliant = fix.isCompliant(state, input);
  const refusal = compliant ? null : (fix.refusal?.(state, input) ?? null);
  if (refusal) {
    // Nothing will be called, so the plan must not list calls or promise a rollback.
    return {
      before: state,
      after: state,
      calls: [],
      rollbackCalls: [],
      reversibility: { level: 'full', note: 'the fix will not run here, so nothing changes' },
      warnings: fix.warnings(state, input),
      refusal,
      input,
      alreadyCompliant: false,
      error: null,
    };
  }
  return {
    before: state,
    after: compliant ? state : fix.target(state, input),
    calls: compliant ? [] : fix.calls(resource, state, input),
    rollbackCalls: compliant ? [] : fix.rollbackCalls(resource, state, input),
    reversibility: fix.reversibility(state, input),
    warnings: fix.warnings(state, input),
    refusal: null,
    input,
    alreadyCompliant: compliant,
    error: null,
  };
}
