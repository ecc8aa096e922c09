import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CreateBucketCommand,
  DeleteBucketEncryptionCommand,
  GetBucketEncryptionCommand,
  PutBucketEncryptionCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import pino from 'pino';
import { createCatalog } from '../src/catalog/index.ts';
import { createCloudClients } from '../src/cloud/clients.ts';
import { createEngine } from '../src/engine/engine.ts';
import { startSandbox } from '../src/sandbox/server.ts';
import { createRemediationService } from '../src/service/remediation.ts';
import { openStore } from '../src/store/connect.ts';

/** One failed Prowler JSON-OCSF finding for a bucket without default encryption. */
function prowlerFinding(bucket: string) {
  const arn = `arn:aws:s3:::${bucket}`;
  return {
    metadata: { event_code: 's3_bucket_default_encryption', product: { name: 'Prowler' } },
    severity: 'Medium',
    status_code: 'FAIL',
    finding_info: { uid: `prowler-aws-s3_bucket_default_encryption-${bucket}`, title: 'No SSE' },
    resources: [{ uid: arn, name: bucket, region: 'us-east-1', type: 'AwsS3Bucket' }],
    cloud: { account: { uid: '111122223333' }, provider: 'aws', region: 'us-east-1' },
    class_uid: 2004,
  };
}

/** Runs `task(i)` for i in [0, n) with at most `width` in flight. */
export async function pool(n: number, width: number, task: (i: number) => Promise<void>) {
  let next = 0;
  const lane = async () => {
    while (next < n) await task(next++);
  };
  await Promise.all(Array.from({ length: width }, lane));
}

const notFound = (error: unknown) => {
  if ((error as Error).name !== 'ServerSideEncryptionConfigurationNotFoundError') throw error;
};

/**
 * Full lifecycle of `n` S3 encryption findings (import, live plan, approve, snapshot,
 * apply, verify) against the bare SDK making the same four calls per bucket with the
 * same concurrency, in the same run.
 */
export async function lifecycleBench(n: number, width: number) {
  const sandbox = await startSandbox({ seed: 'empty' });
  const cloud = {
    defaultRegion: 'us-east-1',
    endpoint: sandbox.url,
    s3ForcePathStyle: true,
    credentials: { accessKeyId: 'AKIABENCH', secretAccessKey: 'bench' },
  };
  const s3 = new S3Client({ region: 'us-east-1', ...cloud });
  const names = Array.from({ length: n }, (_, i) => `bench-bucket-${String(i).padStart(5, '0')}`);
  await pool(n, width, async (i) => {
    await s3.send(new CreateBucketCommand({ Bucket: names[i] }));
  });

  const encryption = {
    Rules: [{ ApplyServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' as const } }],
  };
  let started = performance.now();
  await pool(n, width, async (i) => {
    const Bucket = names[i]!;
    await s3.send(new GetBucketEncryptionCommand({ Bucket })).catch(notFound);
    await s3.send(new GetBucketEncryptionCommand({ Bucket })).catch(notFound);
    await s3.send(
      new PutBucketEncryptionCommand({ Bucket, ServerSideEncryptionConfiguration: encryption }),
    );
    await s3.send(new GetBucketEncryptionCommand({ Bucket }));
  });
  const bareSeconds = (performance.now() - started) / 1000;
  await pool(n, width, async (i) => {
    await s3.send(new DeleteBucketEncryptionCommand({ Bucket: names[i] }));
  });

  const dataDir = mkdtempSync(join(tmpdir(), 'infraudit-bench-'));
  const store = await openStore({ dataDir });
  const clients = createCloudClients(cloud);
  const catalog = createCatalog();
  const log = pino({ level: 'silent' });
  // The bare loop runs unthrottled with `width` calls in flight; the engine gets the same
  // bound, so the figure compares the product's own work and not its default rate limit.
  const engine = createEngine({
    store,
    clients,
    catalog,
    log,
    concurrency: width,
    pollMs: 5,
    cloudLimits: { concurrency: width, ratePerSecond: 100_000 },
  });
  const service = createRemediationService({ store, catalog, onWork: () => engine.wake() });
  await engine.start();
  await store.updateSettings({ autoExecute: true }, { actor: 'bench', now: new Date() });

  // The findings file a scanner would write, built before the clock starts.
  const findings = JSON.stringify(names.map((name) => prowlerFinding(name)));
  started = performance.now();
  const imported = await service.importFindings(findings, 'token:bench');
  const ids = imported.actions.map((a) => a.id);
  const tCreated = performance.now();
  await engine.idle();
  const tPlanned = performance.now();
  await pool(n, width, async (i) => {
    await service.approve(ids[i]!, 'token:bench-admin', 'benchmark');
  });
  const tApproved = performance.now();
  await engine.idle();
  if (process.env.BENCH_PHASES) {
    // Where the time went, for looking into the figure; not part of the report.
    const marks = [started, tCreated, tPlanned, tApproved, performance.now()];
    const names = ['import', 'plan', 'approve', 'execute'];
    const phases = names.map((name, i) => `${name} ${(marks[i + 1]! - marks[i]!).toFixed(0)}`);
    process.stderr.write(`phases ms: ${phases.join(' ')}\n`);
  }
  const productSeconds = (performance.now() - started) / 1000;

  const counts = await store.countByStatus();
  await engine.stop();
  await store.close();
  clients.destroy();
  s3.destroy();
  await sandbox.close();
  rmSync(dataDir, { recursive: true, force: true });
  if (counts.completed !== n) {
    throw new Error(`expected ${n} completed actions, got ${JSON.stringify(counts)}`);
  }
  return {
    actions: n,
    concurrency: width,
    bareSeconds,
    productSeconds,
    bareCallsPerSecond: (4 * n) / bareSeconds,
    actionsPerSecond: n / productSeconds,
    ratio: bareSeconds / productSeconds,
  };
}
