import { DatabaseSync } from 'node:sqlite';
import { Kysely, SqliteDialect } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditStore } from '../src/store/audit.ts';
import { appendEvent } from '../src/store/events.ts';
import * as initial from '../src/store/migrations/001-initial.ts';
import * as guardRails from '../src/store/migrations/009-guard-rails.ts';
import type { Database } from '../src/store/schema.ts';
import { adaptNodeSqlite } from '../src/store/sqlite-adapter.ts';
import type { SqliteStore } from '../src/store/sqlite-store.ts';
import type { Store } from '../src/store/store.ts';
import { newAction } from './helpers/actions.ts';
import { createTestDatabase, ENGINES, type TestDatabase } from './helpers/databases.ts';

const CREATOR = 'token:creator';
const APPROVER = 'token:approver';

/** Runs SQL straight on the database, around the store, as an intruder with access would. */
type Raw = (statement: string, params?: unknown[]) => Promise<any[]>;

function rawAccess(engine: string, store: Store, database: TestDatabase) {
  let client: pg.Client | undefined;
  const raw: Raw = async (statement, params = []) => {
    if (engine === 'sqlite') return (store as SqliteStore).rawQuery(statement, params);
    if (!client) {
      client = new pg.Client({ connectionString: database.url });
      await client.connect();
    }
    return (await client.query(statement, params)).rows;
  };
  // The append-only triggers stop the product and a careless UPDATE alike; an intruder
  // with full access can drop them, and the chain must still tell.
  const unguard = async () => {
    if (engine === 'sqlite') {
      await raw('DROP TRIGGER IF EXISTS events_no_update');
      await raw('DROP TRIGGER IF EXISTS events_no_delete');
    } else {
      await raw('ALTER TABLE events DISABLE TRIGGER USER');
    }
  };
  const p = (n: number) => (engine === 'sqlite' ? '?' : `$${n}`);
  return { raw, unguard, p, close: () => client?.end() };
}

