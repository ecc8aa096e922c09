import { CoreV1Api } from '@kubernetes/client-node';
import pino from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { FixContext } from '../src/catalog/fix.ts';
import { kubeCallOf, runKubeCall } from '../src/catalog/k8s/calls.ts';
import type { CloudClients } from '../src/cloud/clients.ts';
import { loadConfig } from '../src/config.ts';
import type { ResourceRef } from '../src/domain/action.ts';
import { createCloudLimiter, isThrottling, shareOf } from '../src/engine/limits.ts';
import { registry } from '../src/metrics/metrics.ts';
import { heldCluster, kubeClients, type HeldCluster } from './helpers/held-cluster.ts';

const silent = pino({ level: 'silent' });

/** A stand-in client per service that records how many calls it has in flight at once. */
function fakeClients(answer: (service: string, call: number) => Promise<unknown>) {
  const seen = { inFlight: 0, maxInFlight: 0, calls: 0, startedAt: [] as number[] };
  const client = (service: string) => ({
    async send() {
      seen.calls += 1;
      seen.inFlight += 1;
      seen.maxInFlight = Math.max(seen.maxInFlight, seen.inFlight);
      seen.startedAt.push(Date.now());
      try {
        return await answer(service, seen.calls);
      } finally {
        seen.inFlight -= 1;
      }
    },
  });
  const clients = {
    s3: () => client('s3'),
    ec2: () => client('ec2'),
    rds: () => client('rds'),
    iam: () => client('iam'),
    sts: () => client('sts'),
    kube: () => {
      throw new Error('not used');
    },
    destroy: () => {},
  } as unknown as CloudClients;
  return { clients, seen };
}

