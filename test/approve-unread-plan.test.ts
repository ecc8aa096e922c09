import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Engine } from '../src/engine/engine.ts';
import { actionWhen, quickEngine } from './helpers/actions.ts';
import { startApi, suggestion, type ApiHarness } from './helpers/api.ts';
import { createTestDatabase, ENGINES, type TestDatabase } from './helpers/databases.ts';
import { createBucket, startWorld, type World } from './helpers/world.ts';

describe.each(ENGINES)('approving a plan that could not read the live state (%s)', (engine) => {
  let database: TestDatabase;
  let api: ApiHarness;
  let world: World;
  let worker: Engine;

  beforeAll(async () => {
    database = await createTestDatabase(engine);
    api = await startApi({ database });
    world = await startWorld();
    worker = quickEngine({ store: api.store, clients: world.clients, catalog: world.catalog });
    await worker.start();
  }, 60_000);
  afterAll(async () => {
    await worker?.stop();
    await world?.close();
    await api?.close();
    await database?.drop();
  }, 60_000);

  /** Suggests the fix for a new bucket and waits for the engine to read its plan. */
  async function planned(bucket: string) {
    const res = await api.call('POST', '/api/v1/actions', {
      as: 'operator',
      body: suggestion(bucket),
    });
    expect(res.status).toBe(201);
    const id = res.body.action.id as string;
    worker.wake();
    await actionWhen(api.store, id, (a) => a.plannedAt !== null);
    return (await api.call('GET', `/api/v1/actions/${id}`)).body;
  }

  it('refuses the approval with 409 and changes nothing; a new action from the finding plans again', async () => {
    const bucket = `${engine}-unread`;
    await createBucket(world, bucket);
    // Every attempt the SDK makes at the plan's read fails.
    world.sandbox.injectFault({
      service: 's3',
      operation: 'GetBucketEncryption',
      kind: 'error',
      count: 4,
    });
    const unread = await planned(bucket);
    expect(world.sandbox.faults()).toEqual([]);
    expect(unread.action.plan).toMatchObject({
      before: null,
      error: { code: 'cloud_error', cloudCode: 'InternalError' },
    });
    const id = unread.action.id as string;

    const refused = await api.call('POST', `/api/v1/actions/${id}/approve`, {
      body: { comment: 'looks fine' },
    });
    expect(refused.status).toBe(409);
    expect(refused.body.error).toMatchObject({
      code: 'conflict',
      details: { operation: 'approve', planError: 'cloud_error' },
    });
    expect(refused.body.error.message).toMatch(
      new RegExp(`^cannot approve action ${id}: its plan could not read the live state`),
    );
    expect(refused.body.error.message).toMatch(/reject this action with a comment/);
    expect(refused.body.error.message).toMatch(/POST \/api\/v1\/findings\/\{id\}\/remediate/);

    // The bulk approval takes the same path.
    const bulk = await api.call('POST', '/api/v1/actions/bulk', {
      body: { op: 'approve', ids: [id] },
    });
    expect(bulk.status).toBe(200);
    expect(bulk.body.results).toEqual([
      {
        id,
        ok: false,
        status: null,
        error: { code: 'conflict', message: refused.body.error.message },
      },
    ]);

    const after = (await api.call('GET', `/api/v1/actions/${id}`)).body;
    expect(after.action).toMatchObject({
      status: 'pending_approval',
      version: unread.action.version,
      approvedBy: null,
      requestedOp: null,
    });
    expect(after.events).toEqual(unread.events);

    // The way to plan it again: reject it, then remediate its finding anew.
    const rejected = await api.call('POST', `/api/v1/actions/${id}/reject`, {
      body: { comment: 'plan could not read the bucket' },
    });
    expect(rejected.status).toBe(200);
    expect(unread.findings).toHaveLength(1);
    const again = await api.call('POST', `/api/v1/findings/${unread.findings[0].id}/remediate`, {
      as: 'operator',
    });
    expect(again.status).toBe(201);
    const newId = again.body.action.id as string;
    expect(newId).not.toBe(id);
    worker.wake();
    const replanned = await actionWhen(api.store, newId, (a) => a.plannedAt !== null);
    expect(replanned.plan).toMatchObject({ before: { bucket, encryption: null }, error: null });
    const approved = await api.call('POST', `/api/v1/actions/${newId}/approve`, { body: {} });
    expect(approved.status).toBe(200);
    expect(approved.body.action.status).toBe('approved');
  });

  it('approves a plan that read the live state, as before', async () => {
    const bucket = `${engine}-read`;
    await createBucket(world, bucket);
    const read = await planned(bucket);
    expect(read.action.plan.error).toBeNull();
    const approved = await api.call('POST', `/api/v1/actions/${read.action.id}/approve`, {
      body: {},
    });
    expect(approved.status).toBe(200);
    expect(approved.body.action.status).toBe('approved');
  });
});