describe.each(ENGINES)('audit chain on %s', (engine) => {
  let database: TestDatabase;
  let store: Store;
  let db: ReturnType<typeof rawAccess>;
  let actionId = '';

  beforeAll(async () => {
    database = await createTestDatabase(engine);
    store = await database.open();
    db = rawAccess(engine, store, database);
    const now = new Date('2026-03-01T10:00:00Z');
    const { action } = await store.createAction(newAction(), {
      actor: CREATOR,
      now,
      requireApproval: true,
    });
    actionId = action.id;
    await store.comment(action.id, { actor: CREATOR, now, text: 'first look' });
    await store.transition(action.id, 'approve', {
      actor: APPROVER,
      now: new Date('2026-03-01T11:00:00Z'),
      comment: 'CHG-1',
    });
    await store.updateSettings({ rollbackWindowMinutes: 45 }, { actor: APPROVER, now });
    for (let i = 0; i < 6; i++) {
      await store.createAction(newAction(), {
        actor: 'system',
        now: new Date(`2026-03-02T0${i}:00:00Z`),
        requireApproval: true,
      });
    }
  });
  afterAll(async () => {
    await db?.close();
    await store?.close();
    await database?.drop();
  });

  it('chains every event from the first, and verifies', async () => {
    const result = await store.verifyAudit();
    expect(result.problem).toBeNull();
    expect(result.ok).toBe(true);
    expect(result.entries).toBe(result.head.seq);
    const all = await store.auditLog({ order: 'asc', limit: 1000 });
    expect(all.items.map((e) => e.seq)).toEqual(all.items.map((_, i) => i + 1));
    expect(all.items[0]!.prevHash).toBe('0'.repeat(64));
    for (let i = 1; i < all.items.length; i++) {
      expect(all.items[i]!.prevHash).toBe(all.items[i - 1]!.hash);
    }
    expect(result.head.hash).toBe(all.items.at(-1)!.hash);
  });

  it('filters by action, actor, type and time, and pages without gaps or repeats', async () => {
    const byAction = await store.auditLog({ actionId });
    expect(byAction.items.length).toBeGreaterThanOrEqual(3);
    expect(byAction.items.every((e) => e.actionId === actionId)).toBe(true);
    const byActor = await store.auditLog({ actor: APPROVER });
    expect(byActor.items.map((e) => e.type).sort()).toEqual(['settings', 'transition']);
    const comments = await store.auditLog({ type: ['comment'] });
    expect(comments.items.map((e) => e.comment)).toEqual(['first look']);
    const window = await store.auditLog({
      since: '2026-03-02T01:00:00Z',
      until: '2026-03-02T03:00:00Z',
    });
    expect(window.items.map((e) => e.at)).toEqual(
      expect.arrayContaining(['2026-03-02T01:00:00.000Z', '2026-03-02T02:00:00.000Z']),
    );
    expect(window.items.every((e) => e.at >= '2026-03-02T01' && e.at < '2026-03-02T03')).toBe(true);

    const everything = (await store.auditLog({ limit: 1000 })).items.map((e) => e.seq);
    const paged: number[] = [];
    let cursor: string | undefined;
    do {
      const page = await store.auditLog({ limit: 4, ...(cursor ? { cursor } : {}) });
      paged.push(...page.items.map((e) => e.seq));
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    expect(paged).toEqual(everything);
    expect(everything[0]).toBeGreaterThan(everything[1]!);
  });

  it('refuses bad filters with a clear error', async () => {
    await expect(store.auditLog({ since: 'yesterday' })).rejects.toMatchObject({
      code: 'invalid_input',
      message: expect.stringContaining('ISO-8601'),
    });
    await expect(store.auditLog({ cursor: 'abc' })).rejects.toMatchObject({
      code: 'invalid_input',
    });
    await expect(store.auditLog({ limit: 0 })).rejects.toMatchObject({ code: 'invalid_input' });
  });

  it('refuses UPDATE and DELETE on events at the database', async () => {
    await expect(db.raw(`UPDATE events SET comment = 'x' WHERE seq = 2`)).rejects.toThrow(
      /append-only/,
    );
    await expect(db.raw('DELETE FROM events WHERE seq = 2')).rejects.toThrow(/append-only/);
    expect((await store.verifyAudit()).ok).toBe(true);
  });

  describe('with the triggers dropped by an intruder', () => {
    beforeAll(async () => {
      await db.unguard();
    });

    it('finds an edited entry, and verifies again once it is put back', async () => {
      const [row] = await db.raw(`SELECT comment FROM events WHERE seq = 3`);
      await db.raw(`UPDATE events SET comment = ${db.p(1)} WHERE seq = 3`, ['nothing to see']);
      const result = await store.verifyAudit();
      expect(result.ok).toBe(false);
      expect(result.problem).toMatchObject({ kind: 'edited', seq: 3 });
      expect(result.problem!.message).toContain('entry 3');
      await db.raw(`UPDATE events SET comment = ${db.p(1)} WHERE seq = 3`, [row.comment]);
      expect((await store.verifyAudit()).ok).toBe(true);
    });

    it('finds an entry edited and rehashed, at that entry', async () => {
      const [row] = await db.raw(`SELECT actor, hash FROM events WHERE seq = 2`);
      await db.raw(`UPDATE events SET actor = 'token:someone-else', hash = 'f' WHERE seq = 2`);
      // A consistent rehash of entry 2 alone: entry 3 still names the original.
      const [edited] = await db.raw('SELECT * FROM events WHERE seq = 2');
      const { eventHash } = await import('../src/store/audit-hash.ts');
      await db.raw(`UPDATE events SET hash = ${db.p(1)} WHERE seq = 2`, [eventHash(edited)]);
      const result = await store.verifyAudit();
      expect(result.problem).toMatchObject({ kind: 'edited', seq: 2 });
      await db.raw(`UPDATE events SET actor = ${db.p(1)}, hash = ${db.p(2)} WHERE seq = 2`, [
        row.actor,
        row.hash,
      ]);
      expect((await store.verifyAudit()).ok).toBe(true);
    });

    it('finds a deleted entry at its place', async () => {
      const [row] = await db.raw('SELECT * FROM events WHERE seq = 4');
      await db.raw('DELETE FROM events WHERE seq = 4');
      const result = await store.verifyAudit();
      expect(result.problem).toMatchObject({ kind: 'deleted', seq: 4 });
      expect(result.problem!.message).toContain('entry 4 is missing');
      const columns = Object.keys(row);
      await db.raw(
        `INSERT INTO events (${columns.join(', ')}) VALUES (${columns.map((_, i) => db.p(i + 1)).join(', ')})`,
        columns.map((c) => row[c]),
      );
      expect((await store.verifyAudit()).ok).toBe(true);
    });

    it('finds entries deleted from the end of the chain', async () => {
      const head = (await store.verifyAudit()).head;
      const [row] = await db.raw(`SELECT * FROM events WHERE seq = ${head.seq}`);
      await db.raw(`DELETE FROM events WHERE seq = ${head.seq}`);
      const result = await store.verifyAudit();
      expect(result.problem).toMatchObject({ kind: 'deleted', seq: head.seq });
      const columns = Object.keys(row);
      await db.raw(
        `INSERT INTO events (${columns.join(', ')}) VALUES (${columns.map((_, i) => db.p(i + 1)).join(', ')})`,
        columns.map((c) => row[c]),
      );
      expect((await store.verifyAudit()).ok).toBe(true);
    });

    it('finds an entry inserted around the product', async () => {
      await db.raw(
        `INSERT INTO events (action_id, at, actor, type) VALUES (NULL, '2026-03-01T00:00:00.000Z', 'token:ghost', 'note')`,
      );
      const result = await store.verifyAudit();
      expect(result.problem).toMatchObject({ kind: 'inserted', seq: null });
      await db.raw(`DELETE FROM events WHERE actor = 'token:ghost'`);
      expect((await store.verifyAudit()).ok).toBe(true);
    });
  });
});

describe('audit chain on postgres with several replicas appending at once', () => {
  let database: TestDatabase;
  const stores: Store[] = [];

  beforeAll(async () => {
    database = await createTestDatabase('postgres');
    for (let i = 0; i < 3; i++) stores.push(await database.open());
  });
  afterAll(async () => {
    for (const store of stores) await store.close();
    await database?.drop();
  });

  it('keeps one unbroken chain', async () => {
    const { action } = await stores[0]!.createAction(newAction(), {
      actor: CREATOR,
      now: new Date(),
      requireApproval: true,
    });
    await Promise.all(
      stores.flatMap((store, replica) =>
        Array.from({ length: 30 }, (_, i) =>
          store.comment(action.id, {
            actor: `token:replica-${replica}`,
            now: new Date(),
            text: `note ${i}`,
          }),
        ),
      ),
    );
    const result = await stores[1]!.verifyAudit();
    expect(result.problem).toBeNull();
    expect(result.entries).toBe(2 + 90);
  });
});

describe('migration 009 on a database with events', () => {
  it('chains the events already there, and later appends continue the chain', async () => {
    const file = new DatabaseSync(':memory:');
    const db = new Kysely<Database>({
      dialect: new SqliteDialect({ database: adaptNodeSqlite(file) }),
    });
    await initial.up(db, 'sqlite');
    for (let i = 0; i < 5; i++) {
      await (db as Kysely<any>)
        .insertInto('events')
        .values({
          at: `2025-01-0${i + 1}T00:00:00.000Z`,
          actor: 'system',
          type: 'note',
          data: `{"n":${i}}`,
        })
        .execute();
    }
    await guardRails.up(db, 'sqlite');
    const audit = auditStore(db);
    expect(await audit.verifyAudit()).toMatchObject({ ok: true, entries: 5, head: { seq: 5 } });
    await db
      .transaction()
      .execute((trx) =>
        appendEvent(trx, { at: '2026-01-01T00:00:00.000Z', actor: 'system', type: 'note' }),
      );
    expect(await audit.verifyAudit()).toMatchObject({ ok: true, entries: 6 });
    const page = await audit.auditLog({ order: 'asc' });
    expect(page.items.map((e) => e.data)).toEqual([
      { n: 0 },
      { n: 1 },
      { n: 2 },
      { n: 3 },
      { n: 4 },
      null,
    ]);
    await db.destroy();
  });
});
