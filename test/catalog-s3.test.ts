import { existsSync } from 'node:fs';
import {
  CreateBucketCommand,
  GetBucketEncryptionCommand,
  GetBucketVersioningCommand,
  GetPublicAccessBlockCommand,
  PutBucketEncryptionCommand,
  PutBucketVersioningCommand,
  PutPublicAccessBlockCommand,
  S3Client,
  type S3ServiceException,
} from '@aws-sdk/client-s3';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createCatalog } from '../src/catalog/index.ts';
import type { Fix, FixContext, State } from '../src/catalog/fix.ts';
import { blockPublicAccess } from '../src/catalog/s3/block-public-access.ts';
import { enableDefaultEncryption } from '../src/catalog/s3/enable-default-encryption.ts';
import { enableVersioning } from '../src/catalog/s3/enable-versioning.ts';
import { type CloudClients, createCloudClients } from '../src/cloud/clients.ts';
import type { ResourceRef } from '../src/domain/action.ts';
import { AppError } from '../src/domain/errors.ts';
import { startSandbox, type Sandbox } from '../src/sandbox/index.ts';
import { contextWithoutLease } from '../src/engine/fix-context.ts';
import { DEFAULT_FIX_OPTIONS } from '../src/domain/fix-options.ts';
import { appliedSince, failure as failureOf, lastSeq } from './helpers/world.ts';

const INPUT = { params: {}, options: DEFAULT_FIX_OPTIONS };

const REGION = 'us-east-1';
const BUCKET = 'subject-bucket';

let sandbox: Sandbox;
let clients: CloudClients;
let s3: S3Client;
let ctx: FixContext;

function cloud(maxAttempts = 4) {
  return {
    defaultRegion: REGION,
    endpoint: sandbox.url,
    s3ForcePathStyle: true,
    credentials: { accessKeyId: 'AKIACATALOGTEST', secretAccessKey: 'catalog-secret' },
    maxAttempts,
  };
}

function bucket(name = BUCKET): ResourceRef {
  return {
    provider: 'aws',
    account: '111122223333',
    region: REGION,
    type: 'AwsS3Bucket',
    id: `arn:aws:s3:::${name}`,
    name,
  };
}

/** The error a call fails with. */
const failure = (call: Promise<unknown>) => failureOf<S3ServiceException>(call);

beforeEach(async () => {
  sandbox = await startSandbox({ seed: 'empty' });
  clients = createCloudClients(cloud());
  s3 = new S3Client({ region: REGION, ...cloud(), forcePathStyle: true });
  ctx = contextWithoutLease(clients, pino({ level: 'silent' }), INPUT);
  await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
});

afterEach(async () => {
  s3.destroy();
  clients.destroy();
  await sandbox.close();
});

/** Live configuration read straight through the SDK, absent configurations as null. */
const live = {
  async encryption() {
    try {
      const out = await s3.send(new GetBucketEncryptionCommand({ Bucket: BUCKET }));
      return out.ServerSideEncryptionConfiguration?.Rules ?? [];
    } catch (err) {
      if ((err as Error).name === 'ServerSideEncryptionConfigurationNotFoundError') return null;
      throw err;
    }
  },
  async publicAccessBlock() {
    try {
      const out = await s3.send(new GetPublicAccessBlockCommand({ Bucket: BUCKET }));
      return out.PublicAccessBlockConfiguration ?? null;
    } catch (err) {
      if ((err as Error).name === 'NoSuchPublicAccessBlockConfiguration') return null;
      throw err;
    }
  },
  async versioning() {
    const out = await s3.send(new GetBucketVersioningCommand({ Bucket: BUCKET }));
    return out.Status ?? null;
  },
};

const KMS_RULE = {
  ApplyServerSideEncryptionByDefault: {
    SSEAlgorithm: 'aws:kms' as const,
    KMSMasterKeyID: 'arn:aws:kms:us-east-1:111122223333:key/team',
  },
  BucketKeyEnabled: true,
};
const SSE_S3_RULE = {
  ApplyServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' },
  BucketKeyEnabled: false,
};
const ALL_BLOCKED = {
  BlockPublicAcls: true,
  IgnorePublicAcls: true,
  BlockPublicPolicy: true,
  RestrictPublicBuckets: true,
};
const SOME_BLOCKED = {
  BlockPublicAcls: true,
  IgnorePublicAcls: false,
  BlockPublicPolicy: true,
  RestrictPublicBuckets: false,
};

