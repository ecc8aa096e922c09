import { DeleteBucketCommand } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import { createCatalog } from '../src/catalog/index.ts';
import { createRemediationService } from '../src/service/remediation.ts';
import { GONE_RESOLUTION } from '../src/store/gone-findings.ts';
import { ENGINES } from './helpers/databases.ts';
import { scanSuite } from './helpers/scan-suite.ts';

const BUCKET = 'finance-exports';
const BUCKET_ARN = `arn:aws:s3:::${BUCKET}`;

for (const engine of ENGINES) {
  describe(`findings of a resource a complete scan finds gone (${engine})`, () => {
    const suite = scanSuite(engine, async () => ({ seed: 'demo' }));
    const { clock } = suite;

    const scan = async () => {
      const run = await suite.scanner.run({ trigger: 'cli', actor: 'token:scanner' });
      expect(run.status).toBe('completed');
      return run;
    };
    const findingsOf = async (resourceId: string) =>
      (await suite.store.listFindings({ text: BUCKET, limit: 500 })).items.filter(
        (f) => f.resource.id === resourceId,
      );

    it('resolves them naming that, and closes their unapproved actions', async () => {
      await scan();
      const open = (await findingsOf(BUCKET_ARN)).filter((f) => f.status === 'open');
      const fixable = open.find((f) => f.remedy !== null);
      expect(fixable).toBeDefined();
      const service = createRemediationService({
        store: suite.store,
        catalog: createCatalog(),
        clock,
      });
      const { action } = await service.findings.remediate(fixable!.id, 'token:creator');
      expect(['suggested', 'pending_approval']).toContain(action.status);

      await suite.s3.send(new DeleteBucketCommand({ Bucket: BUCKET }));
      // A scan that could not list the buckets marks nothing gone and resolves nothing.
      suite.sandbox.injectFault({
        service: 's3',
        operation: 'ListBuckets',
        kind: 'error',
        probability: 1,
      });
      try {
        await scan();
      } finally {
        suite.sandbox.clearFaults();
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
        expect((await suite.store.getFinding(finding.id))?.resolution).toBe(GONE_RESOLUTION);
      }
      const closed = await suite.store.getAction(action.id);
      expect(closed?.status).toBe('rejected');
      const events = await suite.store.auditLog({ actionId: action.id, limit: 100 });
      expect(events.items.some((e) => e.comment?.includes(GONE_RESOLUTION))).toBe(true);

      // Scanned again, nothing changes.
      const again = await scan();
      expect(again.summary?.gone).toBe(0);
      expect((await findingsOf(BUCKET_ARN)).filter((f) => f.status === 'open')).toEqual([]);
    }, 60_000);
  });
}
