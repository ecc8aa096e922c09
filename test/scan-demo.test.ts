import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PutBucketEncryptionCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AccountClients } from '../src/cloud/accounts.ts';
import { createCatalog } from '../src/catalog/index.ts';
import { createFindingService } from '../src/service/findings.ts';
import type { Scanner } from '../src/inventory/scan.ts';
import { type Sandbox, startSandbox } from '../src/sandbox/server.ts';
import type { Store } from '../src/store/store.ts';
import { actionWhen, quickEngine } from './helpers/actions.ts';
import { createTestDatabase, ENGINES, type TestDatabase } from './helpers/databases.ts';
import { sandboxScan } from './helpers/demo-scan.ts';
import { REGION } from './helpers/world.ts';

/**
 * Every problem the demo seeds plant (src/sandbox/seed.ts and each service's seed.ts), as
 * `<check> <resource name>`: the scan must find exactly these.
 */
const SEEDED = [
  // S3: four buckets, each with its named gap(s); one public through its policy.
  's3-default-encryption finance-exports',
  's3-public-access-block public-assets',
  's3-bucket-policy-public public-assets',
  's3-versioning audit-logs',
  's3-default-encryption ml-training-data',
  's3-public-access-block ml-training-data',
  's3-versioning ml-training-data',
  // EC2: SSH to the world, RDP over IPv6, a database port, a whole TCP range; and the
  // instances without termination protection.
  'ec2-open-sensitive-port sg-0a1e5b7c9d2f4e601',
  'ec2-open-sensitive-port sg-0b2f6c8d0e3a5f702',
  'ec2-open-sensitive-port sg-0c3a7d9e1f4b6a803',
  'ec2-open-sensitive-port sg-0d4b8e0f2a5c7b904',
  'ec2-termination-protection i-0a1b2c3d4e5f60002',
  'ec2-termination-protection i-0a1b2c3d4e5f60003',
  'ec2-termination-protection i-0a1b2c3d4e5f60004',
  'ec2-termination-protection i-0a1b2c3d4e5f60005',
  // RDS: single-AZ production, no backups, unencrypted, and the stopped staging database.
  // The one-zone Aurora member is not one: its cluster owns Multi-AZ, not the instance.
  'rds-multi-az orders-prod',
  'rds-automated-backups reporting-db',
  'rds-storage-encrypted legacy-crm',
  'rds-multi-az staging-db',
  // IAM: old keys, and keys unused for months or never; the account root has a key.
  'iam-root-access-keys 111122223333',
  'iam-access-key-rotation AKIADEMODEPLOYBOT001',
  'iam-access-key-rotation AKIADEMOREPORTETL001',
  'iam-access-key-rotation AKIADEMOLEGACYCI0001',
  'iam-access-key-rotation AKIADEMODATAPIPE0001',
  'iam-access-key-rotation AKIADEMOCIDEPLOYER01',
  'iam-access-key-unused AKIADEMOREPORTETL001',
  'iam-access-key-unused AKIADEMOLEGACYCI0001',
  // Kubernetes: workloads without requests and limits, namespaces without Pod Security.
  'k8s-workload-resources web',
  'k8s-workload-resources api',
  'k8s-workload-resources checkout',
  'k8s-workload-resources orders-db',
  'k8s-workload-resources node-exporter',
  'k8s-namespace-pod-security default',
  'k8s-namespace-pod-security shop',
  'k8s-namespace-pod-security batch',
  'k8s-namespace-pod-security monitoring',
].sort();

