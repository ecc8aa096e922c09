import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PutPublicAccessBlockCommand } from '@aws-sdk/client-s3';
import { afterAll, describe, expect, it } from 'vitest';
import { createAccountClients } from '../src/cloud/accounts.ts';
import { type Baseline, driftOf } from '../src/drift/detect.ts';
import type { DriftChange } from '../src/drift/diff.ts';
import { withLastKnown } from '../src/inventory/last-known.ts';
import { createScanner } from '../src/inventory/scan.ts';
import type { IamAccountState } from '../src/sandbox/iam/state.ts';
import { startSandbox } from '../src/sandbox/server.ts';
import { createBaselineService } from '../src/service/baselines.ts';
import { createTestDatabase, ENGINES } from './helpers/databases.ts';
import { discovered } from './helpers/resources.ts';
import { scanSuite } from './helpers/scan-suite.ts';
import { ACCOUNT, REGION, silentLog } from './helpers/world.ts';

const BUCKET = 'finance-exports';
const BUCKET_ARN = `arn:aws:s3:::${BUCKET}`;
const USER_ARN = `arn:aws:iam::${ACCOUNT}:user/service/deploy-bot`;
const ADMIN = {
  policyName: 'AdministratorAccess',
  policyArn: 'arn:aws:iam::aws:policy/AdministratorAccess',
};
const OPTIONAL_READS = [
  { service: 's3', operation: 'GetBucketTagging' },
  { service: 'iam', operation: 'ListUserTags' },
  { service: 'iam', operation: 'ListAttachedUserPolicies' },
  { service: 'iam', operation: 'ListUserPolicies' },
];

/** The demo account with tags on a bucket and a user, and policies on that user. */
async function taggedDemo(dir: string): Promise<string> {
  const demo = await startSandbox({ seed: 'demo' });
  try {
    const doc = demo.state();
    const account = doc.accounts[ACCOUNT]!;
    const bucket = Object.values(account.regions)
      .map((r) => r.s3?.buckets[BUCKET])
      .find((b) => b !== undefined)!;
    bucket.tags = { owner: 'secops' };
    const user = (account.iam as IamAccountState).users['deploy-bot']!;
    user.tags = { team: 'platform' };
    user.attachedPolicies = [ADMIN];
    user.inlinePolicies = ['ecr-push'];
    const path = join(dir, 'state.json');
    await writeFile(path, JSON.stringify(doc));
    return path;
  } finally {
    await demo.close();
  }
}

describe('what an optional read missed', () => {
  const user = (tags: Record<string, string>, attachedPolicies: unknown) => ({
    ...discovered('AwsIamUser', 'deploy-bot', { userName: 'deploy-bot', attachedPolicies }, tags),
    unread: ['tags', 'attachedPolicies'],
  });

  it('takes the last known value, and stays unread where there is none', () => {
    expect(withLastKnown(user({}, null), { tags: { team: 'a' }, config: {} })).toEqual({
      ...user({ team: 'a' }, null),
      unread: ['attachedPolicies'],
    });
    const filled = withLastKnown(user({}, null), {
      tags: {},
      config: { attachedPolicies: [ADMIN] },
    });
    expect(filled.config.attachedPolicies).toEqual([ADMIN]);
    expect(filled.unread).toBeUndefined();
    expect(withLastKnown(user({}, null), undefined).unread).toEqual(['tags', 'attachedPolicies']);
  });

  it('is left out of the drift comparison, while the rest is compared', () => {
    const live = user({}, null);
    const baseline = {
      provider: 'aws',
      type: 'AwsIamUser',
      config: { userName: 'deploy-bot', attachedPolicies: [ADMIN] },
      tags: { team: 'a' },
    } as unknown as Baseline;
    expect(driftOf(live, baseline)).toEqual([]);
    const renamed = { ...live, config: { ...live.config, userName: 'other' } };
    expect(driftOf(renamed, baseline).map((c) => c.path)).toEqual(['userName']);
  });
});

