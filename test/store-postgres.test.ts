import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Store } from '../src/store/store.ts';
import { newAction } from './helpers/actions.ts';
import { createTestDatabase, PG_ADMIN_URL, type TestDatabase } from './helpers/databases.ts';

describe('store on postgres when the server drops connections', () => {
  let database: TestDatabase;
  let store: Store;

  beforeAll(async () => {
    database = await createTestDatabase('postgres');
    store = await database.open();
  });
  afterAll(async () => {
    await store?.close();
    await database?.drop();
  });

  it('keeps serving after every idle connection is terminated', async () => {
    const { action } = await store.createAction(newAction(), {
      actor: 'token:ops',
      now: new Date(),
      requireApproval: true,
    });
    const name = new URL(database.url!).pathname.slice(1);
    const admin = new pg.Client({ connectionString: PG_ADMIN_URL });
    await admin.connect();
    const { rowCount } = await admin.query(
      'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1',
      [name],
    );
    await admin.end();
    expect(rowCount).toBeGreaterThan(0);

    await new Promise((r) => setTimeout(r, 100));
    expect((await store.getAction(action.id))?.status).toBe('pending_approval');
  });
});