interface Scenario {
  name: string;
  fix: Fix;
  /** Puts the bucket in its starting configuration through the SDK. */
  setup(): Promise<void>;
  before: State;
  after: State;
  reversibility: 'full' | 'partial';
  /** What the SDK reads once the fix is applied, and once it is rolled back. */
  applied(): Promise<unknown>;
  appliedValue: unknown;
  restoredValue: unknown;
}

const SCENARIOS: Scenario[] = [
  {
    name: 'encryption on a bucket without any',
    fix: enableDefaultEncryption,
    setup: async () => {},
    before: { bucket: BUCKET, encryption: null },
    after: { bucket: BUCKET, encryption: { rules: [SSE_S3_RULE] } },
    reversibility: 'partial',
    applied: live.encryption,
    appliedValue: [SSE_S3_RULE],
    restoredValue: null,
  },
  {
    name: 'public access block on a bucket without one',
    fix: blockPublicAccess,
    setup: async () => {},
    before: { bucket: BUCKET, publicAccessBlock: null },
    after: { bucket: BUCKET, publicAccessBlock: ALL_BLOCKED },
    reversibility: 'full',
    applied: live.publicAccessBlock,
    appliedValue: ALL_BLOCKED,
    restoredValue: null,
  },
  {
    name: 'public access block on a bucket with some flags off',
    fix: blockPublicAccess,
    setup: async () => {
      await s3.send(
        new PutPublicAccessBlockCommand({
          Bucket: BUCKET,
          PublicAccessBlockConfiguration: SOME_BLOCKED,
        }),
      );
    },
    before: { bucket: BUCKET, publicAccessBlock: SOME_BLOCKED },
    after: { bucket: BUCKET, publicAccessBlock: ALL_BLOCKED },
    reversibility: 'full',
    applied: live.publicAccessBlock,
    appliedValue: ALL_BLOCKED,
    restoredValue: SOME_BLOCKED,
  },
  {
    name: 'versioning on a never-versioned bucket',
    fix: enableVersioning,
    setup: async () => {},
    before: { bucket: BUCKET, versioning: null },
    after: { bucket: BUCKET, versioning: 'Enabled' },
    reversibility: 'partial',
    applied: live.versioning,
    appliedValue: 'Enabled',
    restoredValue: 'Suspended',
  },
  {
    name: 'versioning on a suspended bucket',
    fix: enableVersioning,
    setup: async () => {
      await s3.send(
        new PutBucketVersioningCommand({
          Bucket: BUCKET,
          VersioningConfiguration: { Status: 'Suspended' },
        }),
      );
    },
    before: { bucket: BUCKET, versioning: 'Suspended' },
    after: { bucket: BUCKET, versioning: 'Enabled' },
    reversibility: 'full',
    applied: live.versioning,
    appliedValue: 'Enabled',
    restoredValue: 'Suspended',
  },
];

