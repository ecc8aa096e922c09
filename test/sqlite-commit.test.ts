import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SQLITE_FILE } from '../src/store/connect.ts';
import { openSqliteFile } from '../src/store/sqlite-file.ts';
import type { Store } from '../src/store/store.ts';
import { newAction } from './helpers/actions.ts';
import { createTestDatabase, type TestDatabase } from './helpers/databases.ts';

const opts = () => ({ actor: 'token:ops', now: new Date(), requireApproval: true });

/** A batch whose last action has no severity: the store refuses it after writing the first. */
function failingBatch(bucket: string) {
  return [
    newAction({ bucket }),
    { ...newAction({ bucket: `${bucket}-broken` }), severity: undefined as never },
  ];
}

async function buckets(store: Store, text: string): Promise<string[]> {
  const page = await store.listActions({ text, limit: 50 });
  return page.items.map((a) => a.resource.name).sort();
}

describe('the SQLite store commits', () => {
  let database: TestDatabase;
  let store: Store | undefined;

  afterEach(async () => {
    await store?.close();
    await database.drop();
  });

  it('a call that arrives alone in its own transactions: a failure keeps none of its writes', async () => {
    database = await createTestDatabase('sqlite');
    store = await database.open();
    await expect(store.createActions(failingBatch('alone-a'), opts())).rejects.toThrow();
    await store.createAction(newAction({ bucket: 'alone-b' }), opts());

    await store.close();
    store = await database.open();
    expect(await buckets(store, 'alone-')).toEqual(['alone-b']);
  });

  it('calls that arrive together in one: each keeps its own outcome, durably', async () => {
    database = await createTestDatabase('sqlite');
    store = await database.open();
    const calls = [
      store.createAction(newAction({ bucket: 'group-a' }), opts()),
      store.createActions(failingBatch('group-b'), opts()),
      store.createAction(newAction({ bucket: 'group-c' }), opts()),
    ];
    const outcomes = await Promise.allSettled(calls);
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);

    await store.close();
    store = await database.open();
    expect(await buckets(store, 'group-')).toEqual(['group-a', 'group-c']);
  });

  it('a call alone waits for another process that holds the write lock, then sees its write', async () => {
    database = await createTestDatabase('sqlite');
    store = await database.open();
    const first = await store.createAction(newAction({ bucket: 'locked' }), opts());

    // Another process (here a second connection) is writing: it approves the action.
    const other = openSqliteFile(join(database.dataDir, SQLITE_FILE));
    other.exec('BEGIN IMMEDIATE');
    other.prepare("UPDATE actions SET status = 'approved' WHERE id = ?").run(first.action.id);
    const released = new Promise<void>((resolve) =>
      setTimeout(() => {
        other.exec('COMMIT');
        other.close();
        resolve();
      }, 300),
    );
    // Reading first and writing later would find the lock taken and the snapshot stale;
    // the call takes the lock first, so it waits and then reads the approval.
    const rejected = store.transition(first.action.id, 'approve', {
      actor: 'token:admin',
      now: new Date(),
    });
    await released;
    await expect(rejected).rejects.toThrow(/approved/);
    expect((await store.getAction(first.action.id))?.status).toBe('approved');
  });
});
