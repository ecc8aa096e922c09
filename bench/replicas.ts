import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { createCatalog } from '../src/catalog/index.ts';
import { planFor } from '../src/engine/plan.ts';
import { startSandbox } from '../src/sandbox/server.ts';
import { openStore } from '../src/store/connect.ts';
import type { NewAction } from '../src/store/store.ts';
import { startReplica, type ReplicaProcess } from '../test/helpers/replicas.ts';

const REGION = 'us-east-1';
const ACCOUNT = '111122223333';
const TYPE = 's3.enable-default-encryption';
const ADMIN_URL = process.env.INFRAUDIT_TEST_PG ?? 'postgres://postgres@127.0.0.1:5432/test';

export interface ReplicaRun {
  replicas: number;
  seconds: number;
  actionsPerSecond: number;
  /** The shortest time the binding limit allows (see `ReplicasBench.limits`). */
  idealSeconds: number;
  /** Which limit sets the ideal. */
  bound: 'concurrency' | 'rate';
}

export interface ReplicasBench {
  actions: number;
  concurrency: number;
  latencyMs: number;
  /** The limits each replica runs under; the ideal comes from whichever binds. */
  limits: {
    /** Actions one engine runs at once. */
    engineConcurrency: number;
    /** Cloud calls in flight per account and service, per replica. */
    cloudConcurrency: number;
    /** Cloud calls started per second per account and service, per replica. */
    cloudRatePerSecond: number;
  };
  /** Cloud calls one action makes, one after another: read, apply, verify. */
  callsPerAction: number;
  runs: ReplicaRun[];
  /** Throughput of three replicas over one. */
  speedup: number;
}

/**
 * Executions on PostgreSQL by 1, 2 and 3 `infraudit serve` processes, with the sandbox
 * answering every cloud call after `latencyMs`. Each run gets a fresh database; the
 * replicas first read every plan, then the execute requests are queued and the clock runs
 * from the first request to the last settled action.
 */
export async function replicasBench(
  actions: number,
  concurrency: number,
  latencyMs = 100,
): Promise<ReplicasBench> {
  // Every action is on one account's S3, so one gate per replica carries all its calls.
  // The rate is set high enough that concurrency binds: the engine's own ceiling is what
  // is measured, and the ideal below says which limit binds all the same. The settings
  // are the deployment's, shared among the replicas, so each run passes these times its
  // replica count (the rate stays within the setting's maximum of 10,000 for 3 replicas).
  const limits = {
    engineConcurrency: concurrency,
    cloudConcurrency: concurrency * 2,
    cloudRatePerSecond: 3_000,
  };
  const sandbox = await startSandbox({ seed: 'empty' });
  const s3 = new S3Client({
    region: REGION,
    endpoint: sandbox.url,
    forcePathStyle: true,
    credentials: { accessKeyId: 'AKIABENCHREPLICAS', secretAccessKey: 'bench-secret' },
  });
  const runs: ReplicaRun[] = [];
  try {
    for (const replicas of [1, 2, 3]) {
      const name = `infraudit_bench_${process.pid}_${replicas}`;
      await admin(`CREATE DATABASE ${name}`);
      const url = new URL(`/${name}`, ADMIN_URL).toString();
      const store = await openStore({ databaseUrl: url, dataDir: tmpdir(), poolSize: 20 });
      const running: ReplicaProcess[] = [];
      try {
        const buckets = Array.from({ length: actions }, (_, i) => `bench-r${replicas}-${i}`);
        for (let i = 0; i < buckets.length; i += 100) {
          await Promise.all(
            buckets.slice(i, i + 100).map((Bucket) => s3.send(new CreateBucketCommand({ Bucket }))),
          );
        }
        const created = await store.createActions(buckets.map(newAction), {
          actor: 'bench:creator',
          now: new Date(),
          requireApproval: true,
        });
        const start = (i: number) =>
          startReplica({
            id: `bench-${replicas}-${i}`,
            databaseUrl: url,
            sandboxUrl: sandbox.url,
            env: {
              INFRAUDIT_LOG_LEVEL: 'error',
              INFRAUDIT_ENGINE_CONCURRENCY: String(concurrency),
              INFRAUDIT_ENGINE_POLL_MS: '50',
              // The engine's own ceiling is measured: the per-account gates stay out of it.
              INFRAUDIT_CLOUD_CONCURRENCY: String(limits.cloudConcurrency * replicas),
              INFRAUDIT_CLOUD_RATE_PER_SECOND: String(limits.cloudRatePerSecond * replicas),
              NODE_COMPILE_CACHE: path.join(tmpdir(), 'infraudit-bench-compile-cache'),
            },
          });
        running.push(await start(0));
        running.push(
          ...(await Promise.all(Array.from({ length: replicas - 1 }, (_, i) => start(i + 1)))),
        );
        // Plans are read (and approvals given) before the clock starts.
        for (;;) {
          const unplanned = await store.unplanned(1);
          if (unplanned.length === 0) break;
          await new Promise((r) => setTimeout(r, 100));
        }
        for (let i = 0; i < created.length; i += 50) {
          await Promise.all(
            created.slice(i, i + 50).map(({ action }) =>
              store.transition(action.id, 'approve', {
                actor: 'bench:approver',
                now: new Date(),
              }),
            ),
          );
        }

        sandbox.injectFault({
          service: '*',
          operation: '*',
          kind: 'latency',
          ms: latencyMs,
          probability: 1,
        });
        const started = performance.now();
        for (let i = 0; i < created.length; i += 50) {
          await Promise.all(
            created
              .slice(i, i + 50)
              .map(({ action }) =>
                store.request(action.id, 'execute', { actor: 'bench:approver', now: new Date() }),
              ),
          );
        }
        // Checked ten times a second: closer checks would take database time from the
        // replicas being measured, for a resolution this run does not need.
        for (;;) {
          const counts = await store.countByStatus();
          if ((counts.completed ?? 0) + (counts.failed ?? 0) >= actions) break;
          await new Promise((r) => setTimeout(r, 100));
        }
        const seconds = (performance.now() - started) / 1000;
        sandbox.clearFaults();
        const { idealSeconds, bound } = ideal(actions, replicas, latencyMs, limits);
        runs.push({ replicas, seconds, actionsPerSecond: actions / seconds, idealSeconds, bound });
      } finally {
        await Promise.all(running.map((r) => r.stop()));
        await store.close();
        await admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      }
    }
  } finally {
    s3.destroy();
    await sandbox.close();
  }
  return {
    actions,
    concurrency,
    latencyMs,
    limits,
    callsPerAction: CALLS_PER_ACTION,
    runs,
    speedup: runs[2]!.actionsPerSecond / runs[0]!.actionsPerSecond,
  };
}