describe.each(SCENARIOS)('$fix.type: $name', (scenario) => {
  const { fix } = scenario;

  it('reads, plans, applies exactly the planned calls, and restores the snapshot', async () => {
    await scenario.setup();
    const resource = bucket();

    const state = await fix.read(ctx, resource);
    expect(state).toEqual(scenario.before);
    expect(fix.isCompliant(state, INPUT)).toBe(false);
    expect(fix.target(state, INPUT)).toEqual(scenario.after);
    expect(fix.reversibility(state, INPUT).level).toBe(scenario.reversibility);
    expect(fix.warnings(state, INPUT).length).toBeGreaterThan(0);
    const calls = fix.calls(resource, state, INPUT);
    const rollbackCalls = fix.rollbackCalls(resource, state, INPUT);
    expect(calls.length).toBeGreaterThan(0);
    expect(rollbackCalls.length).toBeGreaterThan(0);
    const snapshot = structuredClone(state);

    const beforeApply = lastSeq(sandbox);
    await fix.apply(ctx, resource, state);
    expect(appliedSince(sandbox, beforeApply)).toEqual(calls);
    expect(await scenario.applied()).toEqual(scenario.appliedValue);
    const after = await fix.read(ctx, resource);
    expect(after).toEqual(fix.target(snapshot, INPUT));
    expect(fix.isCompliant(after, INPUT)).toBe(true);

    const beforeRestore = lastSeq(sandbox);
    await fix.restore(ctx, resource, snapshot);
    expect(appliedSince(sandbox, beforeRestore)).toEqual(rollbackCalls);
    expect(await scenario.applied()).toEqual(scenario.restoredValue);
    const restored = await fix.read(ctx, resource);
    expect(fix.isRestored(restored, snapshot, INPUT)).toBe(true);
    if (scenario.reversibility === 'full') expect(restored).toEqual(snapshot);
  });

  it('propagates NoSuchBucket with its code from read and apply', async () => {
    const missing = bucket('missing-bucket');
    const readErr = await failure(fix.read(ctx, missing));
    expect(readErr.name).toBe('NoSuchBucket');
    expect(readErr.$metadata.httpStatusCode).toBe(404);
    expect(readErr.message).toBe('The specified bucket does not exist');

    const state = { ...scenario.before, bucket: 'missing-bucket' };
    const applyErr = await failure(fix.apply(ctx, missing, state));
    expect(applyErr.name).toBe('NoSuchBucket');
    expect(sandbox.mutations().filter((m) => m.resource === 'missing-bucket')).toEqual([]);
  });
});

describe('already compliant buckets', () => {
  const cases: { fix: Fix; setup(): Promise<unknown> }[] = [
    {
      fix: enableDefaultEncryption,
      setup: () =>
        s3.send(
          new PutBucketEncryptionCommand({
            Bucket: BUCKET,
            ServerSideEncryptionConfiguration: { Rules: [KMS_RULE] },
          }),
        ),
    },
    {
      fix: blockPublicAccess,
      setup: () =>
        s3.send(
          new PutPublicAccessBlockCommand({
            Bucket: BUCKET,
            PublicAccessBlockConfiguration: ALL_BLOCKED,
          }),
        ),
    },
    {
      fix: enableVersioning,
      setup: () =>
        s3.send(
          new PutBucketVersioningCommand({
            Bucket: BUCKET,
            VersioningConfiguration: { Status: 'Enabled' },
          }),
        ),
    },
  ];

  it.each(cases)('$fix.type is detected and changes nothing', async ({ fix, setup }) => {
    await setup();
    const resource = bucket();
    const state = await fix.read(ctx, resource);
    expect(fix.isCompliant(state, INPUT)).toBe(true);
    expect(fix.target(state, INPUT)).toEqual(state);
    expect(fix.calls(resource, state, INPUT)).toEqual([]);
    expect(fix.reversibility(state, INPUT).level).toBe('full');

    const seq = lastSeq(sandbox);
    await fix.apply(ctx, resource, state);
    expect(appliedSince(sandbox, seq)).toEqual([]);
  });
});

