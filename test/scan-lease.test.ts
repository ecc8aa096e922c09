import pino from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { AccountClients } from '../src/cloud/accounts.ts';
import { AppError } from '../src/domain/errors.ts';
import { SCAN_STALE_MS, SCAN_SWEEP_MS } from '../src/inventory/runs.ts';
import { createScanner } from '../src/inventory/scan.ts';
import { createScanScheduler } from '../src/inventory/schedule.ts';
import type { Store } from '../src/store/store.ts';
import { ENGINES, kyselyFor, storePerSuite, type TestDatabase } from './helpers/databases.ts';
import { heldCluster, kubeClients, type HeldCluster } from './helpers/held-cluster.ts';

const log = pino({ level: 'silent' });

describe.each(ENGINES)('a scan left running by a stopped server on %s', (engine) => {
  let store: Store;
  let database: TestDatabase;
  storePerSuite(engine, (s, d) => {
    store = s;
    database = d;
  });

  /** A scanner with nothing to read (an accounts file naming no account or cluster). */
  const scannerAt = (clock: () => Date) =>
    createScanner({
      store,
      clients: {} as AccountClients,
      accounts: { aws: [], kubernetes: [] },
      defaultRegion: 'us-east-1',
      defaultKubeContext: false,
      log,
      clock,
    });

  /** A running scan whose last heartbeat is `heartbeatAt`, written straight to the table. */
  async function leftRunning(startedAt: Date, heartbeatAt: Date): Promise<string> {
    const run = await store.startScan({
      trigger: 'manual',
      actor: 'token:ops',
      now: startedAt,
      units: [],
    });
    const db = kyselyFor(database);
    try {
      await db
        .updateTable('scan_runs')
        .set({ heartbeat_at: heartbeatAt.toISOString() })
        .where('id', '=', run!.id)
        .execute();
    } finally {
      await db.destroy();
    }
    return run!.id;
  }

  it('is failed within a minute of its last heartbeat, and a new scan can start', async () => {
    expect(SCAN_STALE_MS + SCAN_SWEEP_MS).toBeLessThanOrEqual(60_000);
    const beat = new Date('2026-09-01T10:05:00Z');
    const id = await leftRunning(new Date('2026-09-01T10:00:00Z'), beat);
    let now = new Date(beat.getTime() + SCAN_STALE_MS - 1_000);
    const clock = () => now;
    const schedule = createScanScheduler({ store, scanner: scannerAt(clock), log, clock });

    // Not yet stale: it still counts as the running scan.
    expect(await schedule.sweep()).toBe(0);
    const refused = await scannerAt(clock)
      .start({ trigger: 'manual', actor: 'token:ops' })
      .catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(AppError);
    expect((refused as AppError).details).toMatchObject({ scanId: id });

    now = new Date(beat.getTime() + SCAN_STALE_MS + 1_000);
    expect(await schedule.sweep()).toBe(1);
    expect(await store.getScan(id)).toMatchObject({
      status: 'failed',
      finishedAt: now.toISOString(),
      error: expect.stringContaining('the server running it stopped'),
    });
    const next = await scannerAt(clock).run({ trigger: 'manual', actor: 'token:ops' });
    expect(next).toMatchObject({ status: 'completed' });
  });

  it('lets a new scan start at once when its heartbeat is stale, without waiting for a sweep', async () => {
    const beat = new Date('2026-09-02T10:00:00Z');
    const id = await leftRunning(beat, beat);
    const now = new Date(beat.getTime() + SCAN_STALE_MS + 1_000);
    const started = await scannerAt(() => now).run({ trigger: 'manual', actor: 'token:ops' });
    expect(started.id).not.toBe(id);
    expect(started.status).toBe('completed');
    expect((await store.getScan(id))?.error).toContain('the server running it stopped');
  });

  it('keeps a scan whose heartbeat is renewed, and tells a server its scan was failed', async () => {
    const t0 = new Date('2026-09-03T10:00:00Z');
    const at = (ms: number) => new Date(t0.getTime() + ms);
    const id = await leftRunning(t0, t0);
    expect(await store.updateScanUnits(id, [], at(SCAN_STALE_MS - 5_000))).toBe(true);
    const clock = () => at(SCAN_STALE_MS + 5_000);
    const schedule = createScanScheduler({ store, scanner: scannerAt(clock), log, clock });
    expect(await schedule.sweep()).toBe(0);
    expect((await store.getScan(id))?.status).toBe('running');

    const late = () => at(2 * SCAN_STALE_MS);
    await createScanScheduler({ store, scanner: scannerAt(late), log, clock: late }).sweep();
    expect((await store.getScan(id))?.status).toBe('failed');
    // The stopped server's next heartbeat finds its scan gone and writes nothing.
    expect(await store.updateScanUnits(id, [], late())).toBe(false);
    expect((await store.getScan(id))?.status).toBe('failed');
  });

  describe('while the scan runs', () => {
    const clusters: HeldCluster[] = [];
    afterEach(async () => {
      await Promise.all(clusters.splice(0).map((c) => c.close()));
    });

    it('renews the heartbeat, and records nothing once another replica failed the scan', async () => {
      const cluster = await heldCluster();
      clusters.push(cluster);
      const t0 = new Date('2026-09-04T10:00:00Z');
      let now = t0;
      const clock = () => now;
      const clients = kubeClients({ shop: cluster });
      const scanner = createScanner({
        store,
        clients: { forKubeconfig: () => clients } as unknown as AccountClients,
        accounts: { aws: [], kubernetes: [{ contexts: ['shop'] }] },
        defaultRegion: 'us-east-1',
        defaultKubeContext: false,
        log,
        clock,
        heartbeatMs: 20,
      });
      const run = await scanner.start({ trigger: 'manual', actor: 'token:ops' });
      // Discovery waits on the cluster; the heartbeat goes on meanwhile.
      await vi.waitFor(() => expect(cluster.held.length).toBeGreaterThan(0));
      now = new Date(t0.getTime() + 30_000);
      const db = kyselyFor(database);
      try {
        const heartbeat = async () =>
          (
            await db
              .selectFrom('scan_runs')
              .select('heartbeat_at')
              .where('id', '=', run!.id)
              .executeTakeFirstOrThrow()
          ).heartbeat_at;
        await vi.waitFor(async () => expect(await heartbeat()).toBe(now.toISOString()));
      } finally {
        await db.destroy();
      }

      // This server stalls past the stale age as another replica sees it.
      const late = () => new Date(t0.getTime() + 30_000 + SCAN_STALE_MS + 1_000);
      expect(await createScanScheduler({ store, scanner, log, clock: late }).sweep()).toBe(1);
      now = late();
      const list = { kind: 'List', apiVersion: 'v1', metadata: {}, items: [] as unknown[] };
      const namespaces = {
        ...list,
        items: [{ metadata: { name: 'shop', uid: 'u-shop', labels: {} } }],
      };
      // Let discovery finish: every read the cluster holds, and any that follow, answered.
      while ((await Promise.race([scanner.idle().then(() => true), tick()])) === false) {
        while (cluster.held.length > 0) cluster.answer(namespaces);
      }
      expect(await store.getScan(run!.id)).toMatchObject({
        status: 'failed',
        error: expect.stringContaining('the server running it stopped'),
        summary: null,
      });
      expect((await store.listResources({ limit: 10 })).items).toEqual([]);
    });
  });
});

/** Resolves false on the next turn of the event loop. */
const tick = () => new Promise<false>((resolve) => setImmediate(() => resolve(false)));