// Read, apply and verify, one after another, each answered after the injected latency. The
// account guard's identity call is made once per replica and account, so it is left out.
const CALLS_PER_ACTION = 3;

/**
 * The shortest time for `actions` on `replicas`: either rounds of as many actions as may
 * run at once (the engine's slots, or the calls the cloud gate lets in flight, whichever
 * is fewer), each taking its calls' latency, or the calls spread at the rate limit.
 */
export function ideal(
  actions: number,
  replicas: number,
  latencyMs: number,
  limits: ReplicasBench['limits'],
): { idealSeconds: number; bound: ReplicaRun['bound'] } {
  const width = Math.min(limits.engineConcurrency, limits.cloudConcurrency) * replicas;
  const byConcurrency = (Math.ceil(actions / width) * CALLS_PER_ACTION * latencyMs) / 1000;
  const byRate = (actions * CALLS_PER_ACTION) / (limits.cloudRatePerSecond * replicas);
  return byRate > byConcurrency
    ? { idealSeconds: byRate, bound: 'rate' }
    : { idealSeconds: byConcurrency, bound: 'concurrency' };
}

function newAction(bucket: string): NewAction {
  const resource = {
    provider: 'aws' as const,
    account: ACCOUNT,
    region: REGION,
    type: 'AwsS3Bucket',
    id: `arn:aws:s3:::${bucket}`,
    name: bucket,
  };
  return {
    type: TYPE,
    title: `Enable default encryption on bucket ${bucket}`,
    resource,
    source: {
      kind: 'vulnerability',
      findingId: `bench-${bucket}`,
      title: 'S3 bucket has no default encryption',
      origin: 'prowler',
      checkId: 's3_bucket_default_encryption',
    },
    severity: 'medium',
    risk: 'low',
    // The replicas read the live state into the plan before the runs are timed.
    plan: planFor(createCatalog().get(TYPE)!, resource, null, null),
  };
}

async function admin(statement: string) {
  const client = new pg.Client({ connectionString: ADMIN_URL });
  await client.connect();
  try {
    await client.query(statement);
  } finally {
    await client.end();
  }
}
