import { DeleteBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCatalog } from '../src/catalog/index.ts';
import { createAccountClients } from '../src/cloud/accounts.ts';
import type { CloudConfig } from '../src/cloud/clients.ts';
import { createScanner } from '../src/inventory/scan.ts';
import { type Sandbox, startSandbox } from '../src/sandbox/server.ts';
import { createRemediationService } from '../src/service/remediation.ts';
import { GONE_RESOLUTION } from '../src/store/gone-findings.ts';
import type { Store } from '../src/store/store.ts';
import { createTestDatabase, ENGINES, type TestDatabase } from './helpers/databases.ts';
import { REGION, silentLog } from './helpers/world.ts';

const BUCKET = 'finance-exports';
const BUCKET_ARN = `arn:aws:s3:::${BUCKET}`;

for (const engine of ENGINES) {
  describe(`findings of a resource a complete scan finds gone (${engine})`, () => {
    let sandbox: Sandbox;
    let database: TestDatabase;
    let store: Store;
    let s3: S3Client;
    let destroyClients: () => void;
    let scanner: ReturnType<typeof createScanner>;
    let tick = 0;
    const clock = () => new Date(Date.now() + tick++);

    beforeAll(async () => {
      sandbox = await startSandbox({ seed: 'demo' });
      database = await createTestDatabase(engine);
      store = await database.open();
      const cloud: CloudConfig = {
        defaultRegion: REGION,
        endpoint: sandbox.url,
        s3ForcePathStyle: true,
        credentials: { accessKeyId: 'AKIASANDBOXTEST', secretAccessKey: 'sandbox-secret' },
        maxAttempts: 1,
      };
      const clients = createAccountClients(cloud, null);
      destroyClients = () => clients.destroy();
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
    });

    afterAll(async () => {
      s3?.destroy();
      destroyClients?.();
      await store?.close();
      await database?.drop();
      await sandbox?.close();
    });

    const scan = async () => {
      const run = await scanner.run({ trigger: 'cli', actor: 'token:scanner' });
      expect(run.status).toBe('completed');
      return run;
    };
    const findingsOf = async (resourceId: string) =>
      (await store.listFindings({ text: BUCKET, limit: 500 })).items.filter(
        (f) => f.resource.id === resourceId,
      );

    it('resolves them naming that, and closes their unapproved actions', async () => {
      await scan();
      const open = (await findingsOf(BUCKET_ARN)).filter((f) => f.status === 'open');
      const fixable = open.find((f) => f.remedy !== null);
      expect(fixable).toBeDefined();
      const service = createRemediationService({ store, catalog: createCatalog(), clock });
      const { action } = await service.findings.remediate(fixable!.id, 'token:creator');
      expect(['suggested', 'pending_approval']).toContain(action.status);

      await s3.send(new DeleteBucketCommand({ Bucket: BUCKET }));
      // A scan that could not list the buckets marks nothing gone and resolves nothing.
      sandbox.injectFault({
        service: 's3',
        operation: 'ListBuckets',
        kind: 'error',
        probability: 1,
      });
      try {
        await scan();
      } finally {
        sandbox.clearFaults();
      }
      expect((await findingsOf(BUCKET_ARN)).filter((f) => f.status === 'open')).toHaveLength(
        open.length,
      );

      const run = await scan();
      expect(run.summary?.gone).toBe(1);
      const after = await findingsOf(BUCKET_ARN);
      for (const finding of open) {
        const now = after.find((f) => f.id === finding.id);
        expect(now?.status).toBe('resolved');
        expect((await store.getFinding(finding.id))?.resolution).toBe(GONE_RESOLUTION);
      }
      const closed = await store.getAction(action.id);
      expect(closed?.status).toBe('rejected');
      const events = await store.auditLog({ actionId: action.id, limit: 100 });
      expect(events.items.some((e) => e.comment?.includes(GONE_RESOLUTION))).toBe(true);

      // Scanned again, nothing changes.
      const again = await scan();
      expect(again.summary?.gone).toBe(0);
      expect((await findingsOf(BUCKET_ARN)).filter((f) => f.status === 'open')).toEqual([]);
    }, 60_000);
  });
}
