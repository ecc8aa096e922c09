import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { SEVERITIES, STATUSES } from '../src/domain/status.ts';
import { openStore } from '../src/store/connect.ts';
import { SUMMARY_COLUMNS } from '../src/store/rows.ts';
import type { SqliteStore } from '../src/store/sqlite-store.ts';
import type { ActionQuery } from '../src/store/store.ts';

const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;

/** Fills the actions table directly: 100,000 rows through the store would only time inserts. */
function fill(file: string, n: number) {
  const db = new DatabaseSync(file);
  const columns = [
    'id',
    'type',
    'title',
    'resource_provider',
    'resource_account',
    'resource_region',
    'resource_type',
    'resource_id',
    'resource_name',
    'source_kind',
    'source_finding_id',
    'source_title',
    'source_origin',
    'source_check_id',
    'severity',
    'severity_rank',
    'risk',
    'status',
    'open_key',
    'plan',
    'planned_at',
    'attempt',
    'created_by',
    'created_at',
    'updated_at',
    'version',
  ];
  const insert = db.prepare(
    `INSERT INTO actions (${columns.join(', ')}) VALUES (${columns.map(() => '?').join(', ')})`,
  );
  const plan = JSON.stringify({
    before: { encryption: null },
    after: { encryption: { rules: [{ SSEAlgorithm: 'AES256' }] } },
    calls: [{ service: 's3', operation: 'PutBucketEncryption', parameters: {} }],
    rollbackCalls: [],
    reversibility: { level: 'partial', note: 'returns to SSE-S3' },
    warnings: [],
    alreadyCompliant: false,
    error: null,
  });
  const start = Date.parse('2026-01-01T00:00:00Z');
  db.exec('BEGIN');
  for (let i = 0; i < n; i++) {
    const severity = SEVERITIES[i % SEVERITIES.length]!;
    const status = STATUSES[(i * 7) % STATUSES.length]!;
    const bucket = `queue-bucket-${i}`;
    const at = new Date(start + i * 60_000).toISOString();
    insert.run(
      randomUUID(),
      's3.enable-default-encryption',
      `Enable default encryption on bucket ${bucket}`,
      'aws',
      '111122223333',
      'us-east-1',
      'AwsS3Bucket',
      `arn:aws:s3:::${bucket}`,
      bucket,
      'vulnerability',
      `f-${i}`,
      'S3 bucket without default encryption',
      'prowler',
      's3_bucket_default_encryption',
      severity,
      SEVERITIES.indexOf(severity),
      'low',
      status,
      null,
      plan,
      at,
      0,
      'bench',
      at,
      at,
      1,
    );
  }
  db.exec('COMMIT');
  db.exec('ANALYZE');
  return db;
}

/**
 * p50/p95 of one page of the queue (status and severity filters, newest first, 50 rows,
 * following the cursor a few pages deep) through the store, against the same indexed
 * query sent as raw SQL through the same worker thread and node:sqlite connection.
 */
export async function queueBench(n: number, rounds: number) {
  const dataDir = mkdtempSync(join(tmpdir(), 'infraudit-bench-queue-'));
  const store = (await openStore({ dataDir })) as SqliteStore;
  const raw = fill(join(dataDir, 'infraudit.db'), n);
  const query: ActionQuery = {
    status: ['pending_approval', 'approved'],
    severity: ['high', 'critical'],
    sort: 'created',
    order: 'desc',
    limit: 50,
  };
  raw.close();
  // The same statement the store's first page runs, through the same worker and driver.
  const bareSql =
    `SELECT ${SUMMARY_COLUMNS.join(', ')} FROM actions WHERE status IN (?, ?) ` +
    'AND severity IN (?, ?) AND (created_at, id) < (?, ?) ORDER BY created_at DESC, id DESC LIMIT 51';
  const storeTimes: number[] = [];
  const bareTimes: number[] = [];
  let rows = 0;

  for (let round = 0; round < rounds; round++) {
    let cursor: string | undefined;
    let last: [string, string] = ['9999', 'z'];
    for (let page = 0; page < 5; page++) {
      let t = performance.now();
      const result = await store.listActions({ ...query, ...(cursor ? { cursor } : {}) });
      storeTimes.push(performance.now() - t);
      rows += result.items.length;
      cursor = result.nextCursor ?? undefined;

      t = performance.now();
      const bareRows = (await store.rawQuery(bareSql, [
        'pending_approval',
        'approved',
        'high',
        'critical',
        ...last,
      ])) as { created_at: string; id: string }[];
      bareTimes.push(performance.now() - t);
      const tail = bareRows[49];
      if (tail) last = [tail.created_at, tail.id];
    }
  }
  await store.close();
  rmSync(dataDir, { recursive: true, force: true });

  storeTimes.sort((a, b) => a - b);
  bareTimes.sort((a, b) => a - b);
  return {
    actions: n,
    pages: storeTimes.length,
    rowsRead: rows,
    store: { p50: percentile(storeTimes, 50), p95: percentile(storeTimes, 95) },
    bare: { p50: percentile(bareTimes, 50), p95: percentile(bareTimes, 95) },
    p95Ratio: percentile(storeTimes, 95) / percentile(bareTimes, 95),
  };
}
