import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteBucketEncryptionCommand,
  DeletePublicAccessBlockCommand,
  GetBucketEncryptionCommand,
  GetBucketLocationCommand,
  GetBucketVersioningCommand,
  GetPublicAccessBlockCommand,
  HeadBucketCommand,
  ListBucketsCommand,
  PutBucketEncryptionCommand,
  type PutBucketEncryptionCommandInput,
  PutBucketVersioningCommand,
  PutPublicAccessBlockCommand,
  S3Client,
  type S3ServiceException,
} from '@aws-sdk/client-s3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startSandbox, type Sandbox, type StateDocument } from '../src/sandbox/index.ts';
import { failure as failureOf } from './helpers/world.ts';

const CREDENTIALS = { accessKeyId: 'AKIASANDBOXTEST', secretAccessKey: 'sandbox-secret' };

let sandbox: Sandbox;
const clients: S3Client[] = [];

function s3(region = 'us-east-1', extra: { maxAttempts?: number; accessKeyId?: string } = {}) {
  const client = new S3Client({
    endpoint: sandbox.url,
    forcePathStyle: true,
    region,
    credentials: { ...CREDENTIALS, accessKeyId: extra.accessKeyId ?? CREDENTIALS.accessKeyId },
    maxAttempts: extra.maxAttempts ?? 4,
  });
  clients.push(client);
  return client;
}

/** The error a call failed with; fails the test when the call succeeds. */
/** The error a call fails with. */
const failure = (call: Promise<unknown>) => failureOf<S3ServiceException>(call);

