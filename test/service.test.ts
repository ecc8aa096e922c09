import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createCatalog } from '../src/catalog/index.ts';
import { createRemediationService, type RemediationService } from '../src/service/remediation.ts';
import type { Store } from '../src/store/store.ts';
import { createTestDatabase, ENGINES, type TestDatabase } from './helpers/databases.ts';
import { ENCRYPTION_CHECK, ENCRYPTION_FIX, prowlerFile } from './helpers/findings.ts';
import { appErrorOf } from './helpers/world.ts';

const START = new Date('2026-03-01T10:00:00.000Z');
const OWNER = 'test-engine';

let store: Store;
let service: RemediationService;
let now: Date;
let wakes: number;

const suggest = (bucket: string) =>
  service.suggest(
    { type: ENCRYPTION_FIX, resource: { type: 'AwsS3Bucket', id: `arn:aws:s3:::${bucket}` } },
    'token:ops',
  );

/** Plays the engine's part: claims the queued requests and finishes them. */
async function engineFinishes(ids: string[], outcome: 'complete' | 'fail') {
  const claimed = await store.claim(OWNER, { now, leaseMs: 60_000, limit: 10 });
  expect(claimed.map((a) => a.id).sort()).toEqual([...ids].sort());
  const deadline = new Date(now.getTime() + 30 * 60_000);
  for (const id of ids) await finish(id, outcome, deadline);
}

async function finish(id: string, outcome: 'complete' | 'fail', deadline: Date) {
  await store.transition(id, outcome, {
    actor: 'system',
    now,
    leaseOwner: OWNER,
    patch:
      outcome === 'complete'
        ? { completedAt: now.toISOString(), rollbackDeadline: deadline.toISOString() }
        : { error: { code: 'cloud_refused', message: 'AccessDenied', at: now.toISOString() } },
  });
}

