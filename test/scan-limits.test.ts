import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createCatalog } from '../src/catalog/index.ts';
import { createAccountClients } from '../src/cloud/accounts.ts';
import type { CloudConfig } from '../src/cloud/clients.ts';
import { createScanner } from '../src/inventory/scan.ts';
import { registry } from '../src/metrics/metrics.ts';
import { writeSandboxKubeconfig } from '../src/sandbox/k8s/kubeconfig.ts';
import { type Sandbox, startSandbox } from '../src/sandbox/server.ts';
import type { Store } from '../src/store/store.ts';
import { actionWhen, quickEngine } from './helpers/actions.ts';
import { createTestDatabase, type TestDatabase } from './helpers/databases.ts';
import { bucketRef, catalogAction, REGION, silentLog } from './helpers/world.ts';

/** One request as it crossed the wire: its service, its S3 operation hint and its span. */
interface Seen {
  service: string;
  method: string;
  query: string;
  start: number;
  end: number;
}

/**
 * A loopback relay in front of the sandbox that counts the requests in flight per
 * service (from the SigV4 credential scope; `kubernetes` for the cluster's API).
 */
async function countingRelay(target: string) {
  const inFlight = new Map<string, number>();
  const most = new Map<string, number>();
  const seen: Seen[] = [];
  const server: Server = createServer((req, res) => {
    const scope = /Credential=[^/]+\/[^/]+\/[^/]+\/([^/]+)\//.exec(req.headers.authorization ?? '');
    const service = scope?.[1] ?? 'kubernetes';
    const now = inFlight.get(service) ?? 0;
    inFlight.set(service, now + 1);
    most.set(service, Math.max(most.get(service) ?? 0, now + 1));
    const entry: Seen = {
      service,
      method: req.method ?? '',
      query: (req.url ?? '').split('?')[1] ?? '',
      start: Date.now(),
      end: 0,
    };
    seen.push(entry);
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      entry.end = Date.now();
      inFlight.set(service, (inFlight.get(service) ?? 1) - 1);
    };
    const upstream = httpRequest(
      new URL(req.url ?? '/', target),
      { method: req.method, headers: req.headers },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
        answer.on('end', finish);
      },
    );
    upstream.on('error', () => {
      finish();
      res.destroy();
    });
    req.pipe(upstream);
    res.on('close', finish);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    most,
    seen,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

async function metricValue(name: string, labels: Record<string, string>): Promise<number> {
  const metric = (await registry.getMetricsAsJSON()).find((m) => m.name === name);
  const values = (metric?.values ?? []) as { value: number; labels: Record<string, unknown> }[];
  return values
    .filter((v) => Object.entries(labels).every(([k, want]) => v.labels[k] === want))
    .reduce((sum, v) => sum + v.value, 0);
}

describe('scans under the cloud call limits', () => {
  let database: TestDatabase;
  let store: Store;
  let sandbox: Sandbox;
  let dir: string;
  const closing: (() => Promise<unknown> | unknown)[] = [];

  beforeEach(async () => {
    database = await createTestDatabase('sqlite');
    store = await database.open();
    sandbox = await startSandbox({ seed: 'demo' });
    dir = await mkdtemp(join(tmpdir(), 'infraudit-scan-limits-'));
  });
  afterEach(async () => {
    for (const close of closing.splice(0).reverse()) await close();
    await store.close();
    await database.drop();
    await sandbox.close();
    await rm(dir, { recursive: true, force: true });
  });

  const cloudAt = async (url: string, maxAttempts: number): Promise<CloudConfig> => ({
    defaultRegion: REGION,
    endpoint: url,
    s3ForcePathStyle: true,
    credentials: { accessKeyId: 'AKIASCANLIMITS', secretAccessKey: 'sandbox-secret' },
    maxAttempts,
    kubeconfig: await writeSandboxKubeconfig(join(dir, `kubeconfig-${maxAttempts}`), url),
  });

  it(
    'keeps a scan and running fixes together within the concurrency limit of each service',
    { timeout: 60_000 },
    async () => {
      const direct = new S3Client({ region: REGION, ...(await cloudAt(sandbox.url, 1)) });
      closing.push(() => direct.destroy());
      const buckets = Array.from({ length: 12 }, (_, i) => `limits-fix-${i}`);
      for (const bucket of buckets) await direct.send(new CreateBucketCommand({ Bucket: bucket }));
      // Every call takes a while, so calls that are let through together overlap.
      sandbox.injectFault({ operation: '*', kind: 'latency', ms: 30, probability: 1 });

      const relay = await countingRelay(sandbox.url);
      closing.push(() => relay.close());
      const cloud = await cloudAt(relay.url, 4);
      const clients = createAccountClients(cloud, null);
      closing.push(() => clients.destroy());
      const catalog = createCatalog();
      const engine = quickEngine({
        store,
        clients: clients.base,
        catalog,
        cloudLimits: { concurrency: 2, ratePerSecond: 1000 },
      });
      closing.push(() => engine.stop());
      const scanner = createScanner({
        store,
        clients,
        accounts: null,
        defaultRegion: REGION,
        defaultKubeContext: true,
        log: silentLog,
        gates: engine.gates,
      });
      closing.push(() => scanner.idle());

      const ids: string[] = [];
      for (const bucket of buckets) {
        const { action } = await store.createAction(
          catalogAction(catalog, 's3.enable-default-encryption', bucketRef(bucket), {
            origin: 'prowler',
            checkId: 's3_bucket_default_encryption',
          }),
          { actor: 'token:ops', now: new Date(), requireApproval: false },
        );
        ids.push(action.id);
      }
      await engine.start();
      await Promise.all(
        ids.map((id) => actionWhen(store, id, (a) => a.plannedAt !== null, { ms: 20_000 })),
      );
      const scanOnly = () =>
        relay.seen.filter((r) => r.service === 's3' && /tagging|policyStatus/.test(r.query));
      const scanning = scanner.run({ trigger: 'manual', actor: 'token:admin' });
      // The fixes are asked for once the scan reads bucket details, so both press on S3.
      await vi.waitFor(() => expect(scanOnly().length).toBeGreaterThan(0), { timeout: 10_000 });
      for (const id of ids) {
        await store.request(id, 'execute', { actor: 'token:admin', now: new Date() });
      }
      engine.wake();
      const settled = await Promise.all(
        ids.map((id) => actionWhen(store, id, (a) => a.status === 'completed', { ms: 30_000 })),
      );
      const scan = await scanning;

      expect(settled.map((a) => a.result?.kind)).toEqual(buckets.map(() => 'applied'));
      expect(scan.status).toBe('completed');
      expect(scan.summary?.couldNotRead).toEqual([]);
      expect(scan.units.every((u) => u.status === 'complete')).toBe(true);
      // Every service the two reached, AWS and the cluster alike, held to two at once.
      for (const service of ['s3', 'ec2', 'iam', 'rds', 'sts', 'kubernetes']) {
        expect(relay.most.get(service), service).toBeGreaterThan(0);
        expect(relay.most.get(service), service).toBeLessThanOrEqual(2);
      }
      // And they did run together: a fix's change crossed while the scan read S3 details
      // only a scan asks for (tags and policy status).
      const scanReads = scanOnly();
      const puts = relay.seen.filter((r) => r.service === 's3' && r.method === 'PUT');

      expect(puts).toHaveLength(buckets.length);
      const from = Math.min(...scanReads.map((r) => r.start));
      const to = Math.max(...scanReads.map((r) => r.end));
      expect(puts.some((p) => p.start >= from && p.start <= to)).toBe(true);
    },
  );

  it(
    'slows down on a throttling answer instead of failing the scan',
    { timeout: 30_000 },
    async () => {
      // One attempt per SDK call, so the throttle reaches the gate instead of the SDK's retries.
      const cloud = await cloudAt(sandbox.url, 1);
      const clients = createAccountClients(cloud, null);
      closing.push(() => clients.destroy());
      const engine = quickEngine({
        store,
        clients: clients.base,
        catalog: createCatalog(),
        cloudLimits: { concurrency: 4, ratePerSecond: 1000, backoffMs: 50 },
      });
      const scanner = createScanner({
        store,
        clients,
        accounts: null,
        defaultRegion: REGION,
        defaultKubeContext: true,
        log: silentLog,
        gates: engine.gates,
      });
      sandbox.injectFault({ service: 's3', operation: 'ListBuckets', kind: 'throttle', count: 2 });
      sandbox.injectFault({
        service: 'ec2',
        operation: 'DescribeSecurityGroups',
        kind: 'throttle',
        count: 1,
      });
      const before = {
        s3: await metricValue('infraudit_cloud_throttled_total', { service: 's3' }),
        ec2: await metricValue('infraudit_cloud_throttled_total', { service: 'ec2' }),
      };
      const started = Date.now();
      const scan = await scanner.run({ trigger: 'manual', actor: 'token:admin' });

      expect(sandbox.faults()).toEqual([]);
      expect(scan.status).toBe('completed');
      expect(scan.summary?.couldNotRead).toEqual([]);
      expect(scan.units.every((u) => u.status === 'complete')).toBe(true);
      expect(scan.summary?.resources).toBeGreaterThan(0);
      expect(await metricValue('infraudit_cloud_throttled_total', { service: 's3' })).toBe(
        before.s3 + 2,
      );
      expect(await metricValue('infraudit_cloud_throttled_total', { service: 'ec2' })).toBe(
        before.ec2 + 1,
      );
      // Two pauses in a row on S3: at least half of 50 ms, then half of 100 ms.
      expect(Date.now() - started).toBeGreaterThanOrEqual(75);
    },
  );
});