async function control(method: string, path: string, body?: unknown) {
  const res = await fetch(`${sandbox.url}/_sandbox/${path}`, {
    method,
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : undefined };
}

beforeEach(async () => {
  sandbox = await startSandbox({ faultSeed: 7 });
});

afterEach(async () => {
  for (const client of clients.splice(0)) client.destroy();
  await sandbox.close();
});

describe('buckets', () => {
  it('creates, lists, heads and deletes buckets', async () => {
    const client = s3();
    await client.send(new CreateBucketCommand({ Bucket: 'alpha-data' }));
    await s3('eu-west-1').send(new CreateBucketCommand({ Bucket: 'beta-data' }));

    const list = await client.send(new ListBucketsCommand({}));
    expect(list.Buckets?.map((b) => [b.Name, b.BucketRegion])).toEqual([
      ['alpha-data', 'us-east-1'],
      ['beta-data', 'eu-west-1'],
    ]);
    expect(list.Buckets?.[0]?.CreationDate).toBeInstanceOf(Date);
    expect(list.Owner?.ID).toMatch(/^[0-9a-f]{64}$/);

    const head = await client.send(new HeadBucketCommand({ Bucket: 'alpha-data' }));
    expect(head.BucketRegion).toBe('us-east-1');
    const location = await client.send(new GetBucketLocationCommand({ Bucket: 'beta-data' }));
    expect(location.LocationConstraint).toBe('eu-west-1');

    await client.send(new DeleteBucketCommand({ Bucket: 'alpha-data' }));
    const gone = await failure(client.send(new HeadBucketCommand({ Bucket: 'alpha-data' })));
    expect(gone.name).toBe('NotFound');
    expect(gone.$metadata.httpStatusCode).toBe(404);
  });

  it('pages ListBuckets with a prefix, a page size and a continuation token', async () => {
    const client = s3();
    for (const name of ['logs-a', 'logs-b', 'logs-c', 'other']) {
      await client.send(new CreateBucketCommand({ Bucket: name }));
    }
    const first = await client.send(new ListBucketsCommand({ Prefix: 'logs-', MaxBuckets: 2 }));
    expect(first.Buckets?.map((b) => b.Name)).toEqual(['logs-a', 'logs-b']);
    expect(first.ContinuationToken).toBeTruthy();
    const second = await client.send(
      new ListBucketsCommand({
        Prefix: 'logs-',
        MaxBuckets: 2,
        ContinuationToken: first.ContinuationToken,
      }),
    );
    expect(second.Buckets?.map((b) => b.Name)).toEqual(['logs-c']);
    expect(second.ContinuationToken).toBeUndefined();
  });

  it('creates buckets without encryption, public access block or versioning', async () => {
    const client = s3();
    await client.send(new CreateBucketCommand({ Bucket: 'fresh-bucket' }));

    const enc = await failure(
      client.send(new GetBucketEncryptionCommand({ Bucket: 'fresh-bucket' })),
    );
    expect(enc.name).toBe('ServerSideEncryptionConfigurationNotFoundError');
    expect(enc.$metadata.httpStatusCode).toBe(404);
    expect((enc as unknown as { BucketName: string }).BucketName).toBe('fresh-bucket');

    const pab = await failure(
      client.send(new GetPublicAccessBlockCommand({ Bucket: 'fresh-bucket' })),
    );
    expect(pab.name).toBe('NoSuchPublicAccessBlockConfiguration');
    expect(pab.$metadata.httpStatusCode).toBe(404);

    const versioning = await client.send(
      new GetBucketVersioningCommand({ Bucket: 'fresh-bucket' }),
    );
    expect(versioning.Status).toBeUndefined();
  });
});

describe('bucket configurations', () => {
  beforeEach(async () => {
    await s3().send(new CreateBucketCommand({ Bucket: 'config-bucket' }));
  });
  const Bucket = 'config-bucket';

  it('puts, reads and deletes default encryption for each algorithm', async () => {
    const client = s3();
    for (const SSEAlgorithm of ['AES256', 'aws:kms', 'aws:kms:dsse'] as const) {
      const KMSMasterKeyID =
        SSEAlgorithm === 'AES256' ? undefined : 'arn:aws:kms:us-east-1:1:key/k';
      const rule = {
        ApplyServerSideEncryptionByDefault: {
          SSEAlgorithm,
          ...(KMSMasterKeyID ? { KMSMasterKeyID } : {}),
        },
        BucketKeyEnabled: SSEAlgorithm !== 'AES256',
      };
      await client.send(
        new PutBucketEncryptionCommand({
          Bucket,
          ServerSideEncryptionConfiguration: { Rules: [rule] },
        }),
      );
      const out = await client.send(new GetBucketEncryptionCommand({ Bucket }));
      expect(out.ServerSideEncryptionConfiguration?.Rules).toEqual([rule]);
    }

    await client.send(new DeleteBucketEncryptionCommand({ Bucket }));
    const err = await failure(client.send(new GetBucketEncryptionCommand({ Bucket })));
    expect(err.name).toBe('ServerSideEncryptionConfigurationNotFoundError');
  });

  it('reports BucketKeyEnabled false when the rule did not set it, as S3 does', async () => {
    const client = s3();
    await client.send(
      new PutBucketEncryptionCommand({
        Bucket,
        ServerSideEncryptionConfiguration: {
          Rules: [{ ApplyServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
        },
      }),
    );
    const out = await client.send(new GetBucketEncryptionCommand({ Bucket }));
    expect(out.ServerSideEncryptionConfiguration?.Rules?.[0]?.BucketKeyEnabled).toBe(false);
  });

  it('puts, reads and deletes the public access block, omitted flags reading false', async () => {
    const client = s3();
    await client.send(
      new PutPublicAccessBlockCommand({
        Bucket,
        PublicAccessBlockConfiguration: { BlockPublicAcls: true, RestrictPublicBuckets: true },
      }),
    );
    const out = await client.send(new GetPublicAccessBlockCommand({ Bucket }));
    expect(out.PublicAccessBlockConfiguration).toEqual({
      BlockPublicAcls: true,
      IgnorePublicAcls: false,
      BlockPublicPolicy: false,
      RestrictPublicBuckets: true,
    });

    await client.send(new DeletePublicAccessBlockCommand({ Bucket }));
    const err = await failure(client.send(new GetPublicAccessBlockCommand({ Bucket })));
    expect(err.name).toBe('NoSuchPublicAccessBlockConfiguration');
  });

  it('enables and suspends versioning', async () => {
    const client = s3();
    for (const Status of ['Enabled', 'Suspended'] as const) {
      await client.send(
        new PutBucketVersioningCommand({ Bucket, VersioningConfiguration: { Status } }),
      );
      const out = await client.send(new GetBucketVersioningCommand({ Bucket }));
      expect(out.Status).toBe(Status);
    }
  });
});

describe('errors', () => {
  it('answers NoSuchBucket with 404 and the bucket name for every bucket operation', async () => {
    const client = s3();
    const Bucket = 'no-such-bucket';
    const calls = [
      () => client.send(new GetBucketEncryptionCommand({ Bucket })),
      () => client.send(new DeleteBucketEncryptionCommand({ Bucket })),
      () =>
        client.send(
          new PutBucketEncryptionCommand({
            Bucket,
            ServerSideEncryptionConfiguration: {
              Rules: [{ ApplyServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
            },
          }),
        ),
      () => client.send(new GetPublicAccessBlockCommand({ Bucket })),
      () =>
        client.send(
          new PutPublicAccessBlockCommand({
            Bucket,
            PublicAccessBlockConfiguration: { BlockPublicAcls: true },
          }),
        ),
      () => client.send(new DeletePublicAccessBlockCommand({ Bucket })),
      () => client.send(new GetBucketVersioningCommand({ Bucket })),
      () =>
        client.send(
          new PutBucketVersioningCommand({
            Bucket,
            VersioningConfiguration: { Status: 'Enabled' },
          }),
        ),
      () => client.send(new DeleteBucketCommand({ Bucket })),
    ];
    for (const call of calls) {
      const err = await failure(call());
      expect(err.name).toBe('NoSuchBucket');
      expect(err.$metadata.httpStatusCode).toBe(404);
      expect((err as unknown as { BucketName: string }).BucketName).toBe(Bucket);
    }
    expect(sandbox.mutations()).toEqual([]);
  });

  it('refuses bucket names S3 refuses', async () => {
    for (const Bucket of ['Upper-Case', 'ab', 'bad..dots', '192.168.1.1', 'xn--punycode']) {
      const err = await failure(s3().send(new CreateBucketCommand({ Bucket })));
      expect(err.name).toBe('InvalidBucketName');
      expect(err.$metadata.httpStatusCode).toBe(400);
    }
  });

  it('answers BucketAlreadyOwnedByYou outside North Virginia and 200 inside it', async () => {
    await s3('eu-west-1').send(new CreateBucketCommand({ Bucket: 'eu-bucket' }));
    const err = await failure(
      s3('eu-west-1').send(new CreateBucketCommand({ Bucket: 'eu-bucket' })),
    );
    expect(err.name).toBe('BucketAlreadyOwnedByYou');
    expect(err.$metadata.httpStatusCode).toBe(409);

    await s3().send(new CreateBucketCommand({ Bucket: 'us-bucket' }));
    const again = await s3().send(new CreateBucketCommand({ Bucket: 'us-bucket' }));
    expect(again.$metadata.httpStatusCode).toBe(200);
    expect(sandbox.mutations().map((m) => m.resource)).toEqual(['eu-bucket', 'us-bucket']);
  });

  it('keeps bucket names global across accounts', async () => {
    const other = '444455556666';
    const doc = sandbox.state();
    doc.accounts[other] = { accessKeyIds: ['AKIAOTHERACCOUNT'], regions: {} };
    expect((await control('PUT', 'state', doc)).status).toBe(204);
    await s3().send(new CreateBucketCommand({ Bucket: 'shared-name' }));

    const intruder = s3('us-east-1', { accessKeyId: 'AKIAOTHERACCOUNT' });
    const taken = await failure(intruder.send(new CreateBucketCommand({ Bucket: 'shared-name' })));
    expect(taken.name).toBe('BucketAlreadyExists');
    expect(taken.$metadata.httpStatusCode).toBe(409);
    const denied = await failure(
      intruder.send(new GetBucketVersioningCommand({ Bucket: 'shared-name' })),
    );
    expect(denied.name).toBe('AccessDenied');
    expect(denied.$metadata.httpStatusCode).toBe(403);
    const list = await intruder.send(new ListBucketsCommand({}));
    expect(list.Buckets ?? []).toEqual([]);
  });

  it('answers MalformedXML for configurations outside the schema', async () => {
    const client = s3();
    await client.send(new CreateBucketCommand({ Bucket: 'xml-bucket' }));
    const badAlgorithm = await failure(
      client.send(
        new PutBucketEncryptionCommand({
          Bucket: 'xml-bucket',
          ServerSideEncryptionConfiguration: {
            Rules: [{ ApplyServerSideEncryptionByDefault: { SSEAlgorithm: 'DES' as 'AES256' } }],
          },
        }),
      ),
    );
    expect(badAlgorithm.name).toBe('MalformedXML');
    expect(badAlgorithm.$metadata.httpStatusCode).toBe(400);

    const noRules = await failure(
      client.send(
        new PutBucketEncryptionCommand({
          Bucket: 'xml-bucket',
          ServerSideEncryptionConfiguration: { Rules: [] },
        }),
      ),
    );
    expect(noRules.name).toBe('MalformedXML');

    const raw = await fetch(`${sandbox.url}/xml-bucket?versioning`, {
      method: 'PUT',
      body: '<Versioning',
    });
    expect(raw.status).toBe(400);
    expect(await raw.text()).toContain('<Code>MalformedXML</Code>');
    expect(sandbox.mutations().map((m) => m.operation)).toEqual(['CreateBucket']);
  });

  it('refuses a KMS key on an AES256 rule with InvalidArgument', async () => {
    const client = s3();
    await client.send(new CreateBucketCommand({ Bucket: 'arg-bucket' }));
    const err = await failure(
      client.send(
        new PutBucketEncryptionCommand({
          Bucket: 'arg-bucket',
          ServerSideEncryptionConfiguration: {
            Rules: [
              {
                ApplyServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256', KMSMasterKeyID: 'k' },
              },
            ],
          },
        }),
      ),
    );
    expect(err.name).toBe('InvalidArgument');
    expect(err.$metadata.httpStatusCode).toBe(400);
  });

  it('redirects a request signed for another region than the bucket', async () => {
    await s3('eu-west-1').send(new CreateBucketCommand({ Bucket: 'eu-only' }));
    const err = await failure(
      s3('us-east-1').send(new GetBucketVersioningCommand({ Bucket: 'eu-only' })),
    );
    expect(err.name).toBe('PermanentRedirect');
    expect(err.$metadata.httpStatusCode).toBe(301);
  });

  it('checks Content-MD5 and answers NotImplemented for what it does not emulate', async () => {
    await s3().send(new CreateBucketCommand({ Bucket: 'raw-bucket' }));
    const body = '<VersioningConfiguration><Status>Enabled</Status></VersioningConfiguration>';
    const digest = await fetch(`${sandbox.url}/raw-bucket?versioning`, {
      method: 'PUT',
      headers: { 'content-md5': 'AAAAAAAAAAAAAAAAAAAAAA==' },
      body,
    });
    expect(digest.status).toBe(400);
    expect(await digest.text()).toContain('<Code>BadDigest</Code>');
    const crc = await fetch(`${sandbox.url}/raw-bucket?versioning`, {
      method: 'PUT',
      headers: { 'x-amz-checksum-crc32': 'AAAAAA==' },
      body,
    });
    expect(crc.status).toBe(400);
    expect(sandbox.mutations().map((m) => m.operation)).toEqual(['CreateBucket']);

    const cors = await fetch(`${sandbox.url}/raw-bucket?cors`);
    expect(cors.status).toBe(501);
    expect(await cors.text()).toContain('<Code>NotImplemented</Code>');
  });
});

describe('mutation log', () => {
  it('records each applied change once, with the SDK input as parameters', async () => {
    const client = s3();
    await client.send(new CreateBucketCommand({ Bucket: 'log-bucket' }));
    await client.send(new GetBucketVersioningCommand({ Bucket: 'log-bucket' }));
    const rule = { SSEAlgorithm: 'aws:kms' as const, KMSMasterKeyID: 'key-1' };
    const input: PutBucketEncryptionCommandInput = {
      Bucket: 'log-bucket',
      ServerSideEncryptionConfiguration: { Rules: [{ ApplyServerSideEncryptionByDefault: rule }] },
    };
    // The SDK adds ChecksumAlgorithm to the object it is given, so it gets a copy.
    await client.send(new PutBucketEncryptionCommand(structuredClone(input)));
    await failure(client.send(new GetBucketEncryptionCommand({ Bucket: 'missing-bucket' })));
    await client.send(new DeletePublicAccessBlockCommand({ Bucket: 'log-bucket' }));

    const log = sandbox.mutations();
    expect(log.map((m) => [m.seq, m.service, m.operation, m.resource])).toEqual([
      [1, 's3', 'CreateBucket', 'log-bucket'],
      [2, 's3', 'PutBucketEncryption', 'log-bucket'],
      [3, 's3', 'DeletePublicAccessBlock', 'log-bucket'],
    ]);
    expect(log[1]?.params).toEqual(input);
    expect(log[1]).toMatchObject({ account: '111122223333', region: 'us-east-1' });
    expect(Number.isNaN(Date.parse(log[0]?.at ?? ''))).toBe(false);

    const http = await control('GET', 'mutations');
    expect(http.json.mutations).toEqual(log);
    const since = await control('GET', 'mutations?since=2');
    expect(since.json.mutations.map((m: { seq: number }) => m.seq)).toEqual([3]);

    expect((await control('DELETE', 'mutations')).status).toBe(204);
    expect(sandbox.mutations()).toEqual([]);
    await client.send(new DeleteBucketEncryptionCommand({ Bucket: 'log-bucket' }));
    expect(sandbox.mutations().map((m) => m.seq)).toEqual([4]);
  });
});

describe('faults', () => {
  beforeEach(async () => {
    await s3().send(new CreateBucketCommand({ Bucket: 'fault-bucket' }));
    sandbox.clearMutations();
  });
  const enable = new PutBucketVersioningCommand({
    Bucket: 'fault-bucket',
    VersioningConfiguration: { Status: 'Enabled' },
  });

  it('throttles with SlowDown 503, which the SDK retries to success', async () => {
    sandbox.injectFault({ operation: 'PutBucketVersioning', kind: 'throttle', count: 2 });
    const out = await s3().send(enable);
    expect(out.$metadata.attempts).toBe(3);
    expect(sandbox.mutations().map((m) => m.operation)).toEqual(['PutBucketVersioning']);
    expect(sandbox.faults()).toEqual([]);
  }, 20_000);

  it('surfaces SlowDown once the SDK runs out of attempts', async () => {
    sandbox.injectFault({
      service: 's3',
      operation: 'PutBucketVersioning',
      kind: 'throttle',
      count: 5,
    });
    const err = await failure(s3('us-east-1', { maxAttempts: 2 }).send(enable));
    expect(err.name).toBe('SlowDown');
    expect(err.$metadata.httpStatusCode).toBe(503);
    expect(sandbox.mutations()).toEqual([]);
  }, 20_000);

  it('answers InternalError 500, retried by the SDK or surfaced without retries', async () => {
    sandbox.injectFault({ operation: 'GetBucketVersioning', kind: 'error', count: 1 });
    const retried = await s3().send(new GetBucketVersioningCommand({ Bucket: 'fault-bucket' }));
    expect(retried.$metadata.attempts).toBe(2);

    sandbox.injectFault({ operation: '*', kind: 'error', count: 1 });
    const err = await failure(s3('us-east-1', { maxAttempts: 1 }).send(enable));
    expect(err.name).toBe('InternalError');
    expect(err.$metadata.httpStatusCode).toBe(500);
    expect(sandbox.mutations()).toEqual([]);
  }, 20_000);

  it('can fail a call after applying it, as when a response is lost', async () => {
    sandbox.injectFault({ operation: 'PutBucketVersioning', kind: 'error', when: 'after' });
    const err = await failure(s3('us-east-1', { maxAttempts: 1 }).send(enable));
    expect(err.name).toBe('InternalError');
    const out = await s3().send(new GetBucketVersioningCommand({ Bucket: 'fault-bucket' }));
    expect(out.Status).toBe('Enabled');
    expect(sandbox.mutations()).toHaveLength(1);
  });

  it('delays calls by the injected latency', async () => {
    sandbox.injectFault({ operation: 'GetBucketVersioning', kind: 'latency', ms: 120, count: 1 });
    const started = performance.now();
    await s3().send(new GetBucketVersioningCommand({ Bucket: 'fault-bucket' }));
    expect(performance.now() - started).toBeGreaterThanOrEqual(115);
    expect(sandbox.faults()).toEqual([]);
  });

  it('fires by probability, replayably from the fault seed', async () => {
    sandbox.injectFault({ operation: 'GetBucketVersioning', kind: 'error', probability: 0.5 });
    const client = s3('us-east-1', { maxAttempts: 1 });
    let failed = 0;
    for (let i = 0; i < 40; i += 1) {
      try {
        await client.send(new GetBucketVersioningCommand({ Bucket: 'fault-bucket' }));
      } catch {
        failed += 1;
      }
    }
    expect(failed).toBeGreaterThan(0);
    expect(failed).toBeLessThan(40);
    expect(sandbox.faults()).toHaveLength(1);

    sandbox.clearFaults();
    sandbox.injectFault({ operation: 'GetBucketVersioning', kind: 'error', probability: 0 });
    const out = await client.send(new GetBucketVersioningCommand({ Bucket: 'fault-bucket' }));
    expect(out.$metadata.httpStatusCode).toBe(200);
  });

  it('is driven over the control API', async () => {
    const added = await control('POST', 'faults', [
      { operation: 'PutBucketVersioning', kind: 'throttle', count: 1 },
      { operation: 'GetBucketVersioning', kind: 'latency', ms: 5, probability: 1 },
    ]);
    expect(added.status).toBe(201);
    expect(added.json.faults).toHaveLength(2);
    expect((await control('GET', 'faults')).json.faults).toHaveLength(2);

    const err = await failure(s3('us-east-1', { maxAttempts: 1 }).send(enable));
    expect(err.name).toBe('SlowDown');
    expect((await control('GET', 'faults')).json.faults).toHaveLength(1);

    expect((await control('DELETE', 'faults')).status).toBe(204);
    expect(sandbox.faults()).toEqual([]);

    const bad = await control('POST', 'faults', { operation: 'X', kind: 'explode' });
    expect(bad.status).toBe(400);
    expect(bad.json.error).toContain('explode');
    const mixed = await control('POST', 'faults', [
      { operation: '*', kind: 'error' },
      { operation: '*', kind: 'latency' },
    ]);
    expect(mixed.status).toBe(400);
    expect(mixed.json.error).toContain('ms');
    expect(sandbox.faults()).toEqual([]);
  });
});

describe('state', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sandbox-state-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('saves the state as documented JSON and loads it back', async () => {
    const client = s3();
    await client.send(new CreateBucketCommand({ Bucket: 'kept-bucket' }));
    await client.send(
      new PutBucketEncryptionCommand({
        Bucket: 'kept-bucket',
        ServerSideEncryptionConfiguration: {
          Rules: [
            {
              ApplyServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms', KMSMasterKeyID: 'k9' },
            },
          ],
        },
      }),
    );
    await client.send(
      new PutBucketVersioningCommand({
        Bucket: 'kept-bucket',
        VersioningConfiguration: { Status: 'Suspended' },
      }),
    );
    await s3('eu-west-1').send(new CreateBucketCommand({ Bucket: 'kept-eu' }));
    const path = join(dir, 'nested', 'state.json');
    await sandbox.save(path);

    const doc = JSON.parse(await readFile(path, 'utf8')) as StateDocument;
    expect(doc.version).toBe(1);
    expect(doc.defaultAccount).toBe('111122223333');
    const regions = doc.accounts['111122223333']?.regions;
    expect(regions?.['us-east-1']?.s3?.buckets['kept-bucket']).toMatchObject({
      encryption: {
        Rules: [
          { ApplyServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms', KMSMasterKeyID: 'k9' } },
        ],
      },
      publicAccessBlock: null,
      versioning: 'Suspended',
    });
    expect(Object.keys(regions?.['eu-west-1']?.s3?.buckets ?? {})).toEqual(['kept-eu']);

    const reloaded = await startSandbox({ statePath: path, seed: 'demo' });
    try {
      expect(reloaded.state()).toEqual(sandbox.state());
      const other = new S3Client({
        endpoint: reloaded.url,
        forcePathStyle: true,
        region: 'us-east-1',
        credentials: CREDENTIALS,
      });
      clients.push(other);
      const versioning = await other.send(
        new GetBucketVersioningCommand({ Bucket: 'kept-bucket' }),
      );
      expect(versioning.Status).toBe('Suspended');
      await other.send(new DeleteBucketCommand({ Bucket: 'kept-bucket' }));
      await reloaded.save();
      const saved = JSON.parse(await readFile(path, 'utf8')) as StateDocument;
      const regions = saved.accounts['111122223333']?.regions ?? {};
      expect(regions['us-east-1']?.s3?.buckets['kept-bucket']).toBeUndefined();
      expect(Object.keys(regions['eu-west-1']?.s3?.buckets ?? {})).toEqual(['kept-eu']);
    } finally {
      await reloaded.close();
    }
  });

  it('seeds the demo account when the state file does not exist yet', async () => {
    const path = join(dir, 'missing.json');
    const demo = await startSandbox({ statePath: path, seed: 'demo' });
    try {
      const doc = demo.state();
      const buckets = doc.accounts['111122223333']?.regions['us-east-1']?.s3?.buckets ?? {};
      expect(buckets['finance-exports']?.encryption).toBeNull();
      expect(buckets['public-assets']?.publicAccessBlock).toBeNull();
      expect(buckets['audit-logs']).toMatchObject({
        versioning: null,
        publicAccessBlock: { BlockPublicAcls: true },
      });
      expect(buckets['audit-logs']?.encryption).not.toBeNull();
      expect(buckets['ml-training-data']).toMatchObject({
        encryption: null,
        publicAccessBlock: null,
        versioning: 'Suspended',
      });
      expect(buckets['app-config-prod']).toMatchObject({
        encryption: { Rules: [{ ApplyServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] },
        versioning: 'Enabled',
      });
      expect(Object.keys(buckets).length).toBeGreaterThanOrEqual(7);
      expect(demo.mutations()).toEqual([]);
    } finally {
      await demo.close();
    }
  });

  it('refuses a state file it cannot use, naming the field', async () => {
    const path = join(dir, 'bad.json');
    const doc = {
      version: 1,
      accounts: {
        '111122223333': {
          regions: { 'us-east-1': { s3: { buckets: { 'b-one': { versioning: 'On' } } } } },
        },
      },
    };
    await writeFile(path, JSON.stringify(doc));
    await expect(startSandbox({ statePath: path })).rejects.toThrow(
      /buckets\.b-one\.versioning must be "Enabled", "Suspended" or null, got "On"/,
    );
    await writeFile(path, '{ not json');
    await expect(startSandbox({ statePath: path })).rejects.toThrow(/is not valid JSON/);
  });

  it('refuses save() without a path when started without one', async () => {
    await expect(sandbox.save()).rejects.toThrow(/no state path/);
  });
});