for (const engine of ENGINES) {
  describe(`scanning the demo account (${engine})`, () => {
    let dir: string;
    let sandbox: Sandbox;
    let database: TestDatabase;
    let store: Store;
    let scanner: Scanner;
    let s3: S3Client;
    let clients: AccountClients;
    let destroy: () => void;
    // The seeds date keys relative to the real time, so the scan judges ages by it too.
    let tick = 0;
    const clock = () => new Date(Date.now() + tick++);

    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), 'infraudit-demo-scan-'));
      sandbox = await startSandbox({ seed: 'demo' });
      database = await createTestDatabase(engine);
      store = await database.open();
      const scan = await sandboxScan(sandbox, store, dir, clock);
      ({ clients, scanner } = scan);
      s3 = new S3Client({ region: REGION, ...scan.cloud });
      destroy = () => {
        clients.destroy();
        s3.destroy();
      };
    });

    afterAll(async () => {
      destroy?.();
      await store?.close();
      await database?.drop();
      await sandbox?.close();
      await rm(dir, { recursive: true, force: true });
    });

    const open = async () =>
      (await store.listFindings({ status: ['open'], kind: ['recommendation'], limit: 500 })).items
        .map((f) => `${f.checkId} ${f.resource.name}`)
        .sort();

    it('finds every seeded problem and nothing else', async () => {
      const run = await scanner.run({ trigger: 'cli', actor: 'token:demo' });
      expect(run.status).toBe('completed');
      expect(run.summary?.couldNotRead).toEqual([]);
      expect(run.summary?.findings.opened).toBe(SEEDED.length);
      expect(await open()).toEqual(SEEDED);
    });

    it('re-scanning creates no duplicates', async () => {
      const ids = (await store.listFindings({ limit: 500 })).items.map((f) => f.id).sort();
      const run = await scanner.run({ trigger: 'cli', actor: 'token:demo' });
      expect(run.summary?.findings).toMatchObject({ opened: 0, resolved: 0 });
      expect((await store.listFindings({ limit: 500 })).items.map((f) => f.id).sort()).toEqual(ids);
      expect(await open()).toEqual(SEEDED);
    });

    it('fixing through InfraAudit resolves, and re-scanning opens nothing new', async () => {
      const target = (await store.listFindings({ status: ['open'], limit: 500 })).items.find(
        (f) => f.checkId === 's3-public-access-block' && f.resource.name === 'public-assets',
      );
      const findings = createFindingService({ store, catalog: createCatalog(), clock });
      const { action } = await findings.remediate(target?.id as string, 'token:operator');
      const worker = quickEngine({ store, clients: clients.base, catalog: createCatalog() });
      await worker.start();
      try {
        await actionWhen(store, action.id, (a) => Boolean(a.plannedAt));
        await store.transition(action.id, 'approve', { actor: 'token:admin', now: clock() });
        await store.request(action.id, 'execute', { actor: 'token:admin', now: clock() });
        worker.wake();
        const done = await actionWhen(store, action.id, (a) => a.status === 'completed');
        expect(done.result?.kind).toBe('applied');
      } finally {
        await worker.stop();
      }
      // The completed fix resolved its finding; the re-scan reports it passed and agrees.
      expect(await store.getFinding(target?.id as string)).toMatchObject({
        status: 'resolved',
        resolvedByAction: action.id,
      });

      const run = await scanner.run({ trigger: 'cli', actor: 'token:demo' });
      expect(run.summary?.findings).toMatchObject({ opened: 0, resolved: 0 });
      const fixed = 's3-public-access-block public-assets';
      expect(await open()).toEqual(SEEDED.filter((f) => f !== fixed));
      const drift = await store.listFindings({ kind: ['drift'], status: ['open'], limit: 500 });
      expect(drift.items).toEqual([]);
      expect((await store.getFinding(target?.id as string))?.status).toBe('resolved');
    });

    it('a change made by hand resolves its check, and shows as drift', async () => {
      await s3.send(
        new PutBucketEncryptionCommand({
          Bucket: 'finance-exports',
          ServerSideEncryptionConfiguration: {
            Rules: [{ ApplyServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
          },
        }),
      );
      const run = await scanner.run({ trigger: 'cli', actor: 'token:demo' });
      expect(run.summary?.findings.resolved).toBe(1);
      const fixed = [
        's3-public-access-block public-assets',
        's3-default-encryption finance-exports',
      ];
      expect(await open()).toEqual(SEEDED.filter((f) => !fixed.includes(f)));
      const drift = await store.listFindings({ kind: ['drift'], status: ['open'], limit: 500 });
      expect(drift.items.map((f) => f.resource.name)).toEqual(['finance-exports']);
    });
  });
}
