import type { Plan, RequestedOp } from './action.ts';
import { conflict, invalidInput } from './errors.ts';
import type { Role, Status } from './status.ts';

/**
 * The lifecycle, written down once. Every status change in the product names one of
 * these operations; the store applies it as a conditional update on the `from`
 * statuses, so a transition that is not listed here cannot happen.
 */
export const TRANSITIONS = {
  /** A new action enters review when approval is required. */
  submit: { from: ['suggested'], to: 'pending_approval', by: 'system' },
  /** From suggested too: approval may have been turned on after the action was made. */
  approve: { from: ['pending_approval', 'suggested'], to: 'approved', by: 'admin' },
  /** From failed too: a person may give up on an action rather than retry it. */
  reject: {
    from: ['suggested', 'pending_approval', 'approved', 'failed'],
    to: 'rejected',
    by: 'admin',
    commentRequired: true,
  },
  /** The engine takes an execute request. `suggested` only when approval is off. */
  start: { from: ['approved', 'suggested', 'failed'], to: 'executing', by: 'system' },
  complete: { from: ['executing'], to: 'completed', by: 'system' },
  /**
   * The resource changed since the plan was approved: the approval was for a plan that no
   * longer holds, so the refreshed plan goes back for review instead of running.
   */
  returnToReview: { from: ['executing'], to: 'pending_approval', by: 'system' },
  fail: { from: ['executing'], to: 'failed', by: 'system' },
  startRollback: { from: ['completed'], to: 'rolling_back', by: 'system' },
  finishRollback: { from: ['rolling_back'], to: 'rolled_back', by: 'system' },
  /** A rollback that could not restore the snapshot leaves the fix in place. */
  abortRollback: { from: ['rolling_back'], to: 'completed', by: 'system' },
} as const satisfies Record<string, TransitionRule>;

export interface TransitionRule {
  from: readonly Status[];
  to: Status;
  /** `system` transitions are made by the product itself, never through the API. */
  by: 'system' | Role;
  commentRequired?: boolean;
}

export type Operation = keyof typeof TRANSITIONS;

/**
 * Requests a person makes that the engine carries out. Recording one is itself a
 * conditional write (only one request may be outstanding), so concurrent clicks
 * produce one winner.
 */
export const REQUESTS = {
  execute: { from: ['approved', 'suggested', 'failed'], role: 'admin' },
  rollback: { from: ['completed'], role: 'admin' },
} as const satisfies Record<RequestedOp, { from: readonly Status[]; role: Role }>;

/** Which statuses the engine may claim for a request. */
export const CLAIMS: Record<RequestedOp, Operation> = {
  execute: 'start',
  rollback: 'startRollback',
};

export function transitionRule(op: Operation): TransitionRule {
  return TRANSITIONS[op];
}

/** Statuses from which a person may do something, for showing buttons and docs. */
export function allowedOperations(status: Status): Operation[] {
  return (Object.keys(TRANSITIONS) as Operation[]).filter((op) =>
    (TRANSITIONS[op].from as readonly Status[]).includes(status),
  );
}

/**
 * Checks a transition before it is attempted, so a caller gets a precise message.
 * The store still re-checks atomically; this only explains the refusal.
 */
export function checkTransition(op: Operation, current: Status, comment?: string | null): void {
  const rule = transitionRule(op);
  if (!(rule.from as readonly Status[]).includes(current)) {
    throw conflict(
      `cannot ${op} an action that is ${current}; ${op} is allowed only from ${rule.from.join(', ')}`,
      { status: current, operation: op },
    );
  }
  if (rule.commentRequired && !comment?.trim()) {
    throw invalidInput(`a comment is required to ${op} an action`);
  }
}

export function checkRequest(op: RequestedOp, current: Status, pending: RequestedOp | null): void {
  const rule = REQUESTS[op];
  if (!(rule.from as readonly Status[]).includes(current)) {
    throw conflict(
      `cannot ${op} an action that is ${current}; ${op} is allowed only from ${rule.from.join(', ')}`,
      { status: current, operation: op },
    );
  }
  if (pending) {
    throw conflict(`a ${pending} request for this action is already queued`, {
      requested: pending,
    });
  }
}

/**
 * Refuses to approve an action whose plan could not read the resource's live state: the
 * approver would be agreeing to a change nobody has seen, which the run would then refuse
 * or make blind. The engine reads a plan once, so a new action is how a plan is read again.
 */
export function checkApprovable(actionId: string, plan: Pick<Plan, 'error'>): void {
  const error = plan.error;
  if (!error) return;
  throw conflict(
    `cannot approve action ${actionId}: its plan could not read the live state ` +
      `(${error.code}: ${error.message}), so there is no change to review. To plan it ` +
      'again, fix the cause, reject this action with a comment, and create it again from ' +
      'its finding (POST /api/v1/findings/{id}/remediate, or infraudit findings remediate ' +
      '<finding id>): the new action reads the live state anew',
    { operation: 'approve', planError: error.code },
  );
}
