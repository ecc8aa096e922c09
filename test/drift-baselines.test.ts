import { describe, expect, it } from 'vitest';
import type { Store } from '../src/store/store.ts';
import { ENGINES, storePerSuite } from './helpers/databases.ts';
import { appErrorOf } from './helpers/world.ts';
import { versionedBucket } from './helpers/resources.ts';

const NOW = new Date('2026-06-01T00:00:00.000Z');
const later = (minutes: number) => new Date(NOW.getTime() + minutes * 60_000);

const bucket = versionedBucket;

async function baselineEvents(store: Store) {
  const { items } = await store.auditLog({ type: ['baseline'], limit: 100 } as never);
  return items;
}

for (const engine of ENGINES) {
  describe(`baseline store (${engine})`, () => {
    let store: Store;
    storePerSuite(engine, (s) => {
      store = s;
    });

    it('captures a first baseline for new resources only, and returns every active one', async () => {
      const first = await store.ensureBaselines([bucket('a'), bucket('b')], {
        actor: 'scanner',
        now: NOW,
      });
      expect(first.captured).toBe(2);
      expect(
        first.baselines.map((b) => [b.resourceId, b.version, b.reason, b.active]).sort(),
      ).toEqual([
        ['arn:aws:s3:::a', 1, 'discovered', true],
        ['arn:aws:s3:::b', 1, 'discovered', true],
      ]);
      // Seen again with another configuration: the baseline stays what was first seen.
      const again = await store.ensureBaselines([bucket('a', 'Suspended'), bucket('c')], {
        actor: 'scanner',
        now: later(1),
      });
      expect(again.captured).toBe(1);
      const a = again.baselines.find((b) => b.resourceId === 'arn:aws:s3:::a');
      expect(a?.config).toEqual(bucket('a').config);
      expect(a?.tags).toEqual({ env: 'prod' });
      expect(a?.capturedBy).toBe('scanner');
    });

    it('captures a new active version on demand and keeps the old one as history, audited', async () => {
      const [promoted] = await store.captureBaselines([bucket('a', 'Suspended')], {
        actor: 'token:admin',
        now: later(2),
        reason: 'promoted',
      });
      expect(promoted).toMatchObject({ version: 2, reason: 'promoted', active: true });
      const active = await store.activeBaselines(['arn:aws:s3:::a']);
      expect(active.map((b) => [b.version, b.config])).toEqual([
        [2, bucket('a', 'Suspended').config],
      ]);
      const history = await store.listBaselines({
        resourceId: 'arn:aws:s3:::a',
        allVersions: true,
      });
      expect(history.items.map((b) => [b.version, b.active])).toEqual([
        [2, true],
        [1, false],
      ]);
      expect(await store.getBaseline(promoted!.id)).toEqual(promoted);
      const events = await baselineEvents(store);
      expect(
        events.some((e: any) => e.comment === 'promoted' && e.data?.baselines?.[0]?.version === 2),
      ).toBe(true);
      expect(events.some((e: any) => e.comment === 'discovered' && e.data?.count === 2)).toBe(true);
    });

    it('lists active baselines with filters and a total', async () => {
      const all = await store.listBaselines({});
      expect(all.total).toBe(3);
      expect(all.items.map((b) => b.resourceId)).toEqual([
        'arn:aws:s3:::a',
        'arn:aws:s3:::b',
        'arn:aws:s3:::c',
      ]);
      const page = await store.listBaselines({ limit: 1, offset: 1 });
      expect(page.items.map((b) => b.resourceId)).toEqual(['arn:aws:s3:::b']);
      expect((await store.listBaselines({ type: 'AwsEc2Instance' })).total).toBe(0);
    });

    it('refuses bad input and changes nothing', async () => {
      const before = await store.listBaselines({ allVersions: true });
      expect(
        (await appErrorOf(store.captureBaselines([], { actor: 'a', now: NOW, reason: 'captured' })))
          .code,
      ).toBe('invalid_input');
      expect(
        (
          await appErrorOf(
            store.captureBaselines([bucket('d'), { ...bucket('e'), id: '' }], {
              actor: 'a',
              now: NOW,
              reason: 'captured',
            }),
          )
        ).code,
      ).toBe('invalid_input');
      expect((await appErrorOf(store.listBaselines({ limit: 0 }))).code).toBe('invalid_input');
      expect(await store.listBaselines({ allVersions: true })).toEqual(before);
    });

    it('resolves the inventory resources a capture is about, changing nothing', async () => {
      const now = later(3);
      const run = await store.startScan({ trigger: 'cli', actor: 'test', now, units: [] });
      await store.updateInventory({
        scanId: run!.id,
        startedAt: run!.startedAt,
        now,
        resources: ['a', 'fresh'].map((name) => ({ scope: 'test', resource: bucket(name) })),
        completeScopes: [],
      } as never);
      await store.finishScan(run!.id, { status: 'completed', now, summary: null });
      const before = await store.listBaselines({ allVersions: true });

      const named = await store.baselineTargets({ resourceIds: ['arn:aws:s3:::a'] });
      expect(named.map((r) => [r.id, r.config, r.tags])).toEqual([
        ['arn:aws:s3:::a', bucket('a').config, { env: 'prod' }],
      ]);
      expect((await store.baselineTargets({ all: true })).map((r) => r.id).sort()).toEqual([
        'arn:aws:s3:::a',
        'arn:aws:s3:::fresh',
      ]);
      const refusals = [
        store.baselineTargets({ resourceIds: ['arn:aws:s3:::nope'] }),
        store.baselineTargets({ resourceIds: ['arn:aws:s3:::fresh'] }, { existingOnly: true }),
        store.baselineTargets({}),
        store.baselineTargets({ all: true, resourceIds: ['arn:aws:s3:::a'] }),
      ];
      expect(await Promise.all(refusals.map(async (r) => (await appErrorOf(r)).code))).toEqual([
        'not_found',
        'not_found',
        'invalid_input',
        'invalid_input',
      ]);
      // A promotion is refused in the capture too, for a resource that lost its chance.
      const error = await appErrorOf(
        store.captureBaselines([bucket('a', 'Suspended'), bucket('fresh')], {
          actor: 'token:admin',
          now,
          reason: 'promoted',
          existingOnly: true,
        }),
      );
      expect([error.code, error.message]).toEqual([
        'not_found',
        expect.stringContaining('"arn:aws:s3:::fresh"'),
      ]);
      expect(await store.listBaselines({ allVersions: true })).toEqual(before);
    });

    it('stores the check settings as a settings group, audited', async () => {
      expect((await store.getCheckSettings()).keyRotationDays).toBe(90);
      const updated = await store.updateCheckSettings(
        { keyRotationDays: 45, sensitivePorts: [22, 3389] },
        { actor: 'token:admin', now: NOW },
      );
      expect(updated).toMatchObject({
        keyRotationDays: 45,
        keyUnusedDays: 90,
        sensitivePorts: [22, 3389],
      });
      expect(await store.getCheckSettings()).toEqual(updated);
    });

    it('captures many resources in one go', async () => {
      const many = Array.from({ length: 1200 }, (_, i) =>
        bucket(`bulk-${String(i).padStart(4, '0')}`),
      );
      const out = await store.ensureBaselines(many, { actor: 'scanner', now: NOW });
      expect(out.captured).toBe(1200);
      expect(out.baselines).toHaveLength(1200);
      const promoted = await store.captureBaselines(many, {
        actor: 'a',
        now: later(5),
        reason: 'captured',
      });
      expect(promoted.every((b) => b.version === 2)).toBe(true);
      expect((await store.activeBaselines(many.map((r) => r.id))).length).toBe(1200);
    });
  });
}
