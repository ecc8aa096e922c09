import { describe, expect, it } from 'vitest';
import type { FindingReport } from '../src/domain/finding.ts';
import type { Store } from '../src/store/store.ts';
import { ENGINES, storePerSuite } from './helpers/databases.ts';

const at = (minutes: number) => ({
  actor: 'token:ops',
  now: new Date(Date.UTC(2026, 2, 1, 10, minutes)),
});

/** More than one multi-row statement's worth of findings (about 800 rows each). */
const COUNT = 2_000;

function report(run: string, i: number, extra: Partial<FindingReport> = {}): FindingReport {
  const name = `bulk-${run}-${i}`;
  return {
    kind: 'vulnerability',
    origin: 'prowler',
    key: `bulk-${run}-${i}`,
    checkId: 's3_bucket_default_encryption',
    title: 'S3 bucket has no default encryption',
    severity: 'medium',
    resource: {
      provider: 'aws',
      account: i % 10 === 0 ? `7777${run.padStart(8, '0')}` : '111122223333',
      region: 'us-east-1',
      type: 'AwsS3Bucket',
      id: `arn:aws:s3:::${name}`,
      name,
      tags: {},
    },
    state: 'failed',
    evidence: { pass: 1 },
    ...extra,
  };
}

describe.each(ENGINES)('large batches of stored findings on %s', { timeout: 120_000 }, (engine) => {
  let store: Store;
  storePerSuite(engine, (opened) => {
    store = opened;
  });

  it('updates, resolves, excludes and keeps dismissals across thousands of stored rows', async () => {
    const run = `${process.pid}${engine.length}`;
    const first = Array.from({ length: COUNT }, (_, i) => report(run, i));
    const stored = await store.reportFindings(first, at(0));
    expect(stored).toMatchObject({ opened: COUNT, updated: 0 });
    const ids = stored.findingIds;

    await store.dismissFinding(ids[1]!, { ...at(1), reason: 'accepted risk' });
    await store.addExclusion(
      { scope: 'account', value: `7777${run.padStart(8, '0')}`, reason: 'lab account' },
      at(2),
    );

    // Every third finding passes now; the rest are reported again with new details.
    const second: FindingReport[] = first.map((r, i) =>
      i % 3 === 2
        ? { ...r, state: 'passed' as const }
        : {
            ...r,
            title: `${r.title} (seen again)`,
            severity: 'high' as const,
            evidence: { pass: 2 },
          },
    );
    // The same finding twice in one batch: the last report wins. Finding 5 passes, then
    // fails again in the same batch, so it is resolved and opened again.
    second.push({ ...first[7]!, title: 'reported twice', severity: 'critical' });
    second.push({ ...first[5]!, title: 'failed again' });
    const again = await store.reportFindings(second, at(3));

    const passed = first.filter((_, i) => i % 3 === 2);
    // Passed findings resolve, the excluded ones too.
    expect(again.resolved).toBe(passed.length);
    expect(again.opened).toBe(1);
    expect(again.dismissed).toBe(1);
    const failedAgain = first.map((_, i) => i).filter((i) => i % 3 !== 2 && i !== 1);
    const excludedAgain = failedAgain.filter((i) => i % 10 === 0);
    expect(excludedAgain.length).toBeGreaterThan(0);
    expect(again.excluded).toBe(excludedAgain.length);
    // The finding reported twice counts twice.
    expect(again.updated).toBe(failedAgain.length - excludedAgain.length + 1);

    const updated = (await store.getFinding(ids[4]!))!;
    expect(updated).toMatchObject({
      status: 'open',
      title: 'S3 bucket has no default encryption (seen again)',
      severity: 'high',
      evidence: { pass: 2 },
      firstSeen: at(0).now.toISOString(),
      lastSeen: at(3).now.toISOString(),
    });
    expect((await store.getFinding(ids[7]!))!).toMatchObject({
      status: 'open',
      title: 'reported twice',
      severity: 'critical',
    });
    expect((await store.getFinding(ids[5]!))!).toMatchObject({
      status: 'open',
      title: 'failed again',
      resolvedAt: null,
    });
    expect((await store.getFinding(ids[2]!))!).toMatchObject({
      status: 'resolved',
      resolvedAt: at(3).now.toISOString(),
      title: 'S3 bucket has no default encryption',
    });
    expect((await store.getFinding(ids[1]!))!).toMatchObject({
      status: 'dismissed',
      dismissedReason: 'accepted risk',
      title: 'S3 bucket has no default encryption (seen again)',
    });
    expect((await store.getFinding(ids[10]!))!).toMatchObject({
      status: 'excluded',
      severity: 'high',
    });
    // Row count unchanged: every write of a stored finding updated it in place.
    const counts = await store.countFindings({});
    expect(counts.total).toBe(COUNT);
    expect(counts.byStatus.resolved).toBe(passed.length - 1);

    // A resolved finding reported failed again opens again, in the same bulk write.
    const third = await store.reportFindings([report(run, 2)], at(4));
    expect(third).toMatchObject({ opened: 1 });
    expect((await store.getFinding(ids[2]!))!).toMatchObject({
      status: 'open',
      resolvedAt: null,
      firstSeen: at(0).now.toISOString(),
    });
  });

  it('refuses a batch with one bad report after thousands of good ones, changing nothing', async () => {
    const run = `bad${process.pid}${engine.length}`;
    const good = Array.from({ length: COUNT }, (_, i) => report(run, i));
    await store.reportFindings(good, at(0));
    const before = await store.countFindings({});
    const changed = good.map((r) => ({ ...r, title: 'changed' }));
    const bad = { ...report(run, COUNT + 1), severity: 'extreme' as never };
    await expect(store.reportFindings([...changed, bad], at(1))).rejects.toThrow(/severity/);
    const after = await store.countFindings({});
    expect(after.total).toBe(before.total);
    expect((await store.listFindings({ text: 'changed', limit: 5 })).items).toEqual([]);
  });
});
