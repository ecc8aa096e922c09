import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCatalog } from '../src/catalog/index.ts';
import type { AccountClients } from '../src/cloud/accounts.ts';
import type { Action } from '../src/domain/action.ts';
import type { FindingReport } from '../src/domain/finding.ts';
import type { Scanner } from '../src/inventory/scan.ts';
import { type Sandbox, startSandbox } from '../src/sandbox/server.ts';
import type { Store } from '../src/store/store.ts';
import { actionWhen, newAction, quickEngine } from './helpers/actions.ts';
import { type ApiHarness, startApi } from './helpers/api.ts';
import {
  createTestDatabase,
  ENGINES,
  storePerSuite,
  type TestDatabase,
} from './helpers/databases.ts';
import { bucketReport as report, ENCRYPTION_CHECK, prowlerFile } from './helpers/findings.ts';
import { sandboxScan } from './helpers/demo-scan.ts';

const OWNER = 'resolution-test-engine';
const start = new Date('2026-03-01T10:00:00Z').getTime();
let minute = 0;
/** A later time on each call, so every change is ordered. */
const at = () => ({ actor: 'token:ops', now: new Date(start + ++minute * 60_000) });
const system = () => ({ actor: 'system', now: at().now, leaseOwner: OWNER });

let counter = 0;

