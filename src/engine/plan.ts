import type { ActionError, Plan, ResourceRef } from '../domain/action.ts';
import type { Fix, State } from '../catalog/fix.ts';

/**
 * Builds a plan from the live state a fix read. Before the first read (`state` null)
 * the plan carries only what is known without the cloud: reversibility is stated from
 * the worst case so a reviewer is never told more than the fix can promise.
 */
export function planFor(
  fix: Fix,
  resource: ResourceRef,
  state: State | null,
  error: ActionError | null = null,
): Plan {
  if (!state) {
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
      alreadyCompliant: false,
      error,
    };
  }
  const compliant = fix.isCompliant(state);
  return {
    before: state,
    after: compliant ? state : fix.target(state),
    calls: compliant ? [] : fix.calls(resource, state),
    rollbackCalls: compliant ? [] : fix.rollbackCalls(resource, state),
    reversibility: fix.reversibility(state),
    warnings: fix.warnings(state),
    alreadyCompliant: compliant,
    error: null,
  };
}
