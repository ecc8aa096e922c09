import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DeleteBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type AccountsConfig,
  createAccountClients,
  loadAccountsFile,
  parseAccountsConfig,
} from '../src/cloud/accounts.ts';
import { createScanner, SCAN_STALE_MS, type Scanner } from '../src/inventory/scan.ts';
import { createScanScheduler, dueSlot } from '../src/inventory/schedule.ts';
import type { ScanRun } from '../src/inventory/runs.ts';
import type { Sandbox } from '../src/sandbox/server.ts';
import { writeSandboxKubeconfig } from '../src/sandbox/k8s/kubeconfig.ts';
import type { Store } from '../src/store/store.ts';
import { createTestDatabase, ENGINES, type TestDatabase } from './helpers/databases.ts';
import { OTHER, OTHER_REGION, ROLE, cloudOf, twoAccountSandbox } from './helpers/accounts.ts';
import { ACCOUNT, REGION, appErrorOf, silentLog } from './helpers/world.ts';

describe('accounts file', () => {
  it('reads JSON and YAML and fills defaults', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'infraudit-accounts-'));
    try {
      const yaml = join(dir, 'accounts.yaml');
      await writeFile(
        yaml,
        [
          'aws:',
          `  - id: "${OTHER}"`,
          '    name: other team',
          '    assumeRole: { roleArn: "' + ROLE + '", externalId: x-1 }',
          `    regions: [${OTHER_REGION}, ${OTHER_REGION}]`,
          'kubernetes:',
          '  - contexts: [prod]',
        ].join('\n'),
      );
      expect(await loadAccountsFile(yaml)).toEqual({
        aws: [
          {
            id: OTHER,
            name: 'other team',
            assumeRole: { roleArn: ROLE, externalId: 'x-1' },
            regions: [OTHER_REGION],
          },
        ],
        kubernetes: [{ contexts: ['prod'] }],
      });
      const json = join(dir, 'accounts.json');
      await writeFile(json, JSON.stringify({ aws: [{ id: ACCOUNT, regions: [REGION] }] }));
      expect(await loadAccountsFile(json)).toEqual({
        aws: [{ id: ACCOUNT, name: ACCOUNT, regions: [REGION] }],
        kubernetes: [],
      });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it.each([
    [{ aws: [{ id: '123', regions: [REGION] }] }, 'aws[0].id must be a 12-digit account id'],
    [{ aws: [{ id: ACCOUNT, regions: [] }] }, 'aws[0].regions must list at least one region'],
    [{ aws: [{ id: ACCOUNT, regions: ['mars-1'] }] }, '"mars-1" is not a region name'],
    [{ aws: [{ id: ACCOUNT, regions: [REGION], extra: 1 }] }, 'unknown field "extra"'],
    [
      { aws: [{ id: ACCOUNT, regions: [REGION], assumeRole: { roleArn: ROLE } }] },
      `is a role of account ${OTHER}, not of ${ACCOUNT}`,
    ],
    [
      {
        aws: [
          { id: ACCOUNT, regions: [REGION] },
          { id: ACCOUNT, regions: [REGION] },
        ],
      },
      'listed twice',
    ],
    [{ kubernetes: [{ contexts: [] }] }, 'contexts must list at least one context name'],
    [{ gcp: [] }, 'unknown field "gcp"'],
    [[], 'must be an object'],
  ])('refuses %j', async (doc, message) => {
    const error = await appErrorOf(Promise.resolve().then(() => parseAccountsConfig(doc)));
    expect(error.code).toBe('invalid_input');
    expect(error.message).toContain(message);
  });

  it('gives each account and kube context the clients the file names for it', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'infraudit-accounts-'));
    const kubeconfig = await writeSandboxKubeconfig(join(dir, 'kc'), 'http://127.0.0.1:9', [
      { name: 'prod', token: 'x' },
    ]);
    const clients = createAccountClients(
      { defaultRegion: REGION, credentials: { accessKeyId: 'AKIAX', secretAccessKey: 'x' } },
      {
        aws: [{ id: OTHER, name: 'o', assumeRole: { roleArn: ROLE }, regions: [OTHER_REGION] }],
        kubernetes: [{ kubeconfig, contexts: ['prod'] }],
      },
    );
    try {
      const other = clients.forResource({ provider: 'aws', account: OTHER });
      expect(other).not.toBe(clients.base);
      expect(clients.forAccount(OTHER)).toBe(other);
      expect(clients.forResource({ provider: 'aws', account: ACCOUNT })).toBe(clients.base);
      const prod = clients.forResource({ provider: 'kubernetes', account: 'prod' });
      expect(prod).not.toBe(clients.base);
      expect(prod.kube('prod').getCurrentContext()).toBe('prod');
    } finally {
      clients.destroy();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('names a file that cannot be read or parsed', async () => {
    const missing = await appErrorOf(loadAccountsFile('/nonexistent/accounts.json'));
    expect(missing.message).toContain('cannot read the accounts file');
    const dir = await mkdtemp(join(tmpdir(), 'infraudit-accounts-'));
    try {
      await writeFile(join(dir, 'a.json'), '{ not json');
      const bad = await appErrorOf(loadAccountsFile(join(dir, 'a.json')));
      expect(bad.message).toContain('is not valid');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('scan schedule slots', () => {
  it('are the latest multiple of the interval', () => {
    expect(dueSlot(new Date('2026-06-01T13:59:00Z'), 240)).toBe('2026-06-01T12:00:00.000Z');
    expect(dueSlot(new Date('2026-06-01T16:00:00Z'), 240)).toBe('2026-06-01T16:00:00.000Z');
  });
});

for (const engine of ENGINES) {
  describe(`scanning the sandbox (${engine})`, () => {
    let dir: string;
    let sandbox: Sandbox;
    let database: TestDatabase;
    let store: Store;
    let scanner: Scanner;
    let accounts: AccountsConfig;
    let cleanup: (() => void)[] = [];
    let minute = 0;
    const clock = () => new Date(Date.UTC(2026, 5, 1, 12, minute++));

    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), 'infraudit-scan-'));
      sandbox = await twoAccountSandbox(dir);
      database = await createTestDatabase(engine);
      store = await database.open();
      const kubeconfig = await writeSandboxKubeconfig(join(dir, 'kubeconfig'), sandbox.url, [
        { name: 'prod', token: 'sandbox' },
      ]);
      accounts = {
        aws: [
          { id: ACCOUNT, name: 'demo', regions: [REGION] },
          { id: OTHER, name: 'other', assumeRole: { roleArn: ROLE }, regions: [OTHER_REGION] },
        ],
        kubernetes: [{ kubeconfig, contexts: ['prod'] }],
      };
      scanner = scannerFor(accounts);
    });

    /** A scanner of the sandbox for these accounts, over the suite's store and clock. */
    function scannerFor(accounts: AccountsConfig, at: () => Date = clock): Scanner {
      const clients = createAccountClients(cloudOf(sandbox), accounts);
      cleanup.push(() => clients.destroy());
      return createScanner({
        store,
        clients,
        accounts,
        defaultRegion: REGION,
        defaultKubeContext: false,
        log: silentLog,
        clock: at,
      });
    }

    afterAll(async () => {
      for (const step of cleanup) step();
      await store?.close();
      await database?.drop();
      await sandbox?.close();
      await rm(dir, { recursive: true, force: true });
    });

    let first: ScanRun;

    it('reads every account, region and cluster and records the inventory', async () => {
      first = await scanner.run({ trigger: 'cli', actor: 'token:scanner' });
      expect(first.status).toBe('completed');
      expect(first.summary?.couldNotRead).toEqual([]);
      const byUnit = Object.fromEntries(
        first.units.map((u) => [`${u.account}/${u.region}/${u.service}`, u]),
      );
      expect(byUnit[`${ACCOUNT}/global/s3`]).toMatchObject({ status: 'complete', resources: 8 });
      expect(byUnit[`${ACCOUNT}/${REGION}/rds`]).toMatchObject({ status: 'complete' });
      expect(byUnit[`${OTHER}/global/s3`]).toMatchObject({ status: 'complete', resources: 1 });
      expect(byUnit['prod//kubernetes']).toMatchObject({ status: 'complete' });
      expect(first.summary?.added).toBe(first.summary?.resources);

      // The assumed role's credentials act in the other account: its bucket is its own.
      const other = await store.getResource('arn:aws:s3:::other-team-logs');
      expect(other).toMatchObject({
        account: OTHER,
        region: OTHER_REGION,
        tags: { team: 'other' },
        config: { encryption: null, publicAccessBlock: null, versioning: { status: null } },
      });
      const sg = await store.listResources({ type: ['AwsEc2SecurityGroup'], limit: 500 });
      expect(sg.items.length).toBeGreaterThan(0);
      expect(sg.items.every((r) => r.account === ACCOUNT && r.region === REGION)).toBe(true);
      const ns = await store.getResource('k8s://prod//Namespace/shop');
      expect(ns?.config).toMatchObject({ name: 'shop' });
      const keys = await store.listResources({ type: ['AwsIamAccessKey'], limit: 500 });
      expect(keys.items.map((k) => k.id)).toContain(
        `arn:aws:iam::${ACCOUNT}:user/service/deploy-bot/accesskey/AKIADEMODEPLOYBOT001`,
      );
    });

    it('re-scanning adds nothing and opens no finding twice', async () => {
      const again = await scanner.run({ trigger: 'cli', actor: 'token:scanner' });
      expect(again.summary).toMatchObject({
        added: 0,
        gone: 0,
        updated: first.summary?.resources,
        findings: { opened: 0 },
      });
    });

    it('lists with filters, text and pages', async () => {
      const page1 = await store.listResources({ provider: ['aws'], limit: 5 });
      expect(page1.items).toHaveLength(5);
      const page2 = await store.listResources({
        provider: ['aws'],
        limit: 5,
        cursor: page1.nextCursor as string,
      });
      expect((page2.items[0]?.id ?? '') > (page1.items.at(-1)?.id ?? '')).toBe(true);
      const text = await store.listResources({ text: 'OTHER-TEAM' });
      expect(text.items.map((r) => r.id)).toEqual(['arn:aws:s3:::other-team-logs']);
      const k8s = await store.listResources({ provider: ['kubernetes'], region: ['shop'] });
      expect(k8s.items.length).toBeGreaterThan(0);
      expect(k8s.items.every((r) => r.account === 'prod')).toBe(true);
      const bad = await appErrorOf(store.listResources({ limit: 0 }));
      expect(bad.code).toBe('invalid_input');
      const forged = await appErrorOf(store.listResources({ cursor: 'abc.def' }));
      expect(forged.code).toBe('invalid_input');
    });

    it('goes on past a part it cannot read, and marks nothing of it gone', async () => {
      const before = await store.listResources({ type: ['AwsRdsDbInstance'], limit: 500 });
      sandbox.injectFault({ service: 'rds', operation: '*', kind: 'error', count: 100 });
      const run = await scanner.run({ trigger: 'manual', actor: 'token:ops' });
      sandbox.clearFaults();
      expect(run.status).toBe('completed');
      // Both accounts' RDS failed; everything else of theirs was read.
      const rds = run.units.filter((u) => u.service === 'rds');
      expect(rds).toEqual([
        expect.objectContaining({ status: 'incomplete', resources: 0, errors: 1 }),
        expect.objectContaining({ status: 'incomplete', resources: 0, errors: 1 }),
      ]);
      const failed = (account: string, region: string) =>
        expect.objectContaining({
          account,
          region,
          service: 'rds',
          operation: 'DescribeDBInstances',
          code: 'InternalFailure',
          resourceId: null,
        });
      expect(run.summary?.couldNotRead).toEqual(
        expect.arrayContaining([failed(ACCOUNT, REGION), failed(OTHER, OTHER_REGION)]),
      );
      expect(run.summary?.couldNotRead).toHaveLength(2);
      expect(run.summary?.gone).toBe(0);
      const after = await store.listResources({ type: ['AwsRdsDbInstance'], limit: 500 });
      expect(after.items.map((r) => r.id)).toEqual(before.items.map((r) => r.id));
      expect(run.units.filter((u) => u.status === 'complete').length).toBe(run.units.length - 2);
    });

    it('leaves out a bucket whose policy status, or an account whose summary, it cannot read', async () => {
      sandbox.injectFault({
        service: 's3',
        operation: 'GetBucketPolicyStatus',
        kind: 'error',
        count: 100,
      });
      sandbox.injectFault({
        service: 'iam',
        operation: 'GetAccountSummary',
        kind: 'error',
        count: 4,
      });
      const run = await scanner.run({ trigger: 'manual', actor: 'token:ops' });
      sandbox.clearFaults();
      expect(run.status).toBe('completed');
      const failed = run.summary?.couldNotRead ?? [];
      expect(failed.map((e) => [e.operation, e.code])).toEqual(
        expect.arrayContaining([
          ['GetBucketPolicyStatus', 'InternalError'],
          ['GetAccountSummary', 'InternalFailure'],
        ]),
      );
      const policy = failed.find((e) => e.operation === 'GetBucketPolicyStatus');
      expect(policy?.resourceId).toMatch(/^arn:aws:s3:::/);
      expect(failed.filter((e) => e.operation === 'GetAccountSummary')).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ account: ACCOUNT, resourceId: `arn:aws:iam::${ACCOUNT}:root` }),
        ]),
      );
      // Left out and judged by nobody, but not gone: their units were incomplete.
      expect(run.summary?.gone).toBe(0);
      // Both accounts' S3 and IAM units; the rest was read in full.
      const incomplete = run.units.filter((u) => u.status === 'incomplete');
      expect(incomplete.map((u) => `${u.account} ${u.service}`).sort()).toEqual([
        `${ACCOUNT} iam`,
        `${ACCOUNT} s3`,
        `${OTHER} iam`,
        `${OTHER} s3`,
      ]);
      expect((await store.getResource(`arn:aws:iam::${ACCOUNT}:root`))?.config).toEqual({
        accountId: ACCOUNT,
        accountAccessKeysPresent: true,
      });
    });

    it('marks a resource gone once a complete scan no longer finds it', async () => {
      const s3 = new S3Client({ region: REGION, ...cloudOf(sandbox) });
      try {
        await s3.send(new DeleteBucketCommand({ Bucket: 'app-config-prod' }));
      } finally {
        s3.destroy();
      }
      const run = await scanner.run({ trigger: 'cli', actor: 'token:scanner' });
      expect(run.summary?.gone).toBe(1);
      const gone = await store.getResource('arn:aws:s3:::app-config-prod');
      // Stamped by this scan: after it started, and the bucket was last seen before it.
      expect((gone?.goneAt ?? '') > run.startedAt).toBe(true);
      expect((gone?.lastSeen ?? '') < run.startedAt).toBe(true);
      const listed = await store.listResources({ text: 'app-config-prod' });
      expect(listed.items).toEqual([]);
      const withGone = await store.listResources({ text: 'app-config-prod', includeGone: true });
      expect(withGone.items).toHaveLength(1);
    });

    it('never marks gone what a scan running alongside has seen since', async () => {
      const scope = 'aws|000000000000|global|test';
      const resource = {
        provider: 'aws' as const,
        account: '000000000000',
        region: REGION,
        type: 'AwsS3Bucket',
        id: 'arn:aws:s3:::side-by-side',
        name: 'side-by-side',
        tags: {},
        config: {},
      };
      const earlier = clock().toISOString();
      // A later scan sees the bucket and records it first ...
      await store.updateInventory({
        scanId: 'later',
        startedAt: clock().toISOString(),
        now: clock(),
        resources: [{ scope, resource }],
        completeScopes: [scope],
      });
      // ... then a scan that began before it, and listed the scope without it, finishes.
      const stale = await store.updateInventory({
        scanId: 'earlier',
        startedAt: earlier,
        now: clock(),
        resources: [],
        completeScopes: [scope],
      });
      expect(stale.gone).toBe(0);
      expect((await store.getResource(resource.id))?.goneAt).toBeNull();
      const next = await store.updateInventory({
        scanId: 'next',
        startedAt: clock().toISOString(),
        now: clock(),
        resources: [],
        completeScopes: [scope],
      });
      expect(next.gone).toBe(1);
    });

    it('refuses an account whose credentials act elsewhere, and reads the rest', async () => {
      // The demo credentials act in the demo account, not in the one configured here.
      const accounts: AccountsConfig = {
        aws: [{ id: '999988887777', name: 'wrong', regions: [REGION] }],
        kubernetes: [],
      };
      const wrong = scannerFor(accounts);
      const count = (await store.listResources({ limit: 500, includeGone: true })).items.length;
      const run = await wrong.run({ trigger: 'cli', actor: 'token:scanner' });
      expect(run.status).toBe('completed');
      expect(run.summary?.resources).toBe(0);
      expect(run.summary?.couldNotRead).toEqual([
        expect.objectContaining({ account: '999988887777', code: 'WrongAccount' }),
      ]);
      const after = (await store.listResources({ limit: 500, includeGone: true })).items.length;
      expect(after).toBe(count);
    });

    it('starts each scheduled slot once across replicas, and catches up once', async () => {
      await store.updateScanSettings(
        { intervalMinutes: 60 },
        { actor: 'token:admin', now: clock() },
      );
      let now = new Date('2026-07-01T10:30:00Z');
      const at = () => now;
      // Replicas share one clock: the scans they start keep their heartbeat by it.
      const replica = scannerFor(accounts, at);
      const schedulers = [0, 1, 2].map(() =>
        createScanScheduler({ store, scanner: replica, log: silentLog, clock: at }),
      );
      const lastBefore = await store.lastScheduledSlot();
      // The slot current when the schedule is first seen is not due.
      if (lastBefore === null) {
        expect(await Promise.all(schedulers.map((s) => s.tick()))).toEqual([null, null, null]);
      }
      now = new Date('2026-07-01T11:00:05Z');
      const started = (await Promise.all(schedulers.map((s) => s.tick()))).filter(Boolean);
      expect(started).toHaveLength(1);
      await replica.idle();
      expect(await store.lastScheduledSlot()).toBe('2026-07-01T11:00:00.000Z');
      // Down for five slots: one scan catches up, not five.
      now = new Date('2026-07-01T16:20:00Z');
      const caught = (await Promise.all(schedulers.map((s) => s.tick()))).filter(Boolean);
      expect(caught).toHaveLength(1);
      expect(await schedulers[0]?.tick()).toBeNull();
      await replica.idle();
      const scheduled = (await store.listScans({ limit: 500 })).items.filter(
        (r) => r.trigger === 'scheduled',
      );
      expect(scheduled).toHaveLength(2);
      expect(scheduled.every((r) => r.actor === 'system' && r.status === 'completed')).toBe(true);

      await store.updateScanSettings(
        { intervalMinutes: 0 },
        { actor: 'token:admin', now: clock() },
      );
      now = new Date('2026-07-02T16:20:00Z');
      expect(await schedulers[1]?.tick()).toBeNull();
    });

    it('fails a scan a stopped server left running, once its heartbeat is stale', async () => {
      const then = new Date('2026-07-05T10:00:00Z');
      const left = await store.startScan({
        trigger: 'manual',
        actor: 'token:ops',
        now: then,
        units: [],
      });
      expect(await store.abandonStaleScans(new Date(then.getTime() - 1000), then)).toBe(0);
      const later = () => new Date(then.getTime() + SCAN_STALE_MS + 1000);
      await createScanScheduler({ store, scanner, log: silentLog, clock: later }).tick();
      expect(await store.getScan(left?.id as string)).toMatchObject({
        status: 'failed',
        finishedAt: later().toISOString(),
        error: expect.stringContaining('abandoned: the server running it stopped'),
      });
      // Finished scans are never touched.
      expect(await store.abandonStaleScans(new Date('2030-01-01T00:00:00Z'), later())).toBe(0);
    });

    it('lists scans newest first, by pages', async () => {
      const page = await store.listScans({ limit: 2 });
      expect(page.items).toHaveLength(2);
      const next = await store.listScans({ limit: 2, cursor: page.nextCursor as string });
      expect((next.items[0]?.startedAt ?? '') <= (page.items[1]?.startedAt ?? '')).toBe(true);
      expect(await store.getScan(page.items[0]?.id as string)).toEqual(page.items[0]);
      expect(await store.getScan('nope')).toBeUndefined();
    });
  });
}