describe.each(ENGINES)('findings follow their fix on %s', { timeout: 60_000 }, (engine) => {
  let store: Store;
  storePerSuite(engine, (opened) => {
    store = opened;
  });

  /** Stores the reports with one action for their bucket, linked to every one of them. */
  async function linked(reports: FindingReport[]) {
    const bucket = reports[0]?.resource.name as string;
    const actions = reports.map((r) => newAction({ bucket, findingId: r.key }));
    const recorded = await store.recordImport(reports, actions, at());
    const ids = new Set(recorded.actions.map((a) => a.action.id));
    expect(ids.size).toBe(1);
    return { actionId: [...ids][0] as string, findingIds: recorded.report.findingIds };
  }

  async function executing(id: string): Promise<Action> {
    await store.transition(id, 'approve', { actor: 'token:admin', now: at().now });
    await store.request(id, 'execute', { actor: 'token:admin', now: at().now });
    const claimed = await store.claim(OWNER, { now: at().now, leaseMs: 600_000, limit: 100 });
    const mine = claimed.find((a) => a.id === id);
    expect(mine?.status).toBe('executing');
    return mine as Action;
  }

  async function completed(id: string) {
    await executing(id);
    return store.transition(id, 'complete', { ...system(), openRollbackWindow: true });
  }

  async function rolledBack(id: string) {
    await store.request(id, 'rollback', { actor: 'token:admin', now: at().now });
    const claimed = await store.claim(OWNER, { now: at().now, leaseMs: 600_000, limit: 100 });
    expect(claimed.find((a) => a.id === id)?.status).toBe('rolling_back');
    return store.transition(id, 'finishRollback', system());
  }

  const statusOf = async (id: string) => (await store.getFinding(id))?.status;

  it('resolves the open findings linked to a completed action, naming it, audited', async () => {
    const bucket = `resolve-${process.pid}-${counter++}`;
    const vulnerability = report({}, bucket);
    const recommendation = report({ kind: 'recommendation', checkId: 'versioning' }, bucket);
    const dismissedOne = report({ checkId: 'public-access' }, bucket);
    const { actionId, findingIds } = await linked([vulnerability, recommendation, dismissedOne]);
    const [vulnId, recId, dismissedId] = findingIds as [string, string, string];
    await store.dismissFinding(dismissedId, { ...at(), reason: 'accepted risk' });
    const openBefore = (await store.countFindings({ status: ['open'] })).total;

    const done = await completed(actionId);
    expect(done.status).toBe('completed');
    const now = (await store.getAction(actionId))?.completedAt;
    for (const id of [vulnId, recId]) {
      expect(await store.getFinding(id)).toMatchObject({
        status: 'resolved',
        resolvedAt: now,
        resolution: `remediated by action ${actionId}`,
        resolvedByAction: actionId,
      });
    }
    expect(await store.getFinding(dismissedId)).toMatchObject({
      status: 'dismissed',
      resolution: null,
      resolvedByAction: null,
    });
    expect((await store.countFindings({ status: ['open'] })).total).toBe(openBefore - 2);

    const [recEvent] = (await store.findingEvents(recId)).slice(-1);
    expect(recEvent).toMatchObject({
      type: 'finding',
      actor: 'system',
      comment: `remediated by action ${actionId}`,
      data: { findingId: recId, change: 'resolved', actionId },
    });
    const [vulnEvent] = (await store.findingEvents(vulnId)).slice(-1);
    expect(vulnEvent).toMatchObject({
      comment: `remediated by action ${actionId}`,
      data: { kind: 'vulnerability', change: 'resolved', count: 1, findingIds: [vulnId], actionId },
    });
    expect((await store.findingEvents(dismissedId)).map((e) => e.data?.change)).toEqual([
      'opened',
      'dismissed',
    ]);
  });

  it('a rollback reopens exactly the findings its action resolved', async () => {
    const bucket = `rollback-${process.pid}-${counter++}`;
    const mine = report({}, bucket);
    const other = report({ checkId: 'versioning' }, bucket);
    const { actionId, findingIds } = await linked([mine, other]);
    const [mineId, otherId] = findingIds as [string, string];
    const scannerResolved = report();
    const scannerId = (await store.reportFindings([scannerResolved], at())).findingIds[0] as string;
    await store.reportFindings([{ ...scannerResolved, state: 'passed' }], at());
    await completed(actionId);
    // The scanner found `other` failing again after the fix: it is open, and no longer the
    // action's to reopen.
    await store.reportFindings([other], at());
    expect(await store.getFinding(otherId)).toMatchObject({
      status: 'open',
      resolution: null,
      resolvedByAction: null,
      resolvedAt: null,
    });

    const back = await rolledBack(actionId);
    expect(back.status).toBe('rolled_back');
    expect(await store.getFinding(mineId)).toMatchObject({
      status: 'open',
      resolvedAt: null,
      resolution: null,
      resolvedByAction: null,
    });
    expect(await statusOf(otherId)).toBe('open');
    expect(await store.getFinding(scannerId)).toMatchObject({
      status: 'resolved',
      resolution: 'prowler reports the check passed',
      resolvedByAction: null,
    });
    const changes = (id: string) =>
      store.findingEvents(id).then((events) => events.map((e) => [e.data?.change, e.comment]));
    expect(await changes(mineId)).toEqual([
      ['opened', null],
      ['resolved', `remediated by action ${actionId}`],
      ['reopened', `action ${actionId} rolled back`],
    ]);
    expect(await changes(otherId)).toEqual([
      ['opened', null],
      ['resolved', `remediated by action ${actionId}`],
      ['reopened', null],
    ]);
  });

  it('a passed report keeps a fixed finding resolved by its action; a failed one reopens it', async () => {
    const r = report();
    const { actionId, findingIds } = await linked([r]);
    const id = findingIds[0] as string;
    await completed(actionId);
    const passed = await store.reportFindings([{ ...r, state: 'passed' }], at());
    expect(passed).toMatchObject({ resolved: 0, opened: 0 });
    expect(await store.getFinding(id)).toMatchObject({
      status: 'resolved',
      resolvedByAction: actionId,
    });
    const failed = await store.reportFindings([r], at());
    expect(failed).toMatchObject({ opened: 1 });
    expect(await store.getFinding(id)).toMatchObject({ status: 'open', resolvedByAction: null });
  });

  it('reopens into excluded when an exclusion made meanwhile matches', async () => {
    const bucket = `excluded-${process.pid}-${counter++}`;
    const r = report({}, bucket);
    const { actionId, findingIds } = await linked([r]);
    await completed(actionId);
    const { exclusion } = await store.addExclusion(
      { scope: 'resource', value: r.resource.id, reason: 'decommissioned next week' },
      at(),
    );
    await rolledBack(actionId);
    expect(await store.getFinding(findingIds[0] as string)).toMatchObject({
      status: 'excluded',
      exclusionId: exclusion.id,
      resolvedByAction: null,
    });
  });

  it('leaves findings open when the fix fails, and resolved when a rollback is abandoned', async () => {
    const failing = report();
    const first = await linked([failing]);
    await executing(first.actionId);
    await store.transition(first.actionId, 'fail', system());
    expect(await statusOf(first.findingIds[0] as string)).toBe('open');

    const aborted = report();
    const second = await linked([aborted]);
    await completed(second.actionId);
    await store.request(second.actionId, 'rollback', { actor: 'token:admin', now: at().now });
    await store.claim(OWNER, { now: at().now, leaseMs: 600_000, limit: 100 });
    await store.transition(second.actionId, 'abortRollback', system());
    expect(await store.getFinding(second.findingIds[0] as string)).toMatchObject({
      status: 'resolved',
      resolvedByAction: second.actionId,
    });
  });

  it('a completion refused by a conflict resolves nothing', async () => {
    const r = report();
    const { actionId, findingIds } = await linked([r]);
    await executing(actionId);
    const refused = store.transition(actionId, 'complete', { ...system(), leaseOwner: 'other' });
    await expect(refused).rejects.toMatchObject({ code: 'conflict' });
    expect(await store.getFinding(findingIds[0] as string)).toMatchObject({
      status: 'open',
      resolvedByAction: null,
    });
    expect((await store.findingEvents(findingIds[0] as string)).map((e) => e.data?.change)).toEqual(
      ['opened'],
    );
  });
});

