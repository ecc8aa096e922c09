import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll } from 'vitest';
import { openStore } from '../../src/store/connect.ts';
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