const resource = (account: string): ResourceRef => ({
  provider: 'aws',
  account,
  region: 'us-east-1',
  type: 'AwsS3Bucket',
  id: `arn:aws:s3:::b-${account}`,
  name: `b-${account}`,
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const send = (clients: CloudClients) =>
  (clients.s3('us-east-1') as unknown as { send(): Promise<unknown> }).send();

async function metricValue(name: string, labels: Record<string, string> = {}): Promise<number> {
  const metric = (await registry.getMetricsAsJSON()).find((m) => m.name === name);
  const values = (metric?.values ?? []) as { value: number; labels: Record<string, unknown> }[];
  return values
    .filter((v) => Object.entries(labels).every(([k, want]) => v.labels[k] === want))
    .reduce((sum, v) => sum + v.value, 0);
}

describe('cloud call limits', () => {
  it('keeps calls to one account and service within the concurrency limit', async () => {
    const { clients, seen } = fakeClients(() => sleep(20));
    const limiter = createCloudLimiter({ concurrency: 3, ratePerSecond: 1000 });
    const limited = limiter.clientsFor(clients, resource('111122223333'));
    await Promise.all(Array.from({ length: 20 }, () => send(limited)));
    expect(seen.calls).toBe(20);
    expect(seen.maxInFlight).toBe(3);
  });

  it('limits each account on its own', async () => {
    const { clients, seen } = fakeClients(() => sleep(20));
    const limiter = createCloudLimiter({ concurrency: 2, ratePerSecond: 1000 });
    const a = limiter.clientsFor(clients, resource('111122223333'));
    const b = limiter.clientsFor(clients, resource('444455556666'));
    await Promise.all([...Array.from({ length: 6 }, () => send(a)), send(b), send(b)]);
    expect(seen.maxInFlight).toBe(4);
  });

  it('spaces calls out to the rate limit after the first second of burst', async () => {
    const { clients, seen } = fakeClients(async () => 'ok');
    const limiter = createCloudLimiter({ concurrency: 50, ratePerSecond: 10 });
    const limited = limiter.clientsFor(clients, resource('111122223333'));
    await Promise.all(Array.from({ length: 15 }, () => send(limited)));
    // Ten tokens at once, then one every 100 ms: the fifteenth starts 400 ms or more later.
    const spread = seen.startedAt.at(-1)! - seen.startedAt[0]!;
    expect(spread).toBeGreaterThanOrEqual(390);
  });

  it('backs off after a throttling answer and tries again', async () => {
    const throttled = Object.assign(new Error('Rate exceeded'), {
      name: 'ThrottlingException',
      $fault: 'client',
      $metadata: { httpStatusCode: 400 },
    });
    const { clients, seen } = fakeClients(async (_service, call) => {
      if (call <= 2) throw throttled;
      return 'done';
    });
    const limiter = createCloudLimiter({ concurrency: 4, ratePerSecond: 100, backoffMs: 20 });
    const before = await metricValue('infraudit_cloud_throttled_total', { service: 's3' });
    const started = Date.now();
    expect(await send(limiter.clientsFor(clients, resource('111122223333')))).toBe('done');
    expect(seen.calls).toBe(3);
    // Two pauses of at least half of 20 ms and 40 ms.
    expect(Date.now() - started).toBeGreaterThanOrEqual(30);
    expect(await metricValue('infraudit_cloud_throttled_total', { service: 's3' })).toBe(
      before + 2,
    );
  });

  it('gives up on throttling after the retries and passes other errors on at once', async () => {
    const { clients, seen } = fakeClients(async (_service, call) => {
      if (call <= 10) throw Object.assign(new Error('slow down'), { name: 'SlowDown' });
      return 'never';
    });
    const limiter = createCloudLimiter({
      concurrency: 4,
      ratePerSecond: 100,
      backoffMs: 1,
      throttleRetries: 2,
    });
    const limited = limiter.clientsFor(clients, resource('111122223333'));
    await expect(send(limited)).rejects.toThrow('slow down');
    expect(seen.calls).toBe(3);

    const denied = fakeClients(async () => {
      throw Object.assign(new Error('Access Denied'), { name: 'AccessDenied' });
    });
    const before = await metricValue('infraudit_cloud_errors_total', { code: 'AccessDenied' });
    await expect(
      send(limiter.clientsFor(denied.clients, resource('111122223333'))),
    ).rejects.toThrow('Access Denied');
    expect(denied.seen.calls).toBe(1);
    expect(await metricValue('infraudit_cloud_errors_total', { code: 'AccessDenied' })).toBe(
      before + 1,
    );
  });

  it('refuses every call once halted, waking the ones that wait and aborting the one sent', async () => {
    const signals: AbortSignal[] = [];
    const client = {
      send(_command: unknown, options: { abortSignal: AbortSignal }) {
        signals.push(options.abortSignal);
        // Answers only when aborted, as a call to an unresponsive cloud would.
        return new Promise((_resolve, reject) =>
          options.abortSignal.addEventListener('abort', () => reject(new Error('aborted'))),
        );
      },
    };
    const clients = { s3: () => client } as unknown as CloudClients;
    const limiter = createCloudLimiter({ concurrency: 1, ratePerSecond: 100 });
    const limited = limiter.clientsFor(clients, resource('111122223333'));
    const first = send(limited);
    const waiting = send(limited);
    await sleep(10);
    expect(signals).toHaveLength(1);
    limiter.halt();
    await expect(first).rejects.toThrow(/shutting down/);
    await expect(waiting).rejects.toThrow(/shutting down/);
    await expect(send(limited)).rejects.toThrow(/shutting down/);
    expect(signals).toHaveLength(1);
    expect(signals[0]!.aborted).toBe(true);
  });

  it('aborts the Kubernetes requests in flight once halted', async () => {
    // A cluster that accepts requests and never answers them.
    const cluster = await heldCluster();
    try {
      const limiter = createCloudLimiter({ concurrency: 1, ratePerSecond: 100 });
      const core = limiter
        .clientsFor(kubeClients({ ctx: cluster }), resource('ctx'))
        .kube('ctx')
        .makeApiClient(CoreV1Api);
      const pending = core.listNamespace();
      await vi.waitFor(() => expect(cluster.held).toHaveLength(1));
      limiter.halt();
      await expect(pending).rejects.toThrow();
      await expect(core.listNamespace()).rejects.toThrow(/shutting down/);
      expect(cluster.seen.requests).toBe(1);
    } finally {
      await cluster.close();
    }
  });

  it('recognises the throttling answers of AWS services', () => {
    expect(isThrottling({ name: 'Throttling' })).toBe(true);
    expect(isThrottling({ Code: 'RequestLimitExceeded' })).toBe(true);
    expect(isThrottling({ name: 'X', $metadata: { httpStatusCode: 429 } })).toBe(true);
    expect(isThrottling({ name: 'InternalError', $metadata: { httpStatusCode: 500 } })).toBe(false);
    expect(isThrottling(undefined)).toBe(false);
  });
});

describe('a replica share of the cloud call limits', () => {
  it('divides the configured values among the live replicas, never below one', () => {
    const configured = { concurrency: 8, ratePerSecond: 20, throttleRetries: 2 };
    expect(shareOf(configured, 1)).toEqual(configured);
    expect(shareOf(configured, 2)).toEqual({ ...configured, concurrency: 4, ratePerSecond: 10 });
    // Concurrency rounds down, so the replicas together stay within it.
    expect(shareOf(configured, 3)).toMatchObject({ concurrency: 2, ratePerSecond: 20 / 3 });
    expect(shareOf(configured, 8)).toMatchObject({ concurrency: 1, ratePerSecond: 2.5 });
    expect(shareOf(configured, 50)).toMatchObject({ concurrency: 1, ratePerSecond: 1 });
    // No count read yet (or a nonsense one) means this replica alone.
    for (const n of [0, -3, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(shareOf(configured, n)).toEqual(configured);
    }
  });

  it('binds the calls in flight to the share, and lets waiting calls start when it grows', async () => {
    const pending: (() => void)[] = [];
    const { clients, seen } = fakeClients(
      () => new Promise<void>((resolve) => pending.push(resolve)),
    );
    const limiter = createCloudLimiter({ concurrency: 4, ratePerSecond: 1000 });
    limiter.setReplicas(2);
    expect(limiter.current()).toMatchObject({ concurrency: 2, ratePerSecond: 500 });
    const limited = limiter.clientsFor(clients, resource('111122223333'));
    const calls = Array.from({ length: 6 }, () => send(limited));
    await vi.waitFor(() => expect(pending).toHaveLength(2));
    expect(seen.inFlight).toBe(2);

    // The other replica left: the calls already waiting start at once, up to the whole.
    limiter.setReplicas(1);
    await vi.waitFor(() => expect(pending).toHaveLength(4));
    while (pending.length > 0) pending.shift()!();
    await vi.waitFor(() => expect(pending).toHaveLength(2));
    while (pending.length > 0) pending.shift()!();
    await Promise.all(calls);
    expect(seen).toMatchObject({ calls: 6, maxInFlight: 4 });
  });
});

const NAMESPACES = { kind: 'NamespaceList', apiVersion: 'v1', metadata: {}, items: [] };
const patchWeb = kubeCallOf('patchNamespacedDeployment', {
  name: 'web',
  namespace: 'shop',
  contentType: 'application/merge-patch+json',
  body: { metadata: { labels: { fixed: 'yes' } } },
});
const DEPLOYMENT = {
  kind: 'Deployment',
  apiVersion: 'apps/v1',
  metadata: { name: 'web', namespace: 'shop' },
};

describe('Kubernetes calls through the cloud call limits', () => {
  const clusters: HeldCluster[] = [];
  afterEach(async () => {
    await Promise.all(clusters.splice(0).map((c) => c.close()));
  });

  /** Answers the held requests one at a time until `total` were answered. */
  async function drain(cluster: HeldCluster, total: number, body: unknown, bound: number) {
    for (let answered = 0; answered < total; answered += 1) {
      await vi.waitFor(() => expect(cluster.held).toHaveLength(Math.min(bound, total - answered)));
      cluster.answer(body);
    }
  }

  it('keeps the requests to one kube context within the concurrency limit', async () => {
    const cluster = await heldCluster();
    clusters.push(cluster);
    const limiter = createCloudLimiter({ concurrency: 2, ratePerSecond: 1000 });
    const kube = limiter.clientsFor(kubeClients({ prod: cluster }), resource('prod'));
    const core = kube.kube('prod').makeApiClient(CoreV1Api);
    const calls = Array.from({ length: 6 }, () => core.listNamespace());
    await drain(cluster, 6, NAMESPACES, 2);
    await Promise.all(calls);
    expect(cluster.seen).toMatchObject({ requests: 6, maxInFlight: 2 });
  });

  it('gates the patches a fix makes, each kube context on its own, at the replica share', async () => {
    const a = await heldCluster();
    const b = await heldCluster();
    clusters.push(a, b);
    const limiter = createCloudLimiter({ concurrency: 2, ratePerSecond: 1000 });
    // Two live replicas: one request in flight per context on this one.
    limiter.setReplicas(2);
    const clients = limiter.clientsFor(kubeClients({ a, b }), {
      ...resource('a'),
      provider: 'kubernetes',
    });
    const ctx = { clients, log: silent } as unknown as FixContext;
    const calls = [
      ...Array.from({ length: 3 }, () => runKubeCall(ctx, 'a', patchWeb)),
      ...Array.from({ length: 3 }, () => runKubeCall(ctx, 'b', patchWeb)),
    ];
    await Promise.all([drain(a, 3, DEPLOYMENT, 1), drain(b, 3, DEPLOYMENT, 1)]);
    expect(await Promise.all(calls)).toEqual(Array(6).fill({ warnings: [] }));
    expect(a.seen).toMatchObject({ requests: 3, maxInFlight: 1 });
    expect(b.seen).toMatchObject({ requests: 3, maxInFlight: 1 });
  });

  it('pauses a kube context after a 429, and lets the Kubernetes client try again through it', async () => {
    const cluster = await heldCluster();
    clusters.push(cluster);
    const throttled = await metricValue('infraudit_cloud_throttled_total', {
      service: 'kubernetes',
    });
    const limiter = createCloudLimiter({ concurrency: 1, ratePerSecond: 1000, backoffMs: 10 });
    const clients = limiter.clientsFor(kubeClients({ a: cluster }), resource('a'));
    const ctx = { clients, log: silent } as unknown as FixContext;
    const patching = runKubeCall(ctx, 'a', patchWeb);
    await vi.waitFor(() => expect(cluster.held).toHaveLength(1));
    cluster.answer({ kind: 'Status', reason: 'TooManyRequests', message: 'slow down' }, 429);
    await vi.waitFor(() => expect(cluster.held).toHaveLength(1));
    cluster.answer(DEPLOYMENT);
    expect(await patching).toEqual({ warnings: [] });
    expect(cluster.seen.requests).toBe(2);
    expect(await metricValue('infraudit_cloud_throttled_total', { service: 'kubernetes' })).toBe(
      throttled + 1,
    );
  });
});

describe('replica settings', () => {
  it('reads the replica and guard-rail settings with their defaults', () => {
    const config = loadConfig({}, '/tmp');
    expect(config.replicaId).toBeUndefined();
    expect(config.shutdownGraceMs).toBe(25_000);
    expect(config.maxExecutionsPerHour).toBe(0);
    expect(config.maxExecutionsPerHourPerAccount).toBe(0);
    expect(config.cloudConcurrency).toBe(8);
    expect(config.cloudRatePerSecond).toBe(20);
    const set = loadConfig(
      {
        INFRAUDIT_REPLICA_ID: ' infraudit-0 ',
        INFRAUDIT_SHUTDOWN_GRACE_MS: '5000',
        INFRAUDIT_MAX_EXECUTIONS_PER_HOUR: '100',
        INFRAUDIT_MAX_EXECUTIONS_PER_HOUR_PER_ACCOUNT: '20',
        INFRAUDIT_CLOUD_CONCURRENCY: '2',
        INFRAUDIT_CLOUD_RATE_PER_SECOND: '5',
      },
      '/tmp',
    );
    expect(set).toMatchObject({
      replicaId: 'infraudit-0',
      shutdownGraceMs: 5000,
      maxExecutionsPerHour: 100,
      maxExecutionsPerHourPerAccount: 20,
      cloudConcurrency: 2,
      cloudRatePerSecond: 5,
    });
  });

  it.each([
    ['INFRAUDIT_SHUTDOWN_GRACE_MS', '-1'],
    ['INFRAUDIT_MAX_EXECUTIONS_PER_HOUR', 'lots'],
    ['INFRAUDIT_MAX_EXECUTIONS_PER_HOUR_PER_ACCOUNT', '1.5'],
    ['INFRAUDIT_CLOUD_CONCURRENCY', '0'],
    ['INFRAUDIT_CLOUD_RATE_PER_SECOND', '100000'],
  ])('refuses %s=%s with a message naming the setting', (name, value) => {
    expect(() => loadConfig({ [name]: value }, '/tmp')).toThrow(
      new RegExp(`^${name} must be a whole number from`),
    );
  });
});
