import { AuthorizeSecurityGroupIngressCommand, EC2Client } from '@aws-sdk/client-ec2';
import { CreateAccessKeyCommand, DeleteAccessKeyCommand, IAMClient } from '@aws-sdk/client-iam';
import { PutBucketPolicyCommand, PutPublicAccessBlockCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCatalog } from '../src/catalog/index.ts';
import { createAccountClients } from '../src/cloud/accounts.ts';
import type { CloudClients, CloudConfig } from '../src/cloud/clients.ts';
import type { Finding } from '../src/domain/finding.ts';
import type { DriftChange } from '../src/drift/diff.ts';
import { createScanner } from '../src/inventory/scan.ts';
import { DEMO_GROUPS } from '../src/sandbox/ec2/seed.ts';
import { type Sandbox, startSandbox } from '../src/sandbox/server.ts';
import { createBaselineService } from '../src/service/baselines.ts';
import { createRemediationService } from '../src/service/remediation.ts';
import type { Store } from '../src/store/store.ts';
import { actionWhen, quickEngine } from './helpers/actions.ts';
import { createTestDatabase, ENGINES, type TestDatabase } from './helpers/databases.ts';
import { ACCOUNT, REGION, appErrorOf, silentLog } from './helpers/world.ts';

const SG_ARN = `arn:aws:ec2:${REGION}:${ACCOUNT}:security-group/${DEMO_GROUPS.appTier}`;
const BUCKET = 'app-config-prod';
const BUCKET_ARN = `arn:aws:s3:::${BUCKET}`;
const FULL_BLOCK = {
  BlockPublicAcls: true,
  IgnorePublicAcls: true,
  BlockPublicPolicy: true,
  RestrictPublicBuckets: true,
};

