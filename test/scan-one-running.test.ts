import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { up as oneRunningScan } from '../src/store/migrations/011-one-running-scan.ts';
import { createTestDatabase, ENGINES, kyselyFor, type TestDatabase } from './helpers/databases.ts';

const scanRow = (id: string, startedAt: string) => ({
  id,
  trigger: 'manual',
  actor: 'token:ops',
  status: 'running',
  slot: null,
  started_at: startedAt,
  heartbeat_at: startedAt,
  finished_at: null,
  units: '[]',
  summary: null,
  error: null,
});

describe.each(ENGINES)('one running scan per database on %s', (engine) => {
  let database: TestDatabase;
  beforeEach(async () => {
    database = await createTestDatabase(engine);
  });
  afterEach(async () => {
    await database.drop();
  });

  it('upgrading settles scans left running side by side, keeping the latest', async () => {
    const store = await database.open();
    await store.close();
    const db = kyselyFor(database);
    try {
      // A database from before the rule: the index absent, three scans running at once.
      await db.schema.dropIndex('scan_runs_one_running').execute();
      await db
        .insertInto('scan_runs')
        .values([
          scanRow('scan-a', '2026-07-01T10:00:00.000Z'),
          scanRow('scan-c', '2026-07-01T10:00:02.000Z'),
          scanRow('scan-b', '2026-07-01T10:00:01.000Z'),
        ])
        .execute();

      await oneRunningScan(db);
      const rows = await db
        .selectFrom('scan_runs')
        .select(['id', 'status', 'error'])
        .orderBy('id')
        .execute();
      expect(rows.map((r) => [r.id, r.status])).toEqual([
        ['scan-a', 'failed'],
        ['scan-b', 'failed'],
        ['scan-c', 'running'],
      ]);
      expect(rows[0]?.error).toContain('interrupted: only one scan may run at a time');

      // The index now refuses a second running scan, whoever inserts it.
      await expect(
        db.insertInto('scan_runs').values(scanRow('scan-d', '2026-07-01T11:00:00.000Z')).execute(),
      ).rejects.toThrow();
      const finished = { ...scanRow('scan-e', '2026-07-01T11:00:00.000Z'), status: 'completed' };
      await db.insertInto('scan_runs').values(finished).execute();
    } finally {
      await db.destroy();
    }
  });
});
