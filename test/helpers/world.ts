import {
  CreateBucketCommand,
  GetBucketEncryptionCommand,
  PutBucketEncryptionCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import pino from 'pino';
import { createCatalog } from '../../src/catalog/index.ts';
import { type CloudClients, createCloudClients } from '../../src/cloud/clients.ts';
import { planFor } from '../../src/engine/plan.ts';
import { contextWithoutLease } from '../../src/engine/fix-context.ts';
import { DEFAULT_FIX_OPTIONS } from '../../src/domain/fix-options.ts';
import { type Sandbox, startSandbox } from '../../src/sandbox/server.ts';
import type { NewAction } from '../../src/store/store.ts';
import type { ResourceRef } from '../../src/domain/action.ts';

export const ACCOUNT = '111122223333';
export const REGION = 'us-east-1';
export const silentLog = pino({ level: process.env.INFRAUDIT_TEST_LOG ?? 'silent' });

/** A sandbox cloud on loopback and clients pointed at it the standard way. */
export async function startWorld() {
  const sandbox: Sandbox = await startSandbox({ seed: 'empty' });
  const cloud = {
    defaultRegion: REGION,
    endpoint: sandbox.url,
    s3ForcePathStyle: true,
    credentials: { accessKeyId: 'AKIASANDBOXTEST', secretAccessKey: 'sandbox-secret' },
    maxAttempts: 4,
  };
  const clients: CloudClients = createCloudClients(cloud);
  const s3 = new S3Client({ region: REGION, ...cloud });
  return {
    sandbox,
    clients,
    s3,
    catalog: createCatalog(),
    async close() {
      s3.destroy();
      clients.destroy();
      await sandbox.close();
    },
  };
}

export type World = Awaited<ReturnType<typeof startWorld>>;

/** A fix context outside any action, for driving a fix directly in a test. */
export function directContext(world: World, params: Record<string, unknown> = {}) {
  return contextWithoutLease(world.clients, silentLog, { params, options: DEFAULT_FIX_OPTIONS });
}

export function bucketRef(name: string): ResourceRef {
  return {
    provider: 'aws',
    account: ACCOUNT,
    region: REGION,
    type: 'AwsS3Bucket',
    id: `arn:aws:s3:::${name}`,
    name,
  };
}

export async function createBucket(world: World, name: string) {
  await world.s3.send(new CreateBucketCommand({ Bucket: name }));
}

export async function encryptionOf(world: World, bucket: string) {
  try {
    const out = await world.s3.send(new GetBucketEncryptionCommand({ Bucket: bucket }));
    return out.ServerSideEncryptionConfiguration ?? null;
  } catch (error) {
    if ((error as Error).name === 'ServerSideEncryptionConfigurationNotFoundError') return null;
    throw error;
  }
}

export async function encryptWithKms(world: World, bucket: string) {
  await world.s3.send(
    new PutBucketEncryptionCommand({
      Bucket: bucket,
      ServerSideEncryptionConfiguration: {
        Rules: [{ ApplyServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms', KMSMasterKeyID: 'alias/team' } }],
      },
    }),
  );
}

/** A new action for a catalog fix on a bucket, as an importer would create it. */
export function actionFor(world: World, type: string, bucket: string): NewAction {
  const fix = world.catalog.get(type);
  if (!fix) throw new Error(`no fix ${type}`);
  const resource = bucketRef(bucket);
  return {
    type,
    title: fix.title(resource, {}),
    resource,
    source: {
      kind: 'vulnerability',
      findingId: `finding-${type}-${bucket}`,
      title: fix.summary,
      origin: 'prowler',
      checkId: 'test',
    },
    severity: 'high',
    risk: fix.risk,
    plan: planFor(fix, resource, null, null),
  };
}