for (const engine of ENGINES) {
  describe(`drift of a sandbox account changed through the SDK (${engine})`, () => {
    let sandbox: Sandbox;
    let database: TestDatabase;
    let store: Store;
    let ec2: EC2Client;
    let s3: S3Client;
    let scan: () => Promise<NonNullable<Awaited<ReturnType<Store['getScan']>>>>;
    let destroyClients: () => void;
    let clientsOf: () => CloudClients;
    let scanner: ReturnType<typeof createScanner>;
    let cloud: CloudConfig;
    let tick = 0;
    // The demo seeds date keys from the real time; scans and actions stamp by it too.
    const clock = () => new Date(Date.now() + tick++);

    beforeAll(async () => {
      sandbox = await startSandbox({ seed: 'demo' });
      database = await createTestDatabase(engine);
      store = await database.open();
      cloud = {
        defaultRegion: REGION,
        endpoint: sandbox.url,
        s3ForcePathStyle: true,
        credentials: { accessKeyId: 'AKIASANDBOXTEST', secretAccessKey: 'sandbox-secret' },
        maxAttempts: 2,
      };
      const clients = createAccountClients(cloud, null);
      clientsOf = () => clients.base;
      destroyClients = () => clients.destroy();
      ec2 = new EC2Client({ region: REGION, ...cloud });
      s3 = new S3Client({ region: REGION, ...cloud });
      scanner = createScanner({
        store,
        clients,
        accounts: null,
        defaultRegion: REGION,
        defaultKubeContext: false,
        log: silentLog,
        clock,
      });
      scan = async () => {
        const run = await scanner.run({ trigger: 'cli', actor: 'token:scanner' });
        expect(run.status).toBe('completed');
        return run;
      };
    });

    afterAll(async () => {
      ec2?.destroy();
      s3?.destroy();
      destroyClients?.();
      await store?.close();
      await database?.drop();
      await sandbox?.close();
    });

    const drift = async (resourceId: string): Promise<Finding | undefined> => {
      const page = await store.listFindings({ kind: ['drift'], text: resourceId, limit: 500 });
      const summary = page.items.find((f) => f.resource.id === resourceId);
      return summary ? store.getFinding(summary.id) : undefined;
    };
    const changesOf = (finding: Finding | undefined) =>
      (finding?.evidence as { changes: DriftChange[] }).changes;

    it('captures a baseline of every resource on the first scan and reports no drift', async () => {
      const run = await scan();
      const baselines = await store.listBaselines({ limit: 1000 });
      expect(baselines.total).toBe(run.summary?.resources);
      expect(baselines.items.every((b) => b.version === 1 && b.reason === 'discovered')).toBe(true);
      const drifts = await store.listFindings({ kind: ['drift'], limit: 500 });
      expect(drifts.items).toEqual([]);
    });

    it('sees port 22 opened to the world as high drift and BlockPublicAcls off as critical', async () => {
      await ec2.send(
        new AuthorizeSecurityGroupIngressCommand({
          GroupId: DEMO_GROUPS.appTier,
          IpPermissions: [
            { IpProtocol: 'tcp', FromPort: 22, ToPort: 22, IpRanges: [{ CidrIp: '0.0.0.0/0' }] },
          ],
        }),
      );
      await s3.send(
        new PutPublicAccessBlockCommand({
          Bucket: BUCKET,
          PublicAccessBlockConfiguration: { ...FULL_BLOCK, BlockPublicAcls: false },
        }),
      );
      await scan();

      const sg = await drift(SG_ARN);
      expect(sg).toMatchObject({
        kind: 'drift',
        origin: 'infraudit-drift',
        status: 'open',
        severity: 'high',
        driftType: 'security',
        remedy: { type: 'ec2.revoke-open-ingress', params: { ports: [22] } },
      });
      expect(changesOf(sg)).toEqual([
        {
          path: 'ingress[tcp 22 0.0.0.0/0]',
          before: null,
          after: expect.objectContaining({ protocol: 'tcp', fromPort: 22, cidrIpv4: '0.0.0.0/0' }),
          driftType: 'security',
          severity: 'high',
        },
      ]);

      const bucket = await drift(BUCKET_ARN);
      expect(bucket).toMatchObject({
        severity: 'critical',
        remedy: { type: 's3.block-public-access', params: {} },
      });
      expect(changesOf(bucket)).toEqual([
        {
          path: 'publicAccessBlock.blockPublicAcls',
          before: true,
          after: false,
          driftType: 'security',
          severity: 'critical',
        },
      ]);
      const all = await store.listFindings({ kind: ['drift'], limit: 500 });
      expect(all.items.map((f) => f.resource.id).sort()).toEqual([SG_ARN, BUCKET_ARN]);
    });

    it('re-scanning records no duplicates', async () => {
      const before = await store.listFindings({ kind: ['drift'], limit: 500 });
      const run = await scan();
      expect(run.summary?.findings.opened).toBe(0);
      const after = await store.listFindings({ kind: ['drift'], limit: 500 });
      expect(after.items.map((f) => f.id).sort()).toEqual(before.items.map((f) => f.id).sort());
    });

    it('resolves the drift once the resource is put back', async () => {
      await s3.send(
        new PutPublicAccessBlockCommand({
          Bucket: BUCKET,
          PublicAccessBlockConfiguration: FULL_BLOCK,
        }),
      );
      await scan();
      expect((await drift(BUCKET_ARN))?.status).toBe('resolved');
      expect((await drift(SG_ARN))?.status).toBe('open');
    });

    it('promoting a planned change makes it the baseline and resolves its drift', async () => {
      const baselines = createBaselineService({ store, live: scanner, clock });
      const promoted = await baselines.promote(SG_ARN, { actor: 'token:admin' });
      expect(promoted.findings.resolved).toBe(1);
      expect(promoted.baselines).toMatchObject([
        { resourceId: SG_ARN, version: 2, reason: 'promoted' },
      ]);
      expect((await drift(SG_ARN))?.status).toBe('resolved');
      await scan();
      expect((await drift(SG_ARN))?.status).toBe('resolved');
      const history = await store.listBaselines({ resourceId: SG_ARN, allVersions: true });
      expect(history.items.map((b) => [b.version, b.active])).toEqual([
        [2, true],
        [1, false],
      ]);
    });

    it('a fix the product applies is no drift; what it did not touch still is', async () => {
      const AUDIT_LOGS = 'arn:aws:s3:::audit-logs';
      const service = createRemediationService({ store, catalog: createCatalog(), clock });
      const engine = quickEngine({ store, clients: clientsOf(), catalog: createCatalog() });
      const versioningFinding = async () => {
        const found = await store.listFindings({
          kind: ['recommendation'],
          text: 'audit-logs',
          limit: 50,
        });
        return found.items.find((f) => f.checkId === 's3-versioning')!;
      };
      await engine.start();
      try {
        const finding = await versioningFinding();
        expect(finding).toMatchObject({ status: 'open', remedy: { type: 's3.enable-versioning' } });
        const { action } = await service.findings.remediate(finding.id, 'token:creator');
        await actionWhen(store, action.id, (a) => a.plannedAt !== null);
        await service.approve(action.id, 'token:approver');
        await service.execute(action.id, 'token:approver');
        await actionWhen(store, action.id, (a) => a.status === 'completed');
      } finally {
        await engine.stop();
      }

      // Someone also loosens the bucket by hand before the next scan.
      await s3.send(
        new PutPublicAccessBlockCommand({
          Bucket: 'audit-logs',
          PublicAccessBlockConfiguration: { ...FULL_BLOCK, BlockPublicPolicy: false },
        }),
      );
      await scan();
      expect((await versioningFinding()).status).toBe('resolved');
      const [followed] = await store.activeBaselines([AUDIT_LOGS]);
      expect(followed).toMatchObject({ version: 2, reason: 'remediated' });
      expect(followed?.config.versioning).toMatchObject({ status: 'Enabled' });
      expect(followed?.config.publicAccessBlock).toMatchObject({ blockPublicPolicy: true });
      // The fix's versioning is no drift; the hand-made change is.
      expect(changesOf(await drift(AUDIT_LOGS)).map((c) => [c.path, c.severity])).toEqual([
        ['publicAccessBlock.blockPublicPolicy', 'critical'],
      ]);

      await s3.send(
        new PutPublicAccessBlockCommand({
          Bucket: 'audit-logs',
          PublicAccessBlockConfiguration: FULL_BLOCK,
        }),
      );
      const run = await scan();
      expect(run.summary?.findings.opened).toBe(0);
      expect((await drift(AUDIT_LOGS))?.status).toBe('resolved');
      expect((await store.activeBaselines([AUDIT_LOGS]))[0]?.version).toBe(2);
    });

    /** Remediates the finding, runs the fix to completion and returns a rollback step. */
    const fixWithEngine = async (findingId: string) => {
      const service = createRemediationService({ store, catalog: createCatalog(), clock });
      const engine = quickEngine({
        store,
        clients: clientsOf(),
        catalog: createCatalog(),
        // One clock for scans and fixes: the baseline compares their times.
        clock,
      });
      await engine.start();
      const { action } = await service.findings.remediate(findingId, 'token:creator');
      try {
        await actionWhen(store, action.id, (a) => a.plannedAt !== null);
        await service.approve(action.id, 'token:approver');
        await service.execute(action.id, 'token:approver');
        await actionWhen(store, action.id, (a) => a.status === 'completed');
      } finally {
        await engine.stop();
      }
      return {
        actionId: action.id,
        rollBack: async () => {
          await engine.start();
          try {
            await service.rollback(action.id, 'token:approver');
            await actionWhen(store, action.id, (a) => a.status === 'rolled_back');
          } finally {
            await engine.stop();
          }
        },
      };
    };
    const versionsOf = async (resourceId: string) =>
      (await store.listBaselines({ resourceId, allVersions: true })).items.map((b) => [
        b.version,
        b.reason,
        b.active,
      ]);

    it('a rolled-back drift fix opens the drift again and leaves the baseline alone', async () => {
      const JUMP = `arn:aws:ec2:${REGION}:${ACCOUNT}:security-group/${DEMO_GROUPS.windowsJump}`;
      await ec2.send(
        new AuthorizeSecurityGroupIngressCommand({
          GroupId: DEMO_GROUPS.windowsJump,
          IpPermissions: [{ IpProtocol: '-1', IpRanges: [{ CidrIp: '0.0.0.0/0' }] }],
        }),
      );
      await scan();
      const opened = await drift(JUMP);
      expect(opened).toMatchObject({
        status: 'open',
        severity: 'critical',
        remedy: { type: 'ec2.revoke-open-ingress', params: { allPorts: true } },
      });

      const fix = await fixWithEngine(opened!.id);
      await scan();
      expect((await drift(JUMP))?.status).toBe('resolved');
      expect(await versionsOf(JUMP)).toEqual([
        [2, 'remediated', true],
        [1, 'discovered', false],
      ]);

      await fix.rollBack();
      await scan();
      const again = await drift(JUMP);
      expect(again).toMatchObject({ status: 'open', severity: 'critical' });
      expect(changesOf(again).map((c) => [c.path, c.before, c.severity])).toEqual([
        ['ingress[-1 all 0.0.0.0/0]', null, 'critical'],
      ]);
      expect(await versionsOf(JUMP)).toEqual([
        [2, 'remediated', true],
        [1, 'discovered', false],
      ]);
      // Later scans keep reporting it: nothing absorbed the rolled-back state.
      await scan();
      expect((await drift(JUMP))?.status).toBe('open');
      expect((await store.activeBaselines([JUMP]))[0]?.version).toBe(2);
    }, 60_000);

    it('a rolled-back check fix puts back the baseline of before the fix, with no drift', async () => {
      const BASTION = `arn:aws:ec2:${REGION}:${ACCOUNT}:security-group/${DEMO_GROUPS.bastion}`;
      const checks = await store.listFindings({
        kind: ['recommendation'],
        status: ['open'],
        text: DEMO_GROUPS.bastion,
        limit: 50,
      });
      const open = checks.items.find((f) => f.checkId === 'ec2-open-sensitive-port');
      expect(open?.remedy).toEqual({ type: 'ec2.revoke-open-ingress', params: { ports: [22] } });
      const [original] = await store.activeBaselines([BASTION]);

      const fix = await fixWithEngine(open!.id);
      await scan();
      const [followed] = await store.activeBaselines([BASTION]);
      expect(followed).toMatchObject({ version: 2, reason: 'remediated' });
      expect(followed?.config.ingress).not.toEqual(original?.config.ingress);

      await fix.rollBack();
      await scan();
      expect((await drift(BASTION))?.status ?? 'none').not.toBe('open');
      const [restored] = await store.activeBaselines([BASTION]);
      expect(restored).toMatchObject({ version: 3, reason: 'remediated' });
      expect(restored?.config).toEqual(original?.config);
      const events = await store.auditLog({ type: ['baseline'], limit: 1000 });
      const undone = events.items.find(
        (e) =>
          e.comment === 'remediated' &&
          JSON.stringify(e.data).includes(fix.actionId) &&
          JSON.stringify(e.data).includes('rolled_back'),
      );
      expect(undone).toBeDefined();
      await scan();
      expect((await store.activeBaselines([BASTION]))[0]?.version).toBe(3);
    }, 60_000);

    it('refuses to promote an unknown resource and changes nothing', async () => {
      const baselines = createBaselineService({ store, live: scanner, clock });
      const before = await store.listBaselines({ allVersions: true, limit: 1000 });
      const error = await appErrorOf(
        baselines.promote('arn:aws:s3:::no-such-bucket', { actor: 'token:admin' }),
      );
      expect(error.code).toBe('not_found');
      expect(error.message).toContain('no-such-bucket');
      expect(await store.listBaselines({ allVersions: true, limit: 1000 })).toEqual(before);
    });

    it('sees a bucket made public through its policy as critical drift and a failed check', async () => {
      const ML = 'arn:aws:s3:::ml-training-data';
      await s3.send(
        new PutBucketPolicyCommand({
          Bucket: 'ml-training-data',
          Policy: JSON.stringify({
            Version: '2012-10-17',
            Statement: [
              {
                Effect: 'Allow',
                Principal: { AWS: '*' },
                Action: 's3:GetObject',
                Resource: 'arn:aws:s3:::ml-training-data/*',
              },
            ],
          }),
        }),
      );
      await scan();

      const found = await drift(ML);
      expect(found).toMatchObject({ status: 'open', severity: 'critical', driftType: 'security' });
      expect(changesOf(found).map((c) => [c.path, c.before, c.after, c.severity])).toEqual([
        ['policyStatus.isPublic', false, true, 'critical'],
      ]);
      const checks = await store.listFindings({
        kind: ['recommendation'],
        status: ['open'],
        text: 'ml-training-data',
        limit: 50,
      });
      const publicPolicy = checks.items.find((f) => f.checkId === 's3-bucket-policy-public');
      expect(publicPolicy).toMatchObject({ severity: 'critical', remedy: null });
    });

    it('sees root user access keys appear as critical drift of the account', async () => {
      const ROOT = `arn:aws:iam::${ACCOUNT}:root`;
      // The sandbox's static credentials act as the account root, as in AWS only the root
      // user manages its own keys.
      const iam = new IAMClient({ region: REGION, ...cloud });
      try {
        await iam.send(new DeleteAccessKeyCommand({ AccessKeyId: 'AKIADEMOROOTKEY00001' }));
        const baselines = createBaselineService({ store, live: scanner, clock });
        const promoted = await baselines.promote(ROOT, { actor: 'token:admin' });
        expect(promoted.baselines[0]?.config).toEqual({
          accountId: ACCOUNT,
          accountAccessKeysPresent: false,
        });
        await scan();
        const checks = async () =>
          (
            await store.listFindings({
              kind: ['recommendation'],
              status: ['open'],
              text: ACCOUNT,
              limit: 50,
            })
          ).items.filter((f) => f.checkId === 'iam-root-access-keys');
        expect(await checks()).toEqual([]);

        await iam.send(new CreateAccessKeyCommand({}));
        await scan();
        const found = await drift(ROOT);
        expect(found).toMatchObject({ status: 'open', severity: 'critical', remedy: null });
        expect(changesOf(found).map((c) => [c.path, c.before, c.after])).toEqual([
          ['accountAccessKeysPresent', false, true],
        ]);
        expect((await checks()).map((f) => [f.severity, f.remedy])).toEqual([['critical', null]]);
      } finally {
        iam.destroy();
      }
    });

    it('judges an opened port by the sensitive ports setting, as the check does', async () => {
      const WEB_ARN = `arn:aws:ec2:${REGION}:${ACCOUNT}:security-group/${DEMO_GROUPS.webPublic}`;
      const settings = await store.getCheckSettings();
      await store.updateCheckSettings(
        { sensitivePorts: [...settings.sensitivePorts, 8443] },
        { actor: 'token:admin', now: clock() },
      );
      await ec2.send(
        new AuthorizeSecurityGroupIngressCommand({
          GroupId: DEMO_GROUPS.webPublic,
          IpPermissions: [
            {
              IpProtocol: 'tcp',
              FromPort: 8443,
              ToPort: 8443,
              IpRanges: [{ CidrIp: '0.0.0.0/0' }],
            },
          ],
        }),
      );
      await scan();

      const found = await drift(WEB_ARN);
      expect(found).toMatchObject({ status: 'open', severity: 'high', driftType: 'security' });
      expect(changesOf(found).map((c) => [c.path, c.severity])).toEqual([
        ['ingress[tcp 8443 0.0.0.0/0]', 'high'],
      ]);
      const checks = await store.listFindings({
        kind: ['recommendation'],
        status: ['open'],
        text: DEMO_GROUPS.webPublic,
        limit: 50,
      });
      const check = checks.items.find((f) => f.checkId === 'ec2-open-sensitive-port');
      expect(check?.remedy).toEqual({ type: 'ec2.revoke-open-ingress', params: { ports: [8443] } });
    });
  });
}