describe.each(ENGINES)('on %s', (engine) => {
  let database: TestDatabase;

  beforeEach(async () => {
    database = await createTestDatabase(engine);
    store = await database.open();
    now = START;
    wakes = 0;
    service = createRemediationService({
      store,
      catalog: createCatalog(),
      clock: () => now,
      onWork: () => {
        wakes += 1;
      },
    });
  });
  afterEach(async () => {
    await store.close();
    await database.drop();
  });
  describe('remediation service', () => {
    it('suggest fills the resource from the ARN and enters review', async () => {
      const { action, created } = await suggest('ledger');
      expect(created).toBe(true);
      expect(action.status).toBe('pending_approval');
      expect(action.resource).toEqual({
        provider: 'aws',
        account: '',
        region: '',
        type: 'AwsS3Bucket',
        id: 'arn:aws:s3:::ledger',
        name: 'ledger',
      });
      expect(action.source).toMatchObject({ origin: 'manual', checkId: ENCRYPTION_FIX });
      expect(action.plan.before).toBeNull();

      const wrongType = await appErrorOf(
        service.suggest(
          { type: ENCRYPTION_FIX, resource: { type: 'AwsEc2Instance', id: 'i-0abc' } },
          'token:ops',
        ),
      );
      expect(wrongType.code).toBe('invalid_input');
      expect(wrongType.message).toContain('AwsEc2Instance');
    });

    it('approve with auto-execute queues the execution in the same step', async () => {
      await service.updateSettings({ autoExecute: true }, 'token:admin');
      const { action } = await suggest('auto');
      const approved = await service.approve(action.id, 'token:admin', 'fine');
      expect(approved).toMatchObject({ status: 'approved', requestedOp: 'execute' });
      expect(wakes).toBeGreaterThan(0);
    });

    it('executes a suggested action only while approval is off', async () => {
      await service.updateSettings({ requireApproval: false }, 'token:admin');
      const { action } = await suggest('no-review');
      expect(action.status).toBe('suggested');

      await service.updateSettings({ requireApproval: true }, 'token:admin');
      const refused = await appErrorOf(service.execute(action.id, 'token:admin'));
      expect(refused.code).toBe('conflict');
      expect(refused.message).toContain('approve it first');

      await service.updateSettings({ requireApproval: false }, 'token:admin');
      const queued = await service.execute(action.id, 'token:admin');
      expect(queued).toMatchObject({ status: 'suggested', requestedOp: 'execute' });
    });

    it('retries only a failed action', async () => {
      const { action } = await suggest('flaky');
      await service.approve(action.id, 'token:admin');
      expect((await appErrorOf(service.retry(action.id, 'token:admin'))).code).toBe('conflict');

      await service.execute(action.id, 'token:admin');
      await engineFinishes([action.id], 'fail');
      const retried = await service.retry(action.id, 'token:admin', 'permissions fixed');
      expect(retried).toMatchObject({ status: 'failed', requestedOp: 'execute' });
    });

    it('rolls back inside the window and refuses at the deadline', async () => {
      const first = (await suggest('window-open')).action;
      const second = (await suggest('window-closed')).action;
      for (const a of [first, second]) {
        await service.approve(a.id, 'token:admin');
        await service.execute(a.id, 'token:admin');
      }
      await engineFinishes([first.id, second.id], 'complete');

      now = new Date(START.getTime() + 29 * 60_000);
      const queued = await service.rollback(first.id, 'token:admin');
      expect(queued).toMatchObject({ status: 'completed', requestedOp: 'rollback' });

      now = new Date(START.getTime() + 30 * 60_000);
      const closed = await appErrorOf(service.rollback(second.id, 'token:admin'));
      expect(closed.code).toBe('window_closed');
      expect(closed.message).toContain('2026-03-01T10:30:00.000Z');
      expect((await store.getAction(second.id))?.requestedOp).toBeNull();
    });

    it('refuses empty comments and rejections without one', async () => {
      const { action } = await suggest('quiet');
      expect((await appErrorOf(service.comment(action.id, 'token:ops', '   '))).code).toBe(
        'invalid_input',
      );
      expect((await appErrorOf(service.reject(action.id, 'token:admin', ''))).code).toBe(
        'invalid_input',
      );
      const missing = await appErrorOf(service.get('no-such-id'));
      expect(missing.code).toBe('not_found');
      expect(missing.message).toContain('no-such-id');
    });

    it('imports nothing from a file that is malformed anywhere', async () => {
      const findings = JSON.parse(
        prowlerFile([
          { check: ENCRYPTION_CHECK, bucket: 'one' },
          { check: ENCRYPTION_CHECK, bucket: 'two' },
        ]),
      );
      findings[1].status_code = 42;
      const bad = await appErrorOf(service.importFindings(JSON.stringify(findings), 'token:ops'));
      expect(bad.code).toBe('invalid_input');
      expect((await store.listActions({})).items).toEqual([]);

      const good = await service.importFindings(
        prowlerFile([{ check: ENCRYPTION_CHECK, bucket: 'one' }]),
        'token:ops',
      );
      expect(good.counts).toMatchObject({ total: 1, failed: 1, supported: 1, created: 1 });
      expect(good.actions[0]).toMatchObject({ type: ENCRYPTION_FIX, created: true });
    });

    it('refuses a settings change outside the window range and keeps the old values', async () => {
      for (const minutes of [4, 121]) {
        const error = await appErrorOf(
          service.updateSettings({ rollbackWindowMinutes: minutes }, 'token:admin'),
        );
        expect(error.code).toBe('invalid_input');
      }
      expect(await service.getSettings()).toEqual({
        requireApproval: true,
        autoExecute: false,
        rollbackWindowMinutes: 30,
        allowSelfApproval: false,
        maxBulkActions: 50,
        maintenanceWindows: [],
      });
    });
  });

  describe('remediation service edge cases', () => {
    it('lets an admin approve an action made while approval was off', async () => {
      await service.updateSettings({ requireApproval: false }, 'token:admin');
      const { action } = await suggest('made-without-approval');
      expect(action.status).toBe('suggested');
      await service.updateSettings({ requireApproval: true }, 'token:admin');

      const refused = await appErrorOf(service.execute(action.id, 'token:admin'));
      expect(refused.code).toBe('conflict');
      const approved = await service.approve(action.id, 'token:admin', 'reviewed after the change');
      expect(approved.status).toBe('approved');
      expect((await service.execute(action.id, 'token:admin')).requestedOp).toBe('execute');
    });

    it('refuses to roll back an action that changed nothing, and says why', async () => {
      const { action } = await suggest('already-fine');
      await service.approve(action.id, 'token:admin');
      await service.execute(action.id, 'token:admin');
      await store.claim(OWNER, { now, leaseMs: 60_000, limit: 10 });
      await store.transition(action.id, 'complete', {
        actor: 'system',
        now,
        leaseOwner: OWNER,
        patch: {
          completedAt: now.toISOString(),
          result: { kind: 'already_compliant', message: 'nothing to do' },
        },
      });
      const refused = await appErrorOf(service.rollback(action.id, 'token:admin'));
      expect(refused.code).toBe('conflict');
      expect(refused.message).toMatch(/changed nothing .* nothing to roll back/);
      expect((await store.getAction(action.id))!.requestedOp).toBeNull();
    });
  });

  describe('resource references', () => {
    const attempt = (resource: Record<string, string>) =>
      appErrorOf(
        service.suggest(
          { type: ENCRYPTION_FIX, resource: { type: 'AwsS3Bucket', ...resource } as never },
          'token:ops',
        ),
      );

    it.each([
      [
        { id: 'arn:aws:s3:::terraform-state-prod', name: 'ml-training-data' },
        /does not match its ARN/,
      ],
      [{ id: 'arn:aws:iam::111122223333:user/ml-training-data' }, /not the ARN of a AwsS3Bucket/],
      [{ id: 'arn:aws:s3:::bucket/key' }, /not the ARN of a AwsS3Bucket/],
      [{ id: 'arn:aws:s3:::' }, /not an ARN/],
      [{ id: 'not-an-arn' }, /not an ARN/],
      [{ id: 'arn:aws:s3:::fine-bucket', account: 'abc' }, /12-digit/],
      [{ id: 'arn:aws:s3:::fine-bucket', region: 'mars-1' }, /not an AWS region/],
    ])('refuses %j and writes nothing', async (resource, message) => {
      const error = await attempt(resource);
      expect(error.code).toBe('invalid_input');
      expect(error.message).toMatch(message);
      expect((await store.countByStatus()).pending_approval).toBe(0);
    });

    it('refuses a whole findings file when one finding names the wrong bucket', async () => {
      const text = prowlerFile([
        { check: ENCRYPTION_CHECK, bucket: 'good-bucket' },
        { check: ENCRYPTION_CHECK, bucket: 'other-bucket', name: 'finance-exports' },
      ]);
      const error = await appErrorOf(service.importFindings(text, 'token:ops'));
      expect(error.message).toMatch(/^finding 2 .*does not match its ARN/);
      expect((await store.listActions({})).items).toHaveLength(0);
    });
  });
});
