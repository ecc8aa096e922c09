import { describe, expect, it } from 'vitest';
import type { Action } from '../src/domain/action.ts';
import { AppError } from '../src/domain/errors.ts';
import { type Operation, TRANSITIONS } from '../src/domain/lifecycle.ts';
import { STATUSES, type Status } from '../src/domain/status.ts';
import type { Store } from '../src/store/store.ts';
import { newAction } from './helpers/actions.ts';
import { ENGINES, storePerSuite } from './helpers/databases.ts';

const now = () => new Date();
const OWNER = 'engine-a';

describe.each(ENGINES)('store lifecycle on %s', (engine) => {
  let store: Store;
  storePerSuite(engine, (opened) => {
    store = opened;
  });

  const create = async (requireApproval = true) =>
    (await store.createAction(newAction(), { actor: 'token:ops', now: now(), requireApproval }))
      .action;

  /** Drives a new action along the lifecycle to `status`, through the store's own API. */
  async function actionIn(status: Status): Promise<Action> {
    const path: Record<Status, () => Promise<Action>> = {
      suggested: () => create(false),
      pending_approval: () => create(true),
      approved: async () =>
        store.transition((await create()).id, 'approve', { actor: 'token:admin', now: now() }),
      rejected: async () =>
        store.transition((await create()).id, 'reject', {
          actor: 'token:admin',
          now: now(),
          comment: 'not in this quarter',
        }),
      executing: async () => {
        const a = await actionIn('approved');
        await store.request(a.id, 'execute', { actor: 'token:admin', now: now() });
        return claimOne(a.id);
      },
      completed: async () => {
        const a = await actionIn('executing');
        return store.transition(a.id, 'complete', {
          actor: 'system',
          now: now(),
          leaseOwner: OWNER,
        });
      },
      failed: async () => {
        const a = await actionIn('executing');
        return store.transition(a.id, 'fail', { actor: 'system', now: now(), leaseOwner: OWNER });
      },
      rolling_back: async () => {
        const a = await actionIn('completed');
        await store.request(a.id, 'rollback', { actor: 'token:admin', now: now() });
        return claimOne(a.id);
      },
      rolled_back: async () => {
        const a = await actionIn('rolling_back');
        return store.transition(a.id, 'finishRollback', {
          actor: 'system',
          now: now(),
          leaseOwner: OWNER,
        });
      },
    };
    const action = await path[status]();
    expect(action.status).toBe(status);
    return action;
  }

  async function claimOne(id: string): Promise<Action> {
    const claimed = await store.claim(OWNER, { now: now(), leaseMs: 60_000, limit: 100 });
    const mine = claimed.find((a) => a.id === id);
    expect(mine).toBeDefined();
    return mine!;
  }

  it('moves a new action to pending_approval at once, audited by the system', async () => {
    const action = await create(true);
    expect(action.status).toBe('pending_approval');
    const events = await store.events(action.id);
    expect(events.map((e) => [e.actor, e.from, e.to])).toEqual([
      ['token:ops', null, 'suggested'],
      ['system', 'suggested', 'pending_approval'],
    ]);
  });

  it('leaves a new action suggested when approval is off', async () => {
    const action = await create(false);
    expect(action.status).toBe('suggested');
    expect(await store.events(action.id)).toHaveLength(1);
  });

  it('links a second finding for the same problem to the open action', async () => {
    const input = newAction({ bucket: `dup-${engine}` });
    const opts = { actor: 'token:ops', now: now(), requireApproval: true };
    const first = await store.createAction(input, opts);
    const again = await store.createAction(input, opts);
    const other = await store.createAction(
      { ...input, source: { ...input.source, findingId: 'x2' } },
      opts,
    );
    expect(first.created).toBe(true);
    expect(again).toMatchObject({ created: false, action: { id: first.action.id } });
    expect(other).toMatchObject({ created: false, action: { id: first.action.id } });
    const notes = (await store.events(first.action.id)).filter((e) => e.type === 'note');
    expect(notes).toHaveLength(1);
    // The note names the finding as people know it; its id stays in the event's data.
    expect(notes[0]!.comment).toContain(input.source.title);
    expect(notes[0]!.data).toMatchObject({ finding: { findingId: 'x2' } });
  });

  it('creates many actions in one transaction, all or none', async () => {
    const opts = { actor: 'token:ops', now: now(), requireApproval: true };
    const first = newAction({ bucket: `batch-a-${engine}` });
    const results = await store.createActions(
      [first, newAction({ bucket: `batch-b-${engine}` }), first],
      opts,
    );
    expect(results.map((r) => r.created)).toEqual([true, true, false]);
    expect(results[2]!.action.id).toBe(results[0]!.action.id);

    const broken = { ...newAction({ bucket: `batch-c-${engine}` }), severity: undefined as never };
    await expect(
      store.createActions([newAction({ bucket: `batch-d-${engine}` }), broken], opts),
    ).rejects.toThrow();
    const page = await store.listActions({ text: 'batch-d', limit: 10 });
    expect(page.items).toHaveLength(0);
  });

  it('opens a new action once the previous one for the resource is closed', async () => {
    const input = newAction({ bucket: `reopen-${engine}` });
    const opts = { actor: 'token:ops', now: now(), requireApproval: true };
    const first = await store.createAction(input, opts);
    await store.transition(first.action.id, 'reject', { actor: 'a', now: now(), comment: 'no' });
    const second = await store.createAction(input, opts);
    expect(second.created).toBe(true);
    expect(second.action.id).not.toBe(first.action.id);
  });

  const cases = (Object.keys(TRANSITIONS) as Operation[]).flatMap((op) =>
    STATUSES.map((status) => [op, status] as const),
  );

  it.each(cases)(
    '%s from %s is allowed exactly when the lifecycle lists it',
    async (op, status) => {
      const action = await actionIn(status);
      const before = await store.events(action.id);
      const allowed = (TRANSITIONS[op].from as readonly Status[]).includes(status);
      const attempt = store.transition(action.id, op, {
        actor: 'token:admin',
        now: now(),
        comment: 'reason given',
        leaseOwner: ['complete', 'fail', 'finishRollback', 'abortRollback'].includes(op)
          ? OWNER
          : undefined,
      });
      if (allowed) {
        const moved = await attempt;
        expect(moved.status).toBe(TRANSITIONS[op].to);
        const after = await store.events(action.id);
        expect(after).toHaveLength(before.length + 1);
        expect(after.at(-1)).toMatchObject({
          type: 'transition',
          from: status,
          to: TRANSITIONS[op].to,
        });
      } else {
        await expect(attempt).rejects.toMatchObject({ code: 'conflict' });
        const unchanged = await store.getAction(action.id);
        expect(unchanged).toEqual(action);
        expect(await store.events(action.id)).toEqual(before);
      }
    },
  );

  it('requires a comment to reject, and changes nothing without one', async () => {
    const action = await create();
    await expect(
      store.transition(action.id, 'reject', { actor: 'a', now: now(), comment: '  ' }),
    ).rejects.toMatchObject({ code: 'invalid_input' });
    expect(await store.getAction(action.id)).toEqual(action);
  });

  it('refuses a completion by an engine that does not hold the lease', async () => {
    const action = await actionIn('executing');
    await expect(
      store.transition(action.id, 'complete', { actor: 'system', now: now(), leaseOwner: 'other' }),
    ).rejects.toBeInstanceOf(AppError);
    expect((await store.getAction(action.id))!.status).toBe('executing');
  });

  it('gives exactly one winner to fifty concurrent approvals', async () => {
    const action = await create();
    const results = await Promise.allSettled(
      Array.from({ length: 50 }, (_, i) =>
        store.transition(action.id, 'approve', { actor: `token:admin${i}`, now: now() }),
      ),
    );
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    for (const r of results) {
      if (r.status === 'rejected') expect(r.reason).toMatchObject({ code: 'conflict' });
    }
    const approvals = (await store.events(action.id)).filter((e) => e.to === 'approved');
    expect(approvals).toHaveLength(1);
  });

  it('gives exactly one winner to fifty concurrent execute requests and claims', async () => {
    const action = await actionIn('approved');
    const requests = await Promise.allSettled(
      Array.from({ length: 50 }, () =>
        store.request(action.id, 'execute', { actor: 'token:admin', now: now() }),
      ),
    );
    expect(requests.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    const claims = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        store.claim(`engine-${i}`, { now: now(), leaseMs: 60_000, limit: 10 }),
      ),
    );
    const winners = claims.flat().filter((a) => a.id === action.id);
    expect(winners).toHaveLength(1);
    expect(winners[0]).toMatchObject({ status: 'executing', attempt: 1, requestedOp: null });
  });

  it('gives exactly one winner to fifty concurrent rollback requests', async () => {
    const action = await actionIn('completed');
    const results = await Promise.allSettled(
      Array.from({ length: 50 }, (_, i) =>
        store.request(action.id, 'rollback', { actor: `token:${i}`, now: now() }),
      ),
    );
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    const requests = (await store.events(action.id)).filter(
      (e) => e.type === 'request' && e.data?.request === 'rollback',
    );
    expect(requests).toHaveLength(1);
  });

  it('keeps the snapshot only for the engine that holds the lease', async () => {
    const action = await actionIn('executing');
    const snapshot = { capturedAt: now().toISOString(), state: { encryption: null } };
    await expect(store.saveSnapshot(action.id, snapshot, 'intruder')).rejects.toMatchObject({
      code: 'conflict',
    });
    await store.saveSnapshot(action.id, snapshot, OWNER);
    expect((await store.getAction(action.id))!.snapshot).toEqual(snapshot);
  });

  it('finds stranded work once its lease expires, and lets one engine take it over', async () => {
    const action = await actionIn('executing');
    expect((await store.stranded(now())).map((a) => a.id)).not.toContain(action.id);
    const later = new Date(Date.now() + 120_000);
    const stranded = (await store.stranded(later)).find((a) => a.id === action.id)!;
    expect(stranded).toBeDefined();
    const takes = await Promise.all(
      ['b', 'c', 'd'].map((o) => store.takeOver(action.id, stranded.version, o, later, 60_000)),
    );
    expect(takes.filter(Boolean)).toHaveLength(1);
  });

  it('stores settings with defaults and audits each change', async () => {
    expect(await store.getSettings()).toEqual({
      requireApproval: true,
      autoExecute: false,
      rollbackWindowMinutes: 30,
      allowSelfApproval: false,
      maxBulkActions: 50,
      maintenanceWindows: [],
    });
    const after = await store.updateSettings(
      { rollbackWindowMinutes: 45, autoExecute: true },
      { actor: 'token:admin', now: now() },
    );
    expect(after).toMatchObject({ rollbackWindowMinutes: 45, autoExecute: true });
    expect(await store.getSettings()).toEqual(after);
    await store.updateSettings(
      { rollbackWindowMinutes: 30, autoExecute: false },
      { actor: 'a', now: now() },
    );
  });

  it('keeps tokens hashed and resolves only the exact token', async () => {
    const { token, info } = await store.createToken({ role: 'viewer', name: 'ci', now: now() });
    expect(token).toMatch(/^ia_/);
    expect(await store.findToken(token)).toEqual(info);
    expect(await store.findToken(`${token}x`)).toBeUndefined();
    expect(await store.countTokens()).toBeGreaterThan(0);
  });
});