for (const engine of ENGINES) {
  describe(`a failed optional read is no drift (${engine})`, () => {
    let dir: string | undefined;
    const suite = scanSuite(engine, async () => {
      dir = await mkdtemp(join(tmpdir(), 'infraudit-unread-'));
      return { statePath: await taggedDemo(dir) };
    });
    const { clock } = suite;
    afterAll(async () => {
      if (dir) await rm(dir, { recursive: true, force: true });
    });

    const scan = async () => {
      const run = await suite.scanner.run({ trigger: 'cli', actor: 'token:scanner' });
      expect(run.status).toBe('completed');
      return run;
    };
    const openDrift = async () =>
      (await suite.store.listFindings({ kind: ['drift'], status: ['open'], limit: 500 })).items;

    it('keeps the last known tags and policies, lists the failed reads, opens no drift', async () => {
      await scan();
      await createBaselineService({ store: suite.store, live: suite.scanner, clock }).promote(
        BUCKET_ARN,
        {
          actor: 'token:admin',
        },
      );
      const bucketBefore = await suite.store.getResource(BUCKET_ARN);
      const userBefore = await suite.store.getResource(USER_ARN);
      expect(bucketBefore?.tags).toEqual({ owner: 'secops' });
      expect(userBefore?.tags).toEqual({ team: 'platform' });
      expect(userBefore?.config.attachedPolicies).toEqual([ADMIN]);
      expect(await openDrift()).toEqual([]);

      for (const read of OPTIONAL_READS) {
        suite.sandbox.injectFault({ ...read, kind: 'error', probability: 1 });
      }
      try {
        const run = await scan();
        const missed = run.summary?.couldNotRead ?? [];
        for (const [operation, resourceId] of [
          ['GetBucketTagging', BUCKET_ARN],
          ['ListUserTags', USER_ARN],
          ['ListAttachedUserPolicies', USER_ARN],
          ['ListUserPolicies', USER_ARN],
        ]) {
          expect(missed).toContainEqual(expect.objectContaining({ operation, resourceId }));
        }
        expect(run.summary?.findings.opened).toBe(0);
        expect(await openDrift()).toEqual([]);
        const bucket = await suite.store.getResource(BUCKET_ARN);
        const user = await suite.store.getResource(USER_ARN);
        expect(bucket?.tags).toEqual(bucketBefore?.tags);
        expect([user?.tags, user?.config]).toEqual([userBefore?.tags, userBefore?.config]);
        // The user's key shares its tags: it keeps them too.
        const keys = await suite.store.listResources({ type: ['AwsIamAccessKey'], limit: 100 });
        const key = keys.items.find((k) => k.id.startsWith(`${USER_ARN}/accesskey/`));
        expect(key?.tags).toEqual({ team: 'platform' });
      } finally {
        suite.sandbox.clearFaults();
      }

      // What the scan could read is still judged while the tags are unreadable.
      suite.sandbox.injectFault({ ...OPTIONAL_READS[0]!, kind: 'error', probability: 1 });
      try {
        await suite.s3.send(
          new PutPublicAccessBlockCommand({
            Bucket: BUCKET,
            PublicAccessBlockConfiguration: {
              BlockPublicAcls: false,
              IgnorePublicAcls: true,
              BlockPublicPolicy: true,
              RestrictPublicBuckets: true,
            },
          }),
        );
        await scan();
      } finally {
        suite.sandbox.clearFaults();
      }
      const [found] = await openDrift();
      expect(found?.resource.id).toBe(BUCKET_ARN);
      const full = await suite.store.getFinding(found!.id);
      expect((full?.evidence as { changes: DriftChange[] }).changes.map((c) => c.path)).toEqual([
        'publicAccessBlock.blockPublicAcls',
      ]);
    }, 60_000);

    it('records no first baseline from a reading with a failed optional read', async () => {
      const fresh = await createTestDatabase(engine);
      const other = await fresh.open();
      const clients = createAccountClients(suite.cloud, null);
      try {
        const firstScanner = createScanner({
          store: other,
          clients,
          accounts: null,
          defaultRegion: REGION,
          defaultKubeContext: false,
          log: silentLog,
          clock,
        });
        suite.sandbox.injectFault({ ...OPTIONAL_READS[0]!, kind: 'error', probability: 1 });
        try {
          await firstScanner.run({ trigger: 'cli', actor: 'token:scanner' });
        } finally {
          suite.sandbox.clearFaults();
        }
        expect(await other.activeBaselines([BUCKET_ARN])).toEqual([]);
        expect((await other.getResource(BUCKET_ARN))?.tags).toEqual({});
        // Read in full, it gets its first baseline with its real tags, and no drift.
        await firstScanner.run({ trigger: 'cli', actor: 'token:scanner' });
        const [first] = await other.activeBaselines([BUCKET_ARN]);
        expect(first).toMatchObject({
          version: 1,
          reason: 'discovered',
          tags: { owner: 'secops' },
        });
        const drifts = await other.listFindings({ kind: ['drift'], status: ['open'], limit: 500 });
        expect(drifts.items).toEqual([]);
      } finally {
        clients.destroy();
        await other.close();
        await fresh.drop();
      }
    }, 60_000);
  });
}
