import { describe, expect, it } from 'vitest';
import type { Action } from '../src/domain/action.ts';
import { DEFAULT_FIX_OPTIONS } from '../src/domain/fix-options.ts';
import { formatAction } from '../src/cli/output.ts';
import { newAction } from './helpers/actions.ts';

describe('remediation show', () => {
  it('states a refusal and what the finding asked for, before anyone approves', () => {
    const input = newAction({ bucket: 'shown-bucket' });
    const action = {
      ...input,
      id: 'a-1',
      status: 'pending_approval',
      snapshot: null,
      result: null,
      error: null,
      requestedOp: null,
      requestedBy: null,
      requestData: null,
      params: { ports: [22] },
      progress: {},
      sealedSecret: null,
      finalizedAt: null,
      attempt: 0,
      createdBy: 'token:ops',
      createdAt: '2026-01-01T00:00:00.000Z',
      updatedAt: '2026-01-01T00:00:00.000Z',
      approvedBy: null,
      approvedAt: null,
      completedAt: null,
      rollbackDeadline: null,
      plannedAt: '2026-01-01T00:00:01.000Z',
      version: 2,
      plan: {
        ...input.plan,
        before: { instance: 'db-1', status: 'stopped' },
        refusal: 'db-1 is stopped; start it before changing it',
        input: { params: { ports: [22] }, options: DEFAULT_FIX_OPTIONS },
      },
    } as Action;
    const text = formatAction(action, []);
    expect(text).toContain('WILL NOT RUN: db-1 is stopped; start it before changing it');
    expect(text).toMatch(/asked for: \{\s*"ports": \[\s*22\s*\]\s*\}/);
  });
});
