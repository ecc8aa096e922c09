import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetAccountSummaryCommand, IAMClient } from '@aws-sdk/client-iam';
import {
  CreateBucketCommand,
  DeleteBucketPolicyCommand,
  GetBucketPolicyCommand,
  GetBucketPolicyStatusCommand,
  PutBucketPolicyCommand,
  PutPublicAccessBlockCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isPublicPolicy } from '../src/sandbox/s3/public-policy.ts';
import { type Sandbox, startSandbox } from '../src/sandbox/server.ts';
import { ACCOUNT, REGION, failure } from './helpers/world.ts';

const credentials = { accessKeyId: 'AKIASANDBOXPOLICY', secretAccessKey: 'x' };

const statement = (over: Record<string, unknown>) => ({
  Effect: 'Allow',
  Principal: '*',
  Action: 's3:GetObject',
  Resource: 'arn:aws:s3:::b/*',
  ...over,
});
const policyOf = (...statements: object[]) =>
  JSON.stringify({ Version: '2012-10-17', Statement: statements });

describe('what makes a bucket policy public', () => {
  it('is a wildcard principal allowed without a narrowing condition', () => {
    expect(isPublicPolicy(JSON.parse(policyOf(statement({}))))).toBe(true);
    expect(isPublicPolicy({ Statement: statement({ Principal: { AWS: ['*'] } }) })).toBe(true);
    expect(isPublicPolicy({ Statement: [statement({ Effect: 'Deny' })] })).toBe(false);
    expect(
      isPublicPolicy({
        Statement: [statement({ Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` } })],
      }),
    ).toBe(false);
    const narrowed = (Condition: object) =>
      isPublicPolicy({ Statement: [statement({ Condition })] });
    expect(narrowed({ IpAddress: { 'aws:SourceIp': '203.0.113.0/24' } })).toBe(false);
    expect(narrowed({ StringEquals: { 'aws:SourceVpce': 'vpce-1a2b3c4d' } })).toBe(false);
    expect(narrowed({ IpAddress: { 'aws:SourceIp': '0.0.0.0/0' } })).toBe(true);
    expect(narrowed({ StringLike: { 'aws:PrincipalOrgID': 'o-*' } })).toBe(true);
    expect(narrowed({ StringEquals: { 's3:prefix': 'public/' } })).toBe(true);
  });
});

describe('sandbox bucket policies and the IAM account summary', () => {
  let dir: string;
  let sandbox: Sandbox;
  let s3: S3Client;
  let iam: IAMClient;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'infraudit-sandbox-policy-'));
    sandbox = await startSandbox({ seed: 'demo', statePath: join(dir, 'state.json') });
    s3 = new S3Client({
      region: REGION,
      endpoint: sandbox.url,
      forcePathStyle: true,
      credentials,
      maxAttempts: 1,
    });
    iam = new IAMClient({ region: REGION, endpoint: sandbox.url, credentials, maxAttempts: 1 });
  });

  afterAll(async () => {
    s3?.destroy();
    iam?.destroy();
    await sandbox?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('puts, reads, judges and deletes a bucket policy as S3 does', async () => {
    await s3.send(new CreateBucketCommand({ Bucket: 'policy-bucket' }));
    const none = await failure(
      s3.send(new GetBucketPolicyStatusCommand({ Bucket: 'policy-bucket' })),
    );
    expect(none.name).toBe('NoSuchBucketPolicy');
    expect(none.$metadata.httpStatusCode).toBe(404);
    expect(
      (await failure(s3.send(new GetBucketPolicyCommand({ Bucket: 'policy-bucket' })))).name,
    ).toBe('NoSuchBucketPolicy');

    const open = policyOf(statement({ Resource: 'arn:aws:s3:::policy-bucket/*' }));
    await s3.send(new PutBucketPolicyCommand({ Bucket: 'policy-bucket', Policy: open }));
    expect((await s3.send(new GetBucketPolicyCommand({ Bucket: 'policy-bucket' }))).Policy).toBe(
      open,
    );
    const status = await s3.send(new GetBucketPolicyStatusCommand({ Bucket: 'policy-bucket' }));
    expect(status.PolicyStatus).toEqual({ IsPublic: true });

    const narrowed = policyOf(
      statement({
        Resource: 'arn:aws:s3:::policy-bucket/*',
        Condition: { StringEquals: { 'aws:SourceVpce': 'vpce-1a2b3c4d' } },
      }),
    );
    await s3.send(new PutBucketPolicyCommand({ Bucket: 'policy-bucket', Policy: narrowed }));
    const private_ = await s3.send(new GetBucketPolicyStatusCommand({ Bucket: 'policy-bucket' }));
    expect(private_.PolicyStatus).toEqual({ IsPublic: false });

    await s3.send(new DeleteBucketPolicyCommand({ Bucket: 'policy-bucket' }));
    expect(
      (await failure(s3.send(new GetBucketPolicyStatusCommand({ Bucket: 'policy-bucket' })))).name,
    ).toBe('NoSuchBucketPolicy');
    expect(
      sandbox
        .mutations()
        .filter((m) => m.resource === 'policy-bucket')
        .map((m) => m.operation),
    ).toEqual(['CreateBucket', 'PutBucketPolicy', 'PutBucketPolicy', 'DeleteBucketPolicy']);
  });

  it('refuses a malformed policy, and a public one under BlockPublicPolicy, changing nothing', async () => {
    await s3.send(new CreateBucketCommand({ Bucket: 'blocked-bucket' }));
    const malformed = await failure(
      s3.send(new PutBucketPolicyCommand({ Bucket: 'blocked-bucket', Policy: 'not json' })),
    );
    expect([malformed.name, malformed.$metadata.httpStatusCode]).toEqual(['MalformedPolicy', 400]);
    await s3.send(
      new PutPublicAccessBlockCommand({
        Bucket: 'blocked-bucket',
        PublicAccessBlockConfiguration: { BlockPublicPolicy: true },
      }),
    );
    const denied = await failure(
      s3.send(
        new PutBucketPolicyCommand({
          Bucket: 'blocked-bucket',
          Policy: policyOf(statement({ Resource: 'arn:aws:s3:::blocked-bucket/*' })),
        }),
      ),
    );
    expect([denied.name, denied.$metadata.httpStatusCode]).toEqual(['AccessDenied', 403]);
    expect(
      (await failure(s3.send(new GetBucketPolicyCommand({ Bucket: 'blocked-bucket' })))).name,
    ).toBe('NoSuchBucketPolicy');
  });

  it('reports the demo bucket public through its policy, and keeps the policy when saved', async () => {
    const status = await s3.send(new GetBucketPolicyStatusCommand({ Bucket: 'public-assets' }));
    expect(status.PolicyStatus?.IsPublic).toBe(true);
    const other = await s3
      .send(new GetBucketPolicyStatusCommand({ Bucket: 'finance-exports' }))
      .catch((error: Error) => error.name);
    expect(other).toBe('NoSuchBucketPolicy');
    await sandbox.save();
    const saved = JSON.parse(await readFile(join(dir, 'state.json'), 'utf8'));
    const buckets = saved.accounts[ACCOUNT].regions[REGION].s3.buckets;
    expect(JSON.parse(buckets['public-assets'].policy).Statement[0].Principal).toBe('*');
  });

  it('summarizes the account, root access keys included', async () => {
    const summary = (await iam.send(new GetAccountSummaryCommand({}))).SummaryMap ?? {};
    expect(summary).toMatchObject({
      AccountAccessKeysPresent: 1,
      AccountMFAEnabled: 0,
      AccessKeysPerUserQuota: 2,
      Users: 6,
    });
  });
});
