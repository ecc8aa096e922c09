import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AuthorizeSecurityGroupIngressCommand, EC2Client } from '@aws-sdk/client-ec2';
import { DeleteBucketCommand, PutBucketVersioningCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AccountsConfig, createAccountClients } from '../src/cloud/accounts.ts';
import { createScanner, type Scanner } from '../src/inventory/scan.ts';
import { DEMO_GROUPS } from '../src/sandbox/ec2/seed.ts';
import { writeSandboxKubeconfig } from '../src/sandbox/k8s/kubeconfig.ts';
import { type Sandbox, startSandbox } from '../src/sandbox/server.ts';
import { cloudOf } from './helpers/accounts.ts';
import { type ApiHarness, startApi } from './helpers/api.ts';
import { cli } from './helpers/cli.ts';
import { createTestDatabase, ENGINES, type TestDatabase } from './helpers/databases.ts';
import { versionedBucket } from './helpers/resources.ts';
import { ACCOUNT, REGION, silentLog } from './helpers/world.ts';

/** An account the accounts file reaches through a role the sandbox refuses to let it assume. */
const DENIED = '999988887777';
const SG_ARN = `arn:aws:ec2:${REGION}:${ACCOUNT}:security-group/${DEMO_GROUPS.appTier}`;

for (const engine of ENGINES) {
  describe(`baselines read live through the API and CLI (${engine})`, () => {
    let dir: string;
    let sandbox: Sandbox;
    let database: TestDatabase;
    let api: ApiHarness;
    let scanner: Scanner;
    let s3: S3Client;
    let ec2: EC2Client;
    let destroy: () => void;
    let env: Record<string, string>;

    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), 'infraudit-baseline-live-'));
      sandbox = await startSandbox({ seed: 'demo' });
      database = await createTestDatabase(engine);
      const kubeconfig = await writeSandboxKubeconfig(join(dir, 'kubeconfig'), sandbox.url);
      const cloud = cloudOf(sandbox, kubeconfig);
      const accounts: AccountsConfig = {
        aws: [
          { id: ACCOUNT, name: 'demo', regions: [REGION] },
          {
            id: DENIED,
            name: 'denied',
            assumeRole: { roleArn: `arn:aws:iam::${DENIED}:role/infraudit` },
            regions: [REGION],
          },
        ],
        kubernetes: [{ kubeconfig, contexts: ['default'] }],
      };
      const clients = createAccountClients(cloud, accounts);
      s3 = new S3Client({ region: REGION, ...cloud });
      ec2 = new EC2Client({ region: REGION, ...cloud });
      destroy = () => {
        clients.destroy();
        s3.destroy();
        ec2.destroy();
      };
      api = await startApi({
        database,
        scanner: (store) =>
          (scanner = createScanner({
            store,
            clients,
            accounts,
            defaultRegion: REGION,
            defaultKubeContext: false,
            log: silentLog,
          })),
      });
      env = { INFRAUDIT_URL: api.url, INFRAUDIT_TOKEN: api.tokens.admin };
      const run = await scanner.run({ trigger: 'cli', actor: 'token:scanner' });
      expect(run.status).toBe('completed');
    });

    afterAll(async () => {
      await scanner?.idle();
      await api?.close();
      destroy?.();
      await database?.drop();
      await sandbox?.close();
      await rm(dir, { recursive: true, force: true });
    });

    const history = async () =>
      (await api.call('GET', '/api/v1/baselines?allVersions=true&limit=1000')).body;

    it('reads every resource type live with the scan discovery code, recording what it records', async () => {
      const inventory = await api.store.listResources({ limit: 500 });
      const types = new Set(inventory.items.map((r) => r.type));
      for (const type of ['AwsS3Bucket', 'AwsAccount', 'AwsIamAccessKey', 'KubernetesNamespace']) {
        expect(types).toContain(type);
      }
      const all = await api.call('POST', '/api/v1/baselines', { body: { all: true } });
      expect(all.status).toBe(201);
      expect(all.body.source).toBe('live');
      expect(all.body.baselines).toHaveLength(inventory.items.length);
      // Nothing changed since the scan: each live read equals what the scan recorded.
      for (const baseline of all.body.baselines) {
        const stored = await api.store.getResource(baseline.resourceId);
        expect([baseline.resourceId, baseline.config, baseline.tags]).toEqual([
          stored?.id,
          stored?.config,
          stored?.tags,
        ]);
        expect(baseline).toMatchObject({ version: 2, reason: 'captured', active: true });
      }
    });

    it('records the live configuration, not the last scan, and says so', async () => {
      await s3.send(
        new PutBucketVersioningCommand({
          Bucket: 'audit-logs',
          VersioningConfiguration: { Status: 'Enabled' },
        }),
      );
      const created = await cli(['baseline', 'create', 'arn:aws:s3:::audit-logs'], env);
      expect(created.code).toBe(0);
      expect(created.stdout).toContain('recorded from the live configuration');
      const [active] = (
        await api.call(
          'GET',
          `/api/v1/baselines?resourceId=${encodeURIComponent('arn:aws:s3:::audit-logs')}`,
        )
      ).body.items;
      expect(active).toMatchObject({ version: 3, reason: 'captured' });
      expect(active.config.versioning.status).toBe('Enabled');
      // The inventory still holds what the scan read.
      const stored = await api.store.getResource('arn:aws:s3:::audit-logs');
      expect((stored?.config.versioning as { status: unknown }).status).toBeNull();
    });

    it('promotes the live configuration after a planned change', async () => {
      await ec2.send(
        new AuthorizeSecurityGroupIngressCommand({
          GroupId: DEMO_GROUPS.appTier,
          IpPermissions: [
            {
              IpProtocol: 'tcp',
              FromPort: 8080,
              ToPort: 8080,
              IpRanges: [{ CidrIp: '10.1.0.0/16' }],
            },
          ],
        }),
      );
      const promoted = await api.call('POST', '/api/v1/baselines/promote', {
        body: { resourceId: SG_ARN },
      });
      expect(promoted.status).toBe(200);
      expect(promoted.body).toMatchObject({ source: 'live' });
      expect(promoted.body.baselines[0]).toMatchObject({ reason: 'promoted', version: 3 });
      expect(promoted.body.baselines[0].config.ingress).toContainEqual(
        expect.objectContaining({ fromPort: 8080, cidrIpv4: '10.1.0.0/16' }),
      );
      const cliPromoted = await cli(['-o', 'json', 'baseline', 'promote', SG_ARN], env);
      expect(cliPromoted.code).toBe(0);
      expect(JSON.parse(cliPromoted.stdout)).toMatchObject({
        source: 'live',
        baselines: [{ version: 4, reason: 'promoted' }],
      });
    });

    it('refuses a resource gone from the cloud, and records nothing', async () => {
      await s3.send(new DeleteBucketCommand({ Bucket: 'app-config-prod' }));
      const before = await history();
      const answer = await api.call('POST', '/api/v1/baselines', {
        body: { resourceIds: ['arn:aws:s3:::audit-logs', 'arn:aws:s3:::app-config-prod'] },
      });
      expect(answer.status).toBe(404);
      expect(answer.body.error.message).toContain('arn:aws:s3:::app-config-prod no longer exists');
      const promoted = await cli(['baseline', 'promote', 'arn:aws:s3:::app-config-prod'], env);
      expect(promoted.code).toBe(1);
      expect(promoted.stderr).toContain('no longer exists');
      expect(await history()).toEqual(before);
    });

    it('refuses a resource the cloud will not let it read, and records nothing', async () => {
      const before = await history();
      sandbox.injectFault({
        service: 's3',
        operation: 'GetBucketVersioning',
        kind: 'error',
        count: 20,
      });
      try {
        const answer = await api.call('POST', '/api/v1/baselines/promote', {
          body: { resourceId: 'arn:aws:s3:::audit-logs' },
        });
        expect(answer.status).toBe(422);
        expect(answer.body.error.message).toContain(
          'GetBucketVersioning failed with InternalError',
        );
        expect(answer.body.error.details.couldNotRead).toEqual([
          expect.objectContaining({
            resourceId: 'arn:aws:s3:::audit-logs',
            reason: 'unreadable',
            errors: [
              expect.objectContaining({ operation: 'GetBucketVersioning', code: 'InternalError' }),
            ],
          }),
        ]);
      } finally {
        sandbox.clearFaults();
      }

      // An account reached through a role it may not assume: AccessDenied.
      const denied = { ...versionedBucket('denied-team-data'), account: DENIED };
      const ghost = {
        provider: 'kubernetes' as const,
        account: 'default',
        region: 'shop',
        type: 'KubernetesDeployment',
        id: 'k8s://default/shop/Deployment/ghost',
        name: 'ghost',
        tags: {},
        config: { kind: 'Deployment', namespace: 'shop', name: 'ghost' },
      };
      const now = new Date();
      const run = await api.store.startScan({ trigger: 'cli', actor: 'test', now, units: [] });
      await api.store.updateInventory({
        scanId: run!.id,
        startedAt: run!.startedAt,
        now,
        resources: [denied, ghost].map((resource) => ({ scope: 'test', resource })),
        completeScopes: [],
      } as never);
      await api.store.finishScan(run!.id, { status: 'completed', now, summary: null });
      const before2 = await history();
      const cliDenied = await cli(['baseline', 'create', denied.id], env);
      expect(cliDenied.code).toBe(1);
      expect(cliDenied.stderr).toContain('AccessDenied');
      expect(cliDenied.stderr).toContain('nothing was recorded');
      const missing = await api.call('POST', '/api/v1/baselines', {
        body: { resourceIds: [ghost.id] },
      });
      expect(missing.status).toBe(404);
      expect(missing.body.error.message).toContain(`${ghost.id} no longer exists`);
      expect(missing.body.error.message).toContain('NotFound');
      expect(await history()).toEqual(before2);
      expect(before2.total).toBe(before.total);
    });
  });
}
