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
export function fill(file: string, n: number) {
  const db = new DatabaseSync(file);
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
  const row = (i: number) => {
    const severity = SEVERITIES[i % SEVERITIES.length]!;
    const bucket = `queue-bucket-${i}`;
    const at = new Date(start + i * 60_000).toISOString();
    return {
      id: randomUUID(),
      type: 's3.enable-default-encryption',
      title: `Enable default encryption on bucket ${bucket}`,
      resource_provider: 'aws',
      resource_account: '111122223333',
      resource_region: 'us-east-1',
      resource_type: 'AwsS3Bucket',
      resource_id: `arn:aws:s3:::${bucket}`,
      resource_name: bucket,
      source_kind: 'vulnerability',
      source_finding_id: `f-${i}`,
      source_title: 'S3 bucket without default encryption',
      source_origin: 'prowler',
      source_check_id: 's3_bucket_default_encryption',
      severity,
      severity_rank: SEVERITIES.indexOf(severity),
      risk: 'low',
      status: STATUSES[(i * 7) % STATUSES.length]!,
      open_key: null,
      plan,
      planned_at: at,
      attempt: 0,
      created_by: 'bench',
      created_at: at,
      updated_at: at,
      version: 1,
    };
  };
  const columns = Object.keys(row(0));
  const placeholders = columns.map((c) => `:${c}`).join(', ');
  const insert = db.prepare(`INSERT INTO actions (${columns.join(', ')}) VALUES (${placeholders})`);
  db.exec('BEGIN');
  for (let i = 0; i < n; i++) insert.run(row(i));
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
    'AND severity IN (?, ?) AND (created_at, id) < (?, ?) ' +
    'ORDER BY created_at DESC, id DESC LIMIT 51';
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
