import { mkdtempSync, rmSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kysely, PostgresDialect, SqliteDialect } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll } from 'vitest';
import { openStore, SQLITE_FILE } from '../../src/store/connect.ts';
import { adaptNodeSqlite } from '../../src/store/sqlite-adapter.ts';
import { openSqliteFile } from '../../src/store/sqlite-file.ts';
import type { Store } from '../../src/store/store.ts';

export const ENGINES = ['sqlite', 'postgres'] as const;
export type Engine = (typeof ENGINES)[number];

/** The PostgreSQL server tests use; CI's machine runs one on the standard port. */
export const PG_ADMIN_URL =
  process.env.INFRAUDIT_TEST_PG ?? 'postgres://postgres@127.0.0.1:5432/test';

export interface TestDatabase {
  engine: Engine;
  /** Pass as `databaseUrl`; undefined for SQLite. */
  url: string | undefined;
  dataDir: string;
  open(): Promise<Store>;
  drop(): Promise<void>;
}

/** A fresh, empty database of the given engine: a temp folder, or a new PostgreSQL database. */
export async function createTestDatabase(engine: Engine): Promise<TestDatabase> {
  const dataDir = mkdtempSync(join(tmpdir(), 'infraudit-test-'));
  let url: string | undefined;
  let name = '';
  if (engine === 'postgres') {
    name = `infraudit_t_${process.pid}_${Math.random().toString(36).slice(2, 10)}`;
    await admin(`CREATE DATABASE ${name}`);
    url = new URL(`/${name}`, PG_ADMIN_URL).toString();
  }
  return {
    engine,
    url,
    dataDir,
    open: () => openStore({ databaseUrl: url, dataDir, poolSize: 20 }),
    async drop() {
      rmSync(dataDir, { recursive: true, force: true });
      if (name) await admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    },
  };
}

/**
 * A fresh database of `engine` with its store open, for the tests of the enclosing suite; the
 * store is closed and the database dropped after them.
 */
export function storePerSuite(
  engine: Engine,
  use: (store: Store, database: TestDatabase) => void,
): void {
  let database: TestDatabase | undefined;
  let store: Store | undefined;
  beforeAll(async () => {
    database = await createTestDatabase(engine);
    store = await database.open();
    use(store, database);
  });
  afterAll(async () => {
    await store?.close();
    await database?.drop();
  });
}

async function admin(statement: string) {
  const client = new pg.Client({ connectionString: PG_ADMIN_URL });
  await client.connect();
  try {
    await client.query(statement);
  } finally {
    await client.end();
  }
}

/** Every byte a test database keeps, as text: the SQLite files, or every PostgreSQL row. */
export async function databaseText(database: TestDatabase, dataDir = database.dataDir) {
  if (!database.url) {
    const files = await readdir(dataDir);
    const parts = await Promise.all(
      files.map((f) => readFile(join(dataDir, f)).then((b) => b.toString('latin1'))),
    );
    return parts.join('\n');
  }
  const client = new pg.Client({ connectionString: database.url });
  await client.connect();
  try {
    const tables = await client.query(
      "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'",
    );
    let text = '';
    for (const { table_name } of tables.rows) {
      const rows = await client.query(`SELECT t::text AS row FROM "${table_name}" t`);
      text += rows.rows.map((r) => r.row).join('\n');
    }
    return text;
  } finally {
    await client.end();
  }
}

/** A plain Kysely on a test database, outside any store: for migration tests. */
export function kyselyFor(database: TestDatabase): Kysely<any> {
  if (database.url) {
    return new Kysely({
      dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: database.url }) }),
    });
  }
  const file = openSqliteFile(join(database.dataDir, SQLITE_FILE));
  return new Kysely({ dialect: new SqliteDialect({ database: adaptNodeSqlite(file) }) });
}
