import { DatabaseSync } from 'node:sqlite';
import { Kysely, SqliteDialect } from 'kysely';
import { describe, expect, it } from 'vitest';
import { insertRows, MAX_PARAMETERS, statementSize } from '../src/store/bulk-insert.ts';
import { adaptNodeSqlite } from '../src/store/sqlite-adapter.ts';
import type { Database } from '../src/store/schema.ts';

type Row = Database['action_findings'];

/** An in-memory database; `statements` collects the SQL of every statement it runs. */
function database(statements?: Set<string>) {
  const file = new DatabaseSync(':memory:');
  file.exec(
    'CREATE TABLE action_findings (action_id TEXT, origin TEXT, finding_id TEXT, linked_at TEXT, ' +
      'PRIMARY KEY (action_id, origin, finding_id))',
  );
  const adapted = adaptNodeSqlite(file);
  const prepare = adapted.prepare.bind(adapted);
  adapted.prepare = (sql) => {
    statements?.add(sql);
    return prepare(sql);
  };
  return new Kysely<Database>({ dialect: new SqliteDialect({ database: adapted }) });
}

const rows = (n: number, from = 0): Row[] =>
  Array.from({ length: n }, (_, i) => ({
    action_id: `a-${from + i}`,
    origin: i % 2 ? 'prowler' : 'scan',
    finding_id: `f-${from + i}`,
    linked_at: `2026-01-01T00:00:${String(i % 60).padStart(2, '0')}Z`,
  }));

describe('inserting rows many per statement', () => {
  it('stores every value in its column, across statements of different sizes', async () => {
    const db = database();
    // Four columns: MAX_PARAMETERS / 4 rows a statement, so 20,000 take three, the last
    // one shorter.
    expect(20_000 / (MAX_PARAMETERS / 4)).toBeGreaterThan(2);
    const first = rows(20_000);
    await insertRows(db, 'action_findings', first);
    await insertRows(db, 'action_findings', rows(3, 20_000));
    const stored = await db
      .selectFrom('action_findings')
      .selectAll()
      .orderBy('finding_id')
      .execute();
    expect(stored).toHaveLength(20_003);
    const byId = new Map(stored.map((r) => [r.finding_id, r]));
    for (const row of [...first, ...rows(3, 20_000)]) expect(byId.get(row.finding_id)).toEqual(row);
    await db.destroy();
  });

  it('stores batches of every size through a few statements, whatever the sizes', async () => {
    const statements = new Set<string>();
    const db = database(statements);
    let stored = 0;
    for (let n = 1; n <= 300; n++) {
      await insertRows(db, 'action_findings', rows(n, stored));
      stored += n;
    }
    // 1, 2, 4, ..., 256 rows.
    expect(statements.size).toBe(9);
    expect(await db.selectFrom('action_findings').select('finding_id').execute()).toHaveLength(
      stored,
    );
    expect([1, 2, 3, 7, 8, 967, 968, 5000].map((left) => statementSize(left, 967))).toEqual([
      1, 2, 2, 4, 8, 967, 967, 967,
    ]);
    await db.destroy();
  });

  it('refuses rows whose columns differ from the first, writing nothing', async () => {
    const db = database();
    const [a, b] = rows(2);
    const { linked_at: _, ...short } = b!;
    await expect(insertRows(db, 'action_findings', [a!, short as Row])).rejects.toThrow(
      /every row must have the columns of the first/,
    );
    const renamed = { ...short, linked: 'x' } as unknown as Row;
    await expect(insertRows(db, 'action_findings', [a!, renamed])).rejects.toThrow(
      /a row has no linked_at/,
    );
    expect(await db.selectFrom('action_findings').selectAll().execute()).toEqual([]);
    await db.destroy();
  });
});
