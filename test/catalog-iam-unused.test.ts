import { UpdateAccessKeyCommand } from '@aws-sdk/client-iam';
import { describe, expect, it } from 'vitest';
import { deactivateUnusedAccessKey } from '../src/catalog/iam/deactivate-unused-access-key.ts';
import { DEFAULT_FIX_OPTIONS } from '../src/domain/fix-options.ts';
import { planFor } from '../src/engine/plan.ts';
import {
  iamDocument,
  type IamWorld,
  iamWorldPerSuite,
  keyContext,
  putState,
  rootRef,
  userRef,
} from './helpers/iam.ts';

const fix = deactivateUnusedAccessKey;
const NEVER = 'AKIANEVERUSED0000001';
const STALE = 'AKIASTALEKEY00000002';
const BUSY = 'AKIABUSYKEY000000003';
const input = (params: Record<string, unknown> = { unusedDays: 45 }) => ({
  params,
  options: DEFAULT_FIX_OPTIONS,
});

let world: IamWorld;
iamWorldPerSuite((started) => {
  world = started;
});

async function twoIdleKeysAndABusyOne() {
  await putState(
    world.sandbox,
    iamDocument({
      'legacy-ci': {
        keys: [
          { id: NEVER, created: 120 },
          { id: STALE, created: 500, used: 180 },
        ],
      },
      'j.rivera': { keys: [{ id: BUSY, created: 300, used: 0 }] },
    }),
  );
}

