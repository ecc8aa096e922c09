import { beforeAll, describe, expect, it } from 'vitest';
import type { SortField, Store } from '../src/store/store.ts';
import { newAction } from './helpers/actions.ts';
import { startApi } from './helpers/api.ts';
import { ENGINES, storePerSuite } from './helpers/databases.ts';
import { appErrorOf } from './helpers/world.ts';

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

describe.each(ENGINES)('list cursors on %s', (engine) => {
  let store: Store;
  let otherStore: Store;
  storePerSuite(engine, (opened) => {
    store = opened;
  });
  storePerSuite(engine, (opened) => {
    otherStore = opened;
  });

  beforeAll(async () => {
    for (const s of [store, otherStore]) {
      for (let i = 0; i < 3; i++) {
        await s.createAction(newAction({ severity: i === 0 ? 'high' : 'low' }), {
          actor: 'token:ops',
          now: new Date(Date.now() + i),
          requireApproval: true,
        });
      }
    }
  });

  it('accepts the cursors it issued, for every sort', async () => {
    for (const sort of ['created', 'updated', 'severity', 'status', 'type', 'title'] as const) {
      const first = await store.listActions({ sort, limit: 2 });
      expect(first.nextCursor).toEqual(expect.any(String));
      const next = await store.listActions({ sort, limit: 2, cursor: first.nextCursor! });
      expect(next.items).toHaveLength(1);
      expect(first.items.map((a) => a.id)).not.toContain(next.items[0]!.id);
    }
  });

  it('refuses cursors it did not issue: forged, altered or from another database', async () => {
    const issued = (await store.listActions({ sort: 'created', limit: 1 })).nextCursor!;
    const [payload, signature] = issued.split('.');
    const fromOther = (await otherStore.listActions({ sort: 'created', limit: 1 })).nextCursor!;
    const forged: [SortField, string][] = [
      ['created', b64(['created', 'x', 'y'])],
      ['severity', b64(['severity', 'x', 'y'])],
      ['created', `${b64(['created', '9999', 'y'])}.${signature}`],
      ['created', `${payload}.${signature!.slice(0, -2)}AA`],
      ['created', `${payload}`],
      ['created', `${issued}.extra`],
      ['created', fromOther],
      ['created', 'not base64 at all'],
    ];
    for (const [sort, cursor] of forged) {
      const error = await appErrorOf(store.listActions({ sort, limit: 1, cursor }));
      expect(error.code, cursor).toBe('invalid_input');
      expect(error.message).toContain('not one this server issued');
    }
    const otherSort = await appErrorOf(
      store.listActions({ sort: 'title', limit: 1, cursor: issued }),
    );
    expect(otherSort.message).toContain('issued for sort "created"');
  });
});

describe('list cursors over the API', () => {
  it('answers a forged cursor with 400 invalid_input', async () => {
    const api = await startApi();
    try {
      const cursor = b64(['created', 'x', 'y']);
      const res = await api.call('GET', `/api/v1/actions?cursor=${cursor}`);
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe('invalid_input');
      expect(res.body.error.message).toContain('start again without it');
    } finally {
      await api.close();
    }
  });
});
