import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { createAccountClients } from '../src/cloud/accounts.ts';
import { createCloudLimiter } from '../src/engine/limits.ts';
import { createScanner } from '../src/inventory/scan.ts';
import { startSandbox } from '../src/sandbox/server.ts';
import { emptyDocument, writeStateFile } from '../src/sandbox/state-file.ts';
import type { BucketState, StateDocument } from '../src/sandbox/types.ts';
import { openStore } from '../src/store/connect.ts';

const ACCOUNT = '111122223333';
const REGION = 'us-east-1';
const VPC = 'vpc-0be0c0000000000a1';

const hex = (i: number, width: number) => i.toString(16).padStart(width, '0');
const alnum = (i: number, width: number) => i.toString(36).toUpperCase().padStart(width, '0');

/** Above the scanner's own concurrency (16 reads of one service per unit) and rate. */
export const SCAN_LIMITS = { concurrency: 64, ratePerSecond: 100_000 };

/**
 * An account of `n` resources: half buckets, three tenths security groups, the rest IAM
 * users with one access key each. Every second bucket lacks encryption and every fourth
 * group has SSH open to the world, so the checks have findings to write.
 */
function benchDocument(n: number): StateDocument {
  const doc = emptyDocument(ACCOUNT);
  const buckets = Math.floor(n / 2);
  const groups = Math.floor((n * 3) / 10);
  const users = Math.floor((n - buckets - groups) / 2);
  const created = '2024-01-01T00:00:00.000Z';
  const bucketState: Record<string, BucketState> = Object.fromEntries(
    Array.from({ length: buckets }, (_, i): [string, BucketState] => [
      `bench-bucket-${String(i).padStart(6, '0')}`,
      {
        createdAt: created,
        encryption:
          i % 2 === 0
            ? null
            : { Rules: [{ ApplyServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] },
        publicAccessBlock: {
          BlockPublicAcls: true,
          IgnorePublicAcls: true,
          BlockPublicPolicy: true,
          RestrictPublicBuckets: true,
        },
        versioning: 'Enabled',
      },
    ]),
  );
  const securityGroups = Array.from({ length: groups }, (_, i) => ({
    GroupId: `sg-${hex(i, 17)}`,
    GroupName: `bench-${i}`,
    Description: 'bench group',
    VpcId: VPC,
    IpPermissions: [
      {
        IpProtocol: 'tcp',
        FromPort: i % 4 === 0 ? 22 : 443,
        ToPort: i % 4 === 0 ? 22 : 443,
        IpRanges: [{ CidrIp: i % 4 === 0 ? '0.0.0.0/0' : '10.0.0.0/8' }],
      },
    ],
    IpPermissionsEgress: [{ IpProtocol: '-1', IpRanges: [{ CidrIp: '0.0.0.0/0' }] }],
  }));
  const recent = new Date(Date.now() - 5 * 86_400_000).toISOString();
  const iamUsers = Object.fromEntries(
    Array.from({ length: users }, (_, i) => [
      `bench-user-${i}`,
      {
        userId: `AIDA${alnum(i, 16)}`,
        path: '/',
        createDate: created,
        accessKeys: [
          {
            accessKeyId: `AKIA${alnum(i, 16)}`,
            status: 'Active',
            createDate: recent,
            lastUsed: { date: recent, serviceName: 's3', region: REGION },
          },
        ],
      },
    ]),
  );
  doc.accounts[ACCOUNT] = {
    regions: {
      [REGION]: {
        s3: { buckets: bucketState },
        ec2: { defaultVpcId: VPC, securityGroups, instances: [] },
      },
    },
    iam: { users: iamUsers, root: { createDate: created, accessKeys: [] } },
  };
  return doc;
}

/** Discovers, stores and judges an account of `n` resources on SQLite; twice. */
export async function scanBench(n: number) {
  const dir = mkdtempSync(join(tmpdir(), 'infraudit-bench-scan-'));
  const statePath = join(dir, 'state.json');
  await writeStateFile(statePath, benchDocument(n));
  const sandbox = await startSandbox({ statePath });
  const store = await openStore({ dataDir: join(dir, 'data') });
  const clients = createAccountClients(
    {
      defaultRegion: REGION,
      endpoint: sandbox.url,
      s3ForcePathStyle: true,
      credentials: { accessKeyId: 'AKIABENCH', secretAccessKey: 'bench' },
    },
    null,
  );
  try {
    const scanner = createScanner({
      store,
      clients,
      accounts: null,
      defaultRegion: REGION,
      defaultKubeContext: false,
      log: pino({ level: 'silent' }),
      // Scans pass the deployment's cloud call limits; lifted here, as the lifecycle bench
      // lifts them, so that what is measured is the scanner's own pace, not a configured rate.
      gates: createCloudLimiter(SCAN_LIMITS),
    });
    const timed = async () => {
      const started = performance.now();
      const run = await scanner.run({ trigger: 'cli', actor: 'bench' });
      const seconds = (performance.now() - started) / 1000;
      if (run.status !== 'completed' || !run.summary || run.summary.couldNotRead.length > 0) {
        throw new Error(`bench scan did not complete cleanly: ${JSON.stringify(run.summary)}`);
      }
      const summary = run.summary as NonNullable<typeof run.summary>;
      return { seconds, resources: summary.resources, opened: summary.findings.opened };
    };
    const first = await timed();
    const again = await timed();
    return {
      resources: first.resources,
      findings: first.opened,
      firstSeconds: first.seconds,
      firstPerSecond: first.resources / first.seconds,
      againSeconds: again.seconds,
      againPerSecond: again.resources / again.seconds,
    };
  } finally {
    clients.destroy();
    await store.close();
    await sandbox.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
