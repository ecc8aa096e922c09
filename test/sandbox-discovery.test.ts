import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ListAttachedUserPoliciesCommand,
  ListUserPoliciesCommand,
  ListUserTagsCommand,
  IAMClient,
} from '@aws-sdk/client-iam';
import { GetBucketTaggingCommand, ListBucketsCommand, S3Client } from '@aws-sdk/client-s3';
import { AssumeRoleCommand, GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { demoDocument } from '../src/sandbox/seed.ts';
import { type Sandbox, startSandbox } from '../src/sandbox/server.ts';
import { writeStateFile } from '../src/sandbox/state-file.ts';
import { OTHER, OTHER_REGION, ROLE, twoAccountSandbox } from './helpers/accounts.ts';
import { ACCOUNT, REGION, failure } from './helpers/world.ts';

const credentials = { accessKeyId: 'AKIASANDBOXDISCO', secretAccessKey: 'x' };

describe('sandbox reads for discovery', () => {
  let dir: string;
  let sandbox: Sandbox;
  let sts: STSClient;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'infraudit-sandbox-disco-'));
    sandbox = await twoAccountSandbox(dir);
    sts = new STSClient({ region: REGION, endpoint: sandbox.url, credentials, maxAttempts: 1 });
  });

  afterAll(async () => {
    sts?.destroy();
    await sandbox?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('assumes a role of another account, whose keys then act in that account', async () => {
    const assumed = await sts.send(
      new AssumeRoleCommand({ RoleArn: ROLE, RoleSessionName: 'scan', ExternalId: 'x' }),
    );
    expect(assumed.AssumedRoleUser?.Arn).toBe(
      `arn:aws:sts::${OTHER}:assumed-role/infraudit-scan/scan`,
    );
    const c = assumed.Credentials;
    expect(c?.AccessKeyId).toMatch(new RegExp(`^ASIA${OTHER}[A-Z0-9]{8}$`));
    expect(c?.Expiration?.getTime()).toBeGreaterThan(Date.now() + 3000_000);
    const role = {
      accessKeyId: c?.AccessKeyId as string,
      secretAccessKey: c?.SecretAccessKey as string,
      sessionToken: c?.SessionToken as string,
    };
    const asRole = new STSClient({ region: REGION, endpoint: sandbox.url, credentials: role });
    const s3 = new S3Client({
      region: OTHER_REGION,
      endpoint: sandbox.url,
      forcePathStyle: true,
      credentials: role,
    });
    try {
      expect((await asRole.send(new GetCallerIdentityCommand({}))).Account).toBe(OTHER);
      const buckets = await s3.send(new ListBucketsCommand({}));
      expect(buckets.Buckets?.map((b) => b.Name)).toEqual(['other-team-logs']);
      const tags = await s3.send(new GetBucketTaggingCommand({ Bucket: 'other-team-logs' }));
      expect(tags.TagSet).toEqual([{ Key: 'team', Value: 'other' }]);
    } finally {
      asRole.destroy();
      s3.destroy();
    }
    expect((await sts.send(new GetCallerIdentityCommand({}))).Account).toBe(ACCOUNT);
  });

  it.each([
    [{ RoleArn: 'arn:aws:iam::999988887777:role/x', RoleSessionName: 'sx' }, 'AccessDenied'],
    [{ RoleArn: 'not-an-arn', RoleSessionName: 'scan' }, 'ValidationError'],
    [{ RoleArn: ROLE, RoleSessionName: 'bad name!' }, 'ValidationError'],
    [{ RoleArn: ROLE, RoleSessionName: 'scan', DurationSeconds: 60 }, 'ValidationError'],
  ])('refuses AssumeRole %j', async (input, code) => {
    const error = await failure(sts.send(new AssumeRoleCommand(input)));
    expect(error.name).toBe(code);
    expect(sandbox.mutations()).toEqual([]);
  });

  it('answers NoSuchTagSet for a bucket without tags', async () => {
    const s3 = new S3Client({
      region: REGION,
      endpoint: sandbox.url,
      forcePathStyle: true,
      credentials,
    });
    try {
      const error = await failure(s3.send(new GetBucketTaggingCommand({ Bucket: 'audit-logs' })));
      expect(error.name).toBe('NoSuchTagSet');
    } finally {
      s3.destroy();
    }
  });
});

describe('sandbox IAM user details', () => {
  let dir: string;
  let sandbox: Sandbox;
  let iam: IAMClient;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'infraudit-sandbox-iam-'));
    const doc = demoDocument();
    const state = doc.accounts[ACCOUNT]?.iam as { users: Record<string, object> };
    Object.assign(state.users['j.rivera'] as object, {
      tags: { team: 'data', owner: 'j.rivera' },
      attachedPolicies: [
        { policyName: 'ReadOnlyAccess', policyArn: 'arn:aws:iam::aws:policy/ReadOnlyAccess' },
      ],
      inlinePolicies: ['s3-exports'],
    });
    await writeStateFile(join(dir, 'state.json'), doc);
    sandbox = await startSandbox({ statePath: join(dir, 'state.json') });
    iam = new IAMClient({ region: REGION, endpoint: sandbox.url, credentials, maxAttempts: 1 });
  });

  afterAll(async () => {
    iam?.destroy();
    await sandbox?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('lists tags and policies from the state, and nothing for a user without them', async () => {
    const tags = await iam.send(new ListUserTagsCommand({ UserName: 'j.rivera' }));
    expect(tags.Tags).toEqual([
      { Key: 'team', Value: 'data' },
      { Key: 'owner', Value: 'j.rivera' },
    ]);
    const attached = await iam.send(new ListAttachedUserPoliciesCommand({ UserName: 'j.rivera' }));
    expect(attached.AttachedPolicies).toEqual([
      { PolicyName: 'ReadOnlyAccess', PolicyArn: 'arn:aws:iam::aws:policy/ReadOnlyAccess' },
    ]);
    const inline = await iam.send(new ListUserPoliciesCommand({ UserName: 'j.rivera' }));
    expect(inline.PolicyNames).toEqual(['s3-exports']);
    const none = await iam.send(new ListUserTagsCommand({ UserName: 'deploy-bot' }));
    expect(none.Tags).toEqual([]);
    const missing = await failure(iam.send(new ListUserTagsCommand({ UserName: 'nobody' })));
    expect(missing.name).toBe('NoSuchEntityException');
  });

  it('refuses a state file with malformed user details, naming the field', async () => {
    const doc = demoDocument();
    const state = doc.accounts[ACCOUNT]?.iam as { users: Record<string, object> };
    Object.assign(state.users['j.rivera'] as object, { attachedPolicies: [{ name: 'x' }] });
    await writeStateFile(join(dir, 'bad.json'), doc);
    const error = await failure(startSandbox({ statePath: join(dir, 'bad.json') }));
    expect(error.message).toContain('j.rivera.attachedPolicies');
  });
});
