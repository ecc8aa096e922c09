import {
  CreateBucketCommand,
  GetBucketEncryptionCommand,
  PutBucketEncryptionCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import pino from 'pino';
import { afterAll, afterEach, beforeAll, beforeEach, expect } from 'vitest';
import { type Catalog, createCatalog } from '../../src/catalog/index.ts';
import { type CloudClients, createCloudClients } from '../../src/cloud/clients.ts';
import { planFor } from '../../src/engine/plan.ts';
import { contextWithoutLease } from '../../src/engine/fix-context.ts';
import { AppError } from '../../src/domain/errors.ts';
import { DEFAULT_FIX_OPTIONS } from '../../src/domain/fix-options.ts';
import { type Sandbox, startSandbox } from '../../src/sandbox/server.ts';
import type { NewAction } from '../../src/store/store.ts';
import type { PlannedCall, ResourceRef } from '../../src/domain/action.ts';

export const ACCOUNT = '111122223333';
export const REGION = 'us-east-1';
export const silentLog = pino({ level: process.env.INFRAUDIT_TEST_LOG ?? 'silent' });

/**
 * Starts a fresh `start()` before each test of the file and closes it after; `use` receives it so
 * the file can keep it in its own variable.
 */
export function perTest<T extends { close(): Promise<void> }>(
  start: () => Promise<T>,
  use: (value: T) => void,
): void {
  let current: T | undefined;
  beforeEach(async () => {
    current = await start();
    use(current);
  });
  afterEach(async () => {
    await current?.close();
  });
}

/**
 * Starts `start()` once before the tests of the enclosing suite (the file, or the describe block
 * that calls this) and closes it after them all.
 */
export function perSuite<T extends { close(): Promise<void> }>(
  start: () => Promise<T>,
  use: (value: T) => void,
): void {
  let current: T | undefined;
  beforeAll(async () => {
    current = await start();
    use(current);
  });
  afterAll(async () => {
    await current?.close();
  });
}

/** The error a call fails with, typed as the caller expects; fails when the call succeeds. */
export async function failure<E = Error & Record<string, any>>(call: Promise<unknown>): Promise<E> {
  try {
    await call;
  } catch (err) {
    return err as E;
  }
  throw new Error('expected the call to fail, but it succeeded');
}

/** The AppError a promise is rejected with; fails the test on any other outcome. */
export async function appErrorOf(promise: Promise<unknown>): Promise<AppError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(AppError);
  return error as AppError;
}

/** The calls the sandbox applied after `seq`, in the plan's own terms. */
export function appliedSince(sandbox: Sandbox, seq: number): PlannedCall[] {
  return sandbox
    .mutations()
    .filter((m) => m.seq > seq)
    .map((m) => ({ service: m.service, operation: m.operation, parameters: m.params }));
}

export function lastSeq(sandbox: Sandbox): number {
  return sandbox.mutations().at(-1)?.seq ?? 0;
}

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

export async function encryptionOf(world: Pick<World, 's3'>, bucket: string) {
  try {
    const out = await world.s3.send(new GetBucketEncryptionCommand({ Bucket: bucket }));
    return out.ServerSideEncryptionConfiguration ?? null;
  } catch (error) {
    if ((error as Error).name === 'ServerSideEncryptionConfigurationNotFoundError') return null;
    throw error;
  }
}

export async function encryptWithKms(world: Pick<World, 's3'>, bucket: string) {
  await world.s3.send(
    new PutBucketEncryptionCommand({
      Bucket: bucket,
      ServerSideEncryptionConfiguration: {
        Rules: [
          {
            ApplyServerSideEncryptionByDefault: {
              SSEAlgorithm: 'aws:kms',
              KMSMasterKeyID: 'alias/team',
            },
          },
        ],
      },
    }),
  );
}

/** A new action for a catalog fix on a bucket, as an importer would create it. */
export function actionFor(world: World, type: string, bucket: string): NewAction {
  const finding = { origin: 'prowler', checkId: 'test' };
  return catalogAction(world.catalog, type, bucketRef(bucket), finding);
}

/** A new high-severity action for a catalog fix, from a finding of `origin` and `checkId`. */
export function catalogAction(
  catalog: Catalog,
  type: string,
  resource: ResourceRef,
  finding: { origin: string; checkId: string },
): NewAction {
  const fix = catalog.get(type);
  if (!fix) throw new Error(`no fix ${type}`);
  return {
    type,
    title: fix.title(resource, {}),
    resource,
    source: {
      kind: 'vulnerability',
      findingId: `finding-${type}-${resource.name}`,
      title: fix.summary,
      ...finding,
    },
    severity: 'high',
    risk: fix.risk,
    plan: planFor(fix, resource, null, null),
  };
}