describe('iam.deactivate-unused-access-key', () => {
  it('deactivates every idle key of the user, rolls back, and states what it picked', async () => {
    await twoIdleKeysAndABusyOne();
    const { ctx } = keyContext(world, { unusedDays: 45 });
    const ref = userRef('legacy-ci');
    const before = await fix.read(ctx, ref);
    expect(before.keys).toEqual([
      {
        accessKeyId: STALE,
        status: 'Active',
        createDate: expect.any(String),
        lastUsedDate: expect.any(String),
        recentlyUsed: false,
      },
      {
        accessKeyId: NEVER,
        status: 'Active',
        createDate: expect.any(String),
        lastUsedDate: null,
        recentlyUsed: false,
      },
    ]);

    const plan = planFor(fix, ref, before, input());
    expect(plan.refusal).toBeNull();
    expect(plan.calls).toEqual([
      {
        service: 'iam',
        operation: 'UpdateAccessKey',
        parameters: { UserName: 'legacy-ci', AccessKeyId: STALE, Status: 'Inactive' },
      },
      {
        service: 'iam',
        operation: 'UpdateAccessKey',
        parameters: { UserName: 'legacy-ci', AccessKeyId: NEVER, Status: 'Inactive' },
      },
    ]);
    expect(plan.rollbackCalls.map((c) => c.parameters.Status)).toEqual(['Active', 'Active']);
    expect(plan.reversibility).toMatchObject({ level: 'full' });
    expect(plan.reversibility.note).toMatch(/once the window closes they are deleted/);
    expect(plan.warnings[0]).toMatch(/names user legacy-ci but not a key/);
    expect(plan.warnings[0]).toMatch(/AKIASTALEKEY00000002 \(last used .*, 180 days ago\)/);
    expect(plan.warnings[0]).toMatch(/AKIANEVERUSED0000001 \(never used, created/);

    const seq = world.lastSeq();
    await fix.apply(ctx, ref, before);
    expect(world.appliedSince(seq)).toEqual(plan.calls);
    const after = await fix.read(ctx, ref);
    expect(fix.isCompliant(after, input())).toBe(true);
    expect(await world.keys('legacy-ci')).toEqual([
      { id: NEVER, status: 'Inactive' },
      { id: STALE, status: 'Inactive' },
    ]);
    expect(fix.isUnchangedSinceFix!(after, before, input())).toBe(true);

    const rollbackSeq = world.lastSeq();
    await fix.restore(ctx, ref, before);
    expect(world.appliedSince(rollbackSeq)).toEqual(plan.rollbackCalls);
    const restored = await fix.read(ctx, ref);
    expect(fix.isRestored(restored, before, input())).toBe(true);
    expect(restored).toEqual(before);
  });

  it('leaves a key in use alone, and a named key only', async () => {
    await twoIdleKeysAndABusyOne();
    const busy = await fix.read(keyContext(world).ctx, userRef('j.rivera'));
    expect((busy.keys as unknown[])[0]).toMatchObject({
      accessKeyId: BUSY,
      recentlyUsed: true,
      lastUsedDate: null,
    });
    expect(fix.isCompliant(busy, input())).toBe(true);

    const { ctx } = keyContext(world, { unusedDays: 45, accessKeyId: NEVER });
    const named = await fix.read(ctx, { ...userRef('legacy-ci'), type: 'AwsIamAccessKey' });
    const plan = planFor(
      fix,
      userRef('legacy-ci'),
      named,
      input({ unusedDays: 45, accessKeyId: NEVER }),
    );
    expect(plan.calls.map((c) => c.parameters.AccessKeyId)).toEqual([NEVER]);
    expect(plan.warnings[0]).toMatch(/^This deactivates AKIANEVERUSED0000001/);
  });

  it('uses the threshold of the check that found it', async () => {
    await twoIdleKeysAndABusyOne();
    const { ctx } = keyContext(world, { unusedDays: 150 });
    const state = await fix.read(ctx, userRef('legacy-ci'));
    expect(
      planFor(fix, userRef('legacy-ci'), state, input({ unusedDays: 150 })).calls.map(
        (c) => c.parameters.AccessKeyId,
      ),
    ).toEqual([STALE]);
    expect(() => planFor(fix, userRef('legacy-ci'), state, input({ unusedDays: 0 }))).toThrow(
      /parameter "unusedDays" must be a whole number of days from 1 to 3650, got 0/,
    );
  });

  it('refuses the root user', async () => {
    await putState(world.sandbox, iamDocument({}, [{ id: NEVER, created: 700 }]));
    const state = await fix.read(keyContext(world).ctx, rootRef());
    expect(planFor(fix, rootRef(), state, input()).refusal).toMatch(
      /root user keys cannot be rotated, deactivated or deleted through IAM/,
    );
  });

  it('refuses a rollback when a deactivated key was reactivated by someone else', async () => {
    await twoIdleKeysAndABusyOne();
    const { ctx } = keyContext(world, { unusedDays: 45 });
    const before = await fix.read(ctx, userRef('legacy-ci'));
    await fix.apply(ctx, userRef('legacy-ci'), before);
    await world.iam.send(
      new UpdateAccessKeyCommand({ UserName: 'legacy-ci', AccessKeyId: STALE, Status: 'Active' }),
    );
    const live = await fix.read(ctx, userRef('legacy-ci'));
    expect(fix.isUnchangedSinceFix!(live, before, input())).toBe(false);
  });

  it('rides out throttling', async () => {
    await twoIdleKeysAndABusyOne();
    const { ctx } = keyContext(world, { unusedDays: 45 });
    const before = await fix.read(ctx, userRef('legacy-ci'));
    world.sandbox.injectFault({
      service: 'iam',
      operation: 'UpdateAccessKey',
      kind: 'throttle',
      count: 2,
    });
    await fix.apply(ctx, userRef('legacy-ci'), before);
    expect(fix.isCompliant(await fix.read(ctx, userRef('legacy-ci')), input())).toBe(true);
  });

  it('deletes the still-inactive keys once the window closed, and says what it did', async () => {
    await twoIdleKeysAndABusyOne();
    const { ctx } = keyContext(world, { unusedDays: 45 });
    const before = await fix.read(ctx, userRef('legacy-ci'));
    await fix.apply(ctx, userRef('legacy-ci'), before);
    await world.iam.send(
      new UpdateAccessKeyCommand({ UserName: 'legacy-ci', AccessKeyId: NEVER, Status: 'Active' }),
    );

    const seq = world.lastSeq();
    const message = await fix.finalize!(ctx, userRef('legacy-ci'), before);
    expect(message).toBe(
      'the rollback window closed; access keys of IAM user legacy-ci: AKIASTALEKEY00000002 ' +
        'was deleted; AKIANEVERUSED0000001 was reactivated since, so it was left in place',
    );
    expect(world.appliedSince(seq)).toEqual([
      {
        service: 'iam',
        operation: 'DeleteAccessKey',
        parameters: { UserName: 'legacy-ci', AccessKeyId: STALE },
      },
    ]);
    expect(await world.keys('legacy-ci')).toEqual([{ id: NEVER, status: 'Active' }]);
    expect(await fix.finalize!(ctx, userRef('legacy-ci'), before)).toMatch(
      /AKIASTALEKEY00000002 was already deleted/,
    );
  });
});