for (const engine of ENGINES) {
  describe(`an imported finding follows its fix on the sandbox (${engine})`, () => {
    let dir: string;
    let sandbox: Sandbox;
    let database: TestDatabase;
    let api: ApiHarness;
    let clients: AccountClients;
    let scanner: Scanner;
    let tick = 0;
    // The demo seeds date keys by the real time, so the scan judges ages by it too.
    const clock = () => new Date(Date.now() + tick++);

    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), 'infraudit-resolution-'));
      sandbox = await startSandbox({ seed: 'demo' });
      database = await createTestDatabase(engine);
      api = await startApi({ database });
      ({ clients, scanner } = await sandboxScan(sandbox, api.store, dir, clock));
    });

    afterAll(async () => {
      clients?.destroy();
      await api?.close();
      await database?.drop();
      await sandbox?.close();
      await rm(dir, { recursive: true, force: true });
    });

    /** The check this product's own scan runs on the bucket, by status. */
    const scanned = async () =>
      (await api.store.listFindings({ text: 'finance-exports', limit: 50 })).items.find(
        (f) => f.checkId === 's3-default-encryption',
      );

    it(
      'execute resolves the finding, rollback reopens it, and scans agree',
      { timeout: 120_000 },
      async () => {
        expect((await scanner.run({ trigger: 'cli', actor: 'token:demo' })).status).toBe(
          'completed',
        );
        expect((await scanned())?.status).toBe('open');

        const upload = prowlerFile([{ check: ENCRYPTION_CHECK, bucket: 'finance-exports' }]);
        const imported = await api.call('POST', '/api/v1/findings/import', {
          as: 'operator',
          raw: upload,
        });
        expect(imported.status, imported.text).toBe(200);
        const list = await api.call('GET', '/api/v1/findings?q=finance-exports&kind=vulnerability');
        const finding = list.body.items[0];
        expect(finding).toMatchObject({ origin: 'prowler', status: 'open' });
        const detailOf = async () =>
          (await api.call('GET', `/api/v1/findings/${finding.id}`, { as: 'viewer' })).body;
        const actionId = (await detailOf()).actions[0].id as string;
        const openCount = async () =>
          (await api.call('GET', '/api/v1/findings/counts?status=open')).body.total as number;
        const openBefore = await openCount();

        const worker = quickEngine({
          store: api.store,
          clients: clients.base,
          catalog: createCatalog(),
        });
        await worker.start();
        try {
          await actionWhen(api.store, actionId, (a) => Boolean(a.plannedAt));
          expect(
            (await api.call('POST', `/api/v1/actions/${actionId}/approve`, { body: {} })).status,
          ).toBe(200);
          expect(
            (await api.call('POST', `/api/v1/actions/${actionId}/execute`, { body: {} })).status,
          ).toBe(202);
          worker.wake();
          const done = await actionWhen(api.store, actionId, (a) => a.status === 'completed');
          expect(done.result?.kind).toBe('applied');

          const resolved = await detailOf();
          expect(resolved.finding).toMatchObject({
            status: 'resolved',
            resolution: `remediated by action ${actionId}`,
            resolvedByAction: actionId,
            resolvedAt: done.completedAt,
          });
          expect(resolved.events.at(-1)).toMatchObject({
            comment: `remediated by action ${actionId}`,
            data: { change: 'resolved', actionId },
          });
          // Both the imported finding and the scan's own check of the bucket were open.
          expect(await openCount()).toBe(openBefore - 1);

          // The scan sees the bucket encrypted: its own check resolves, the import stays so.
          const after = await scanner.run({ trigger: 'cli', actor: 'token:demo' });
          expect(after.summary?.findings.opened).toBe(0);
          expect((await scanned())?.status).toBe('resolved');
          expect((await detailOf()).finding.status).toBe('resolved');

          const rollback = await api.call('POST', `/api/v1/actions/${actionId}/rollback`, {
            body: { comment: 'the exports job cannot read encrypted objects yet' },
          });
          expect(rollback.status, rollback.text).toBe(202);
          worker.wake();
          await actionWhen(api.store, actionId, (a) => a.status === 'rolled_back');
        } finally {
          await worker.stop();
        }

        const reopened = await detailOf();
        expect(reopened.finding).toMatchObject({
          status: 'open',
          resolution: null,
          resolvedByAction: null,
          resolvedAt: null,
        });
        expect(reopened.events.at(-1)).toMatchObject({
          comment: `action ${actionId} rolled back`,
          data: { change: 'reopened', actionId },
        });

        // The bucket is unencrypted again, and the next scan agrees.
        await scanner.run({ trigger: 'cli', actor: 'token:demo' });
        expect((await scanned())?.status).toBe('open');
        expect((await detailOf()).finding.status).toBe('open');
        const verify = await api.call('GET', '/api/v1/audit/verify');
        expect(verify.body).toMatchObject({ ok: true });
      },
    );
  });
}
