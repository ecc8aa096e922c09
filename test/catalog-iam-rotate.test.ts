import { describe, expect, it } from 'vitest';
import { rotateAccessKey as fix, NEW_KEY } from '../src/catalog/iam/rotate-access-key.ts';
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

const OLD = 'AKIAOLDKEY0000000001';
const OTHER = 'AKIAOTHERKEY00000002';
const input = (params: Record<string, unknown> = { maxAgeDays: 90 }) => ({
  params,
  options: DEFAULT_FIX_OPTIONS,
});

let world: IamWorld;
iamWorldPerSuite((started) => {
  world = started;
});

async function oneOldKey(extra: Record<string, { keys: { id: string; created: number }[] }> = {}) {
  await putState(
    world.sandbox,
    iamDocument({
      'deploy-bot': { path: '/service/', keys: [{ id: OLD, created: 400, used: 1 }] },
      ...extra,
    }),
  );
}

const bot = () => userRef('deploy-bot', 'AwsIamUser', '/service/');

describe('iam.rotate-access-key', () => {
  it('rotates, hands the secret over once, and rolls back to the original keys', async () => {
    await oneOldKey();
    const { ctx, delivered } = keyContext(world, { maxAgeDays: 90 });
    const before = await fix.read(ctx, bot());
    expect(before).toMatchObject({ principal: 'user', userName: 'deploy-bot', namedKeyId: null });
    expect(before.keys).toEqual([
      { accessKeyId: OLD, status: 'Active', createDate: expect.any(String) },
    ]);

    const plan = planFor(fix, bot(), before, input());
    expect(plan.refusal).toBeNull();
    expect(plan.alreadyCompliant).toBe(false);
    expect(plan.calls).toEqual([
      { service: 'iam', operation: 'CreateAccessKey', parameters: { UserName: 'deploy-bot' } },
      {
        service: 'iam',
        operation: 'UpdateAccessKey',
        parameters: { UserName: 'deploy-bot', AccessKeyId: OLD, Status: 'Inactive' },
      },
    ]);
    expect(plan.rollbackCalls[1]?.parameters.AccessKeyId).toBe(NEW_KEY);
    expect(plan.reversibility.level).toBe('partial');
    expect(plan.reversibility.note).toMatch(/secret is handed out once/);
    expect(plan.warnings[0]).toMatch(
      /names user deploy-bot but not a key: this rotates AKIAOLDKEY/,
    );
    expect(plan.warnings[0]).toMatch(/400 days old/);

    const seq = world.lastSeq();
    await fix.apply(ctx, bot(), before);
    const applied = world.appliedSince(seq);
    expect(applied.map((c) => c.operation)).toEqual(['CreateAccessKey', 'UpdateAccessKey']);
    expect(applied).toEqual(plan.calls);

    const keys = await world.keys('deploy-bot');
    expect(keys).toHaveLength(2);
    const created = keys.find((k) => k.id !== OLD)!;
    expect(keys).toContainEqual({ id: OLD, status: 'Inactive' });
    expect(created.status).toBe('Active');
    expect(delivered).toEqual([
      { name: `SecretAccessKey for deploy-bot/${created.id}`, value: world.secretOf(created.id) },
    ]);
    expect(ctx.progress).toEqual({ oldKeyId: OLD, newKeyId: created.id, delivered: true });

    const after = await fix.read(ctx, bot());
    expect(fix.isCompliant(after, input())).toBe(true);
    expect(fix.isUnchangedSinceFix!(after, before, input())).toBe(true);

    const rollbackSeq = world.lastSeq();
    await fix.restore(ctx, bot(), before);
    expect(world.appliedSince(rollbackSeq)).toEqual([
      { ...plan.rollbackCalls[0] },
      { ...plan.rollbackCalls[1], parameters: { UserName: 'deploy-bot', AccessKeyId: created.id } },
    ]);
    const restored = await fix.read(ctx, bot());
    expect(fix.isRestored(restored, before, input())).toBe(true);
    expect(restored.keys).toEqual(before.keys);
  });

  it('refuses a rollback over a key someone changed after the fix', async () => {
    await oneOldKey();
    const { ctx } = keyContext(world);
    const before = await fix.read(ctx, bot());
    await fix.apply(ctx, bot(), before);
    const created = (ctx.progress as { newKeyId: string }).newKeyId;
    const { UpdateAccessKeyCommand } = await import('@aws-sdk/client-iam');
    await world.iam.send(
      new UpdateAccessKeyCommand({
        UserName: 'deploy-bot',
        AccessKeyId: created,
        Status: 'Inactive',
      }),
    );
    const live = await fix.read(ctx, bot());
    expect(fix.isUnchangedSinceFix!(live, before, input())).toBe(false);
  });

  it('acts on the key a finding names, and resolves a user named by its user id', async () => {
    await putState(
      world.sandbox,
      iamDocument({
        'test-admin2': {
          id: 'AIDACKCEVSQ6C2EXAMPLE',
          keys: [
            { id: OLD, created: 10, used: 0 },
            { id: OTHER, created: 200, status: 'Inactive' },
          ],
        },
      }),
    );
    const { ctx } = keyContext(world, { accessKeyId: OLD });
    const ref = { ...userRef('AIDACKCEVSQ6C2EXAMPLE'), type: 'AwsIamAccessKey' };
    const state = await fix.read(ctx, ref);
    expect(state).toMatchObject({ userName: 'test-admin2', namedKeyId: OLD });
    const plan = planFor(fix, ref, state, input({ accessKeyId: OLD }));
    expect(plan.alreadyCompliant).toBe(false);
    expect(plan.refusal).toMatch(
      /two access keys \(AKIAOLDKEY0000000001 active and AKIAOTHERKEY00000002 inactive\)/,
    );
    expect(plan.refusal).toMatch(/delete the inactive key AKIAOTHERKEY00000002/);
    expect(plan.calls).toEqual([]);
    expect(plan.warnings.join(' ')).not.toMatch(/names user .* but not a key/);
  });

  it('refuses a user with two active keys and names both', async () => {
    await putState(
      world.sandbox,
      iamDocument({
        pipeline: {
          keys: [
            { id: OLD, created: 200, used: 1 },
            { id: OTHER, created: 20, used: 0 },
          ],
        },
      }),
    );
    const { ctx } = keyContext(world);
    const plan = planFor(
      fix,
      userRef('pipeline'),
      await fix.read(ctx, userRef('pipeline')),
      input(),
    );
    expect(plan.refusal).toMatch(
      /pipeline has two active access keys \(AKIAOLDKEY0000000001 and AKIAOTHERKEY00000002\)/,
    );
  });

  it("refuses the account root's keys without calling IAM", async () => {
    await putState(world.sandbox, iamDocument({}, [{ id: OLD, created: 700, used: 300 }]));
    const { ctx } = keyContext(world);
    const seq = world.lastSeq();
    const state = await fix.read(ctx, rootRef('AwsIamAccessKey'));
    expect(state).toEqual({
      principal: 'root',
      userName: null,
      namedKeyId: null,
      keys: [],
      createdKeyId: null,
      createdKeyDelivered: false,
    });
    const plan = planFor(fix, rootRef(), state, input());
    expect(plan.refusal).toMatch(/^the finding is about the account root user's access keys/);
    expect(plan.refusal).toMatch(/sign in as the root user/);
    expect(plan.calls).toEqual([]);
    expect(world.appliedSince(seq)).toEqual([]);
  });

  it('is already compliant when no active key is over the limit', async () => {
    await putState(
      world.sandbox,
      iamDocument({ fresh: { keys: [{ id: OLD, created: 30, used: 0 }] } }),
    );
    const { ctx } = keyContext(world);
    const state = await fix.read(ctx, userRef('fresh'));
    expect(fix.isCompliant(state, input())).toBe(true);
    expect(fix.isCompliant(state, input({ maxAgeDays: 20 }))).toBe(false);
  });

  it('fails with a clear message for a user or key that no longer exists', async () => {
    await putState(world.sandbox, iamDocument({ someone: { keys: [] } }));
    const { ctx } = keyContext(world, { accessKeyId: OLD });
    await expect(fix.read(ctx, userRef('ghost'))).rejects.toMatchObject({
      name: 'NoSuchEntityException',
      Code: 'NoSuchEntity',
    });
    await expect(fix.read(ctx, userRef('someone'))).rejects.toThrow(
      /IAM user someone has no access key AKIAOLDKEY0000000001 \(it has none\)/,
    );
    await expect(fix.read(keyContext(world).ctx, userRef('AIDANOSUCHUSER0000000'))).rejects.toThrow(
      /names IAM user id AIDANOSUCHUSER0000000 .* no user in the account has that id/,
    );
  });

  it('rides out throttling through the SDK retries', async () => {
    await oneOldKey();
    const { ctx } = keyContext(world);
    const before = await fix.read(ctx, bot());
    world.sandbox.injectFault({
      service: 'iam',
      operation: 'UpdateAccessKey',
      kind: 'throttle',
      count: 2,
    });
    world.sandbox.injectFault({
      service: 'iam',
      operation: 'CreateAccessKey',
      kind: 'throttle',
      count: 1,
    });
    const seq = world.lastSeq();
    await fix.apply(ctx, bot(), before);
    expect(world.appliedSince(seq).map((c) => c.operation)).toEqual([
      'CreateAccessKey',
      'UpdateAccessKey',
    ]);
    expect(fix.isCompliant(await fix.read(ctx, bot()), input())).toBe(true);
  });
});

describe('iam.rotate-access-key after a failure mid-way', () => {
  it('a 5xx after the key was made: the retry makes a fresh key, never a second', async () => {
    await oneOldKey();
    const { ctx, delivered } = keyContext(world);
    const before = await fix.read(ctx, bot());
    world.sandbox.injectFault({
      service: 'iam',
      operation: 'UpdateAccessKey',
      kind: 'error',
      count: 4,
    });
    await expect(fix.apply(ctx, bot(), before)).rejects.toMatchObject({ $fault: 'server' });
    const first = (ctx.progress as { newKeyId: string }).newKeyId;
    expect(ctx.progress).toEqual({ oldKeyId: OLD, newKeyId: first, delivered: false });
    expect(delivered).toEqual([]);

    // The engine reads the live state with the progress: the half-made key is not a fix.
    const stuck = await fix.read(ctx, bot());
    expect(stuck.createdKeyId).toBe(first);
    expect(fix.isCompliant(stuck, input())).toBe(false);
    expect(fix.refusal!(stuck, input())).toBeNull();

    const seq = world.lastSeq();
    await fix.apply(ctx, bot(), before);
    const ops = world.appliedSince(seq);
    expect(ops[0]).toEqual({
      service: 'iam',
      operation: 'DeleteAccessKey',
      parameters: { UserName: 'deploy-bot', AccessKeyId: first },
    });
    expect(ops.slice(1).map((c) => c.operation)).toEqual(['CreateAccessKey', 'UpdateAccessKey']);

    const keys = await world.keys('deploy-bot');
    expect(keys).toHaveLength(2);
    const second = keys.find((k) => k.id !== OLD)!;
    expect(second.id).not.toBe(first);
    expect(delivered).toEqual([
      { name: `SecretAccessKey for deploy-bot/${second.id}`, value: world.secretOf(second.id) },
    ]);
    expect(fix.isCompliant(await fix.read(ctx, bot()), input())).toBe(true);
  });

  it('a lost CreateAccessKey answer: the orphan key is found and replaced on retry', async () => {
    await oneOldKey();
    const { ctx, delivered } = keyContext(world);
    const before = await fix.read(ctx, bot());
    world.sandbox.injectFault({
      service: 'iam',
      operation: 'CreateAccessKey',
      kind: 'error',
      when: 'after',
      count: 1,
    });
    // The SDK retries the create; IAM's two-key limit stops the duplicate.
    await expect(fix.apply(ctx, bot(), before)).rejects.toMatchObject({ Code: 'LimitExceeded' });
    expect(ctx.progress).toMatchObject({ oldKeyId: OLD, knownKeyIds: [OLD] });
    const orphan = (await world.keys('deploy-bot')).find((k) => k.id !== OLD)!;
    // The engine's read with the progress knows the orphan is this action's, not a person's.
    const live = await fix.read(ctx, bot());
    expect(live.createdKeyId).toBe(orphan.id);
    expect(fix.refusal!(live, input())).toBeNull();
    expect(fix.isCompliant(live, input())).toBe(false);

    const seq = world.lastSeq();
    await fix.apply(ctx, bot(), before);
    const ops = world.appliedSince(seq);
    expect(ops.map((c) => c.operation)).toEqual([
      'DeleteAccessKey',
      'CreateAccessKey',
      'UpdateAccessKey',
    ]);
    expect(ops[0]?.parameters.AccessKeyId).toBe(orphan.id);
    const keys = await world.keys('deploy-bot');
    expect(keys).toHaveLength(2);
    expect(keys.map((k) => k.id)).not.toContain(orphan.id);
    expect(delivered).toHaveLength(1);
  });

  it('an undelivered secret: the key is deleted and a fresh one handed over', async () => {
    await oneOldKey();
    const { ctx, delivered, control } = keyContext(world);
    const before = await fix.read(ctx, bot());
    control.failDelivery = true;
    await expect(fix.apply(ctx, bot(), before)).rejects.toThrow(/could not be stored/);
    const undelivered = (ctx.progress as { newKeyId: string }).newKeyId;
    expect(fix.isCompliant(await fix.read(ctx, bot()), input())).toBe(false);

    await fix.apply(ctx, bot(), before);
    const keys = await world.keys('deploy-bot');
    expect(keys.map((k) => k.id)).not.toContain(undelivered);
    expect(keys).toHaveLength(2);
    const fresh = keys.find((k) => k.id !== OLD)!;
    expect(delivered).toEqual([
      { name: `SecretAccessKey for deploy-bot/${fresh.id}`, value: world.secretOf(fresh.id) },
    ]);
  });

  it('a failure after delivery: the retry adopts the key and creates nothing', async () => {
    await oneOldKey();
    const { ctx, delivered, setProgress } = keyContext(world);
    const before = await fix.read(ctx, bot());
    await fix.apply(ctx, bot(), before);
    const created = (ctx.progress as { newKeyId: string }).newKeyId;
    setProgress({ oldKeyId: OLD, newKeyId: created, delivered: true });
    const seq = world.lastSeq();
    await fix.apply(ctx, bot(), before);
    expect(world.appliedSince(seq).map((c) => c.operation)).toEqual(['UpdateAccessKey']);
    expect(delivered).toHaveLength(1);
    expect(await world.keys('deploy-bot')).toHaveLength(2);
  });
});