describe('s3.enable-default-encryption', () => {
  it('puts a snapshot configuration back exactly', async () => {
    const resource = bucket();
    const snapshot = { bucket: BUCKET, encryption: { rules: [KMS_RULE] } };
    await enableDefaultEncryption.restore(ctx, resource, snapshot);
    expect(await live.encryption()).toEqual([KMS_RULE]);
    expect(await enableDefaultEncryption.read(ctx, resource)).toEqual(snapshot);
    expect(enableDefaultEncryption.rollbackCalls(resource, snapshot, INPUT)).toEqual([
      {
        service: 's3',
        operation: 'PutBucketEncryption',
        parameters: { Bucket: BUCKET, ServerSideEncryptionConfiguration: { Rules: [KMS_RULE] } },
      },
    ]);
  });

  it('accepts S3 default SSE-S3 as restored when there was no configuration', () => {
    const none = { bucket: BUCKET, encryption: null };
    const fix = enableDefaultEncryption;
    expect(fix.isRestored(none, none, INPUT)).toBe(true);
    expect(
      fix.isRestored({ bucket: BUCKET, encryption: { rules: [SSE_S3_RULE] } }, none, INPUT),
    ).toBe(true);
    expect(fix.isRestored({ bucket: BUCKET, encryption: { rules: [KMS_RULE] } }, none, INPUT)).toBe(
      false,
    );
    expect(fix.reversibility(none, INPUT)).toMatchObject({
      level: 'partial',
      note: expect.stringContaining('SSE-S3'),
    });
  });

  it('lets errors other than a missing configuration through unchanged', async () => {
    clients.destroy();
    clients = createCloudClients(cloud(1));
    ctx = { ...ctx, clients };
    sandbox.injectFault({ operation: 'GetBucketEncryption', kind: 'error', count: 1 });
    const err = await failure(enableDefaultEncryption.read(ctx, bucket()));
    expect(err.name).toBe('InternalError');
    expect(err.$metadata.httpStatusCode).toBe(500);
  });
});

describe('snapshots', () => {
  it('refuses to restore a snapshot of another bucket, changing nothing', async () => {
    const seq = lastSeq(sandbox);
    const other = { bucket: 'another-bucket', publicAccessBlock: null };
    const err = await blockPublicAccess.restore(ctx, bucket(), other).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AppError);
    expect((err as AppError).code).toBe('invalid_input');
    expect((err as AppError).message).toContain('another-bucket');
    expect(appliedSince(sandbox, seq)).toEqual([]);
  });

  it('refuses a state that is not the fix shape, naming the field', () => {
    const bad = { bucket: BUCKET, versioning: 'On' };
    expect(() => enableVersioning.isCompliant(bad, INPUT)).toThrow(/"versioning".*"On"/);
    expect(() =>
      blockPublicAccess.isCompliant(
        { bucket: BUCKET, publicAccessBlock: { BlockPublicAcls: 1 } },
        INPUT,
      ),
    ).toThrow(/publicAccessBlock\.BlockPublicAcls/);
  });
});

describe('catalog', () => {
  it('registers the three S3 fixes by type', () => {
    const catalog = createCatalog();
    const s3 = catalog.all().filter((f) => f.service === 's3');
    expect(s3.map((f) => f.type)).toEqual([
      's3.enable-default-encryption',
      's3.block-public-access',
      's3.enable-versioning',
    ]);
    expect(catalog.get('s3.block-public-access')).toBe(blockPublicAccess);
    expect(catalog.get('s3.nothing')).toBeUndefined();
    for (const fix of s3) {
      expect(fix.resourceType).toBe('AwsS3Bucket');
      expect(fix.permissions.every((p) => p.startsWith('s3:'))).toBe(true);
    }
  });

  it('gives every fix in the catalog a unique type, a summary, permissions and a page', () => {
    const catalog = createCatalog();
    const types = catalog.all().map((f) => f.type);
    expect(new Set(types).size).toBe(types.length);
    for (const fix of catalog.all()) {
      expect(fix.type.startsWith(`${fix.service}.`) || fix.type.startsWith('k8s.')).toBe(true);
      expect(fix.summary.length).toBeGreaterThan(10);
      expect(fix.permissions.length).toBeGreaterThan(0);
      expect(existsSync(new URL(`../docs/fixes/${fix.type}.md`, import.meta.url))).toBe(true);
    }
  });

  it('titles each fix for its bucket', () => {
    const resource = bucket('finance-exports');
    expect(enableDefaultEncryption.title(resource, {})).toBe(
      'Enable default encryption on bucket finance-exports',
    );
    expect(blockPublicAccess.title(resource, {})).toBe(
      'Block public access on bucket finance-exports',
    );
    expect(enableVersioning.title(resource, {})).toBe(
      'Enable versioning on bucket finance-exports',
    );
  });

  it('refuses two fixes with one type', () => {
    expect(() => createCatalog([enableVersioning, enableVersioning])).toThrow(
      /s3.enable-versioning/,
    );
  });
});
