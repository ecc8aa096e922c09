import { Writable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../src/api/app.ts';
import { createCatalog } from '../src/catalog/index.ts';
import type { Action, SealedSecret } from '../src/domain/action.ts';
import type { Engine } from '../src/engine/engine.ts';
import { open, recipientKeyPair } from '../src/secrets/sealed-box.ts';
import { newAction } from '../src/service/new-action.ts';
import { createRemediationService } from '../src/service/remediation.ts';
import type { Store } from '../src/store/store.ts';
import { createTestDatabase, ENGINES, type TestDatabase } from './helpers/databases.ts';
import { iamDocument, type IamWorld, putState, startIamWorld, userRef } from './helpers/iam.ts';
import { actionWhen, quickEngine, stopEngineSuite } from './helpers/actions.ts';
import { databaseText as storedText } from './helpers/databases.ts';

const OLD = 'AKIAOLDKEY0000000001';
const catalog = createCatalog();

describe.each(ENGINES)('secret delivery of a key rotation on %s', (engineName) => {
  let database: TestDatabase;
  let store: Store;
  let world: IamWorld;
  let worker: Engine;
  let app: FastifyInstance;
  let url: string;
  const logLines: string[] = [];
  const tokens = { alice: '', bob: '' };

  beforeAll(async () => {
    database = await createTestDatabase(engineName);
    store = await database.open();
    world = await startIamWorld();
    const log = pino(
      { level: 'debug' },
      new Writable({
        write(chunk, _encoding, done) {
          logLines.push(String(chunk));
          done();
        },
      }),
    );
    worker = quickEngine({ store, clients: world.clients, catalog, log });
    await worker.start();
    const service = createRemediationService({ store, catalog, onWork: () => worker.wake() });
    app = await buildApp({ service, store, log });
    await app.listen({ host: '127.0.0.1', port: 0 });
    const address = app.server.address();
    url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/api/v1`;
    for (const name of ['alice', 'bob'] as const) {
      tokens[name] = (await store.createToken({ role: 'admin', name, now: new Date() })).token;
    }
  });

  afterAll(() => stopEngineSuite({ worker, app, world, store, database }));

  async function call(method: string, route: string, as: 'alice' | 'bob', body?: unknown) {
    const res = await fetch(`${url}${route}`, {
      method,
      headers: {
        authorization: `Bearer ${tokens[as]}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: res.status, body: (await res.json()) as any };
  }

  const until = (id: string, done: (a: Action) => boolean) =>
    actionWhen(store, id, done, { ms: 20_000 });
  const settled = (id: string) =>
    until(id, (a) => !a.requestedOp && ['completed', 'failed', 'rolled_back'].includes(a.status));

  /** An approved rotation for a user with one old key. */
  async function approvedRotation(user: string): Promise<string> {
    await putState(
      world.sandbox,
      iamDocument({ [user]: { keys: [{ id: OLD, created: 400, used: 1 }] } }),
    );
    const fix = catalog.get('iam.rotate-access-key')!;
    const source = {
      kind: 'vulnerability' as const,
      findingId: `finding-${engineName}-${user}`,
      title: 'access key older than 90 days',
      origin: 'prowler',
      checkId: 'iam_rotate_access_key_90_days',
    };
    const { action } = await store.createAction(
      newAction(fix, userRef(user), source, 'high', { maxAgeDays: 90 }),
      { actor: 'token:ops', now: new Date(), requireApproval: true },
    );
    worker.wake();
    await until(action.id, (a) => a.plannedAt !== null);
    expect((await call('POST', `/actions/${action.id}/approve`, 'alice', {})).status).toBe(200);
    return action.id;
  }

  async function collect(
    id: string,
    privateKey: ReturnType<typeof recipientKeyPair>['privateKey'],
  ) {
    const taken = await call('POST', `/actions/${id}/secret`, 'alice');
    expect(taken.status).toBe(200);
    const sealed = taken.body.secret as SealedSecret;
    return { name: sealed.name, value: open(sealed, privateKey) };
  }

  /** Every byte the database keeps, as text: the SQLite files, or every PostgreSQL row. */
  const databaseText = () => storedText(database);

  it('refuses to execute a rotation without a key to seal the secret to', async () => {
    const id = await approvedRotation('no-key-user');
    const missing = await call('POST', `/actions/${id}/execute`, 'alice', {});
    expect(missing.status).toBe(400);
    expect(missing.body.error.code).toBe('invalid_input');
    expect(missing.body.error.message).toMatch(
      /iam.rotate-access-key creates a secret .* so execute needs a recipientKey/,
    );
    const bad = await call('POST', `/actions/${id}/execute`, 'alice', {
      recipientKey: 'bm90IGEga2V5',
    });
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toMatch(/recipientKey must be an X25519 public key/);
    expect((await store.getAction(id))?.requestedOp).toBeNull();
  });

  it('rotates through the engine and hands the secret once to the requester only', async () => {
    const id = await approvedRotation('deploy-bot');
    const pair = recipientKeyPair();
    const queued = await call('POST', `/actions/${id}/execute`, 'alice', {
      recipientKey: pair.publicKey,
    });
    expect(queued.status).toBe(202);
    expect(queued.body.action.requestData).toEqual({ recipientKey: pair.publicKey });

    const done = await settled(id);
    expect(done.status).toBe('completed');
    const newKeyId = done.progress.newKeyId as string;
    expect(done.progress).toEqual({ oldKeyId: OLD, newKeyId, delivered: true });
    expect(await world.keys('deploy-bot')).toEqual([
      { id: OLD, status: 'Inactive' },
      { id: newKeyId, status: 'Active' },
    ]);

    const shown = await call('GET', `/actions/${id}`, 'bob');
    expect(shown.body.action.sealedSecret).toEqual({
      name: `SecretAccessKey for deploy-bot/${newKeyId}`,
    });

    const stranger = await call('POST', `/actions/${id}/secret`, 'bob');
    expect(stranger.status).toBe(403);
    expect(stranger.body.error.message).toMatch(
      /sealed for token:alice, who requested the execution/,
    );

    const secret = await collect(id, pair.privateKey);
    const issued = world.secretOf(newKeyId)!;
    expect(secret).toEqual({ name: `SecretAccessKey for deploy-bot/${newKeyId}`, value: issued });

    const again = await call('POST', `/actions/${id}/secret`, 'alice');
    expect(again.status).toBe(404);
    expect(again.body.error.message).toMatch(/a secret is handed over only once/);
    expect((await call('GET', `/actions/${id}`, 'alice')).body.action.sealedSecret).toBeNull();
    const notes = (await store.events(id)).filter((e) => e.type === 'note').map((e) => e.comment);
    expect(notes).toContain(
      `the sealed secret "SecretAccessKey for deploy-bot/${newKeyId}" was handed over and ` +
        'removed from the server',
    );

    // The scan does see what the database keeps: the key id, but never its secret.
    const stored = await databaseText();
    expect(stored).toContain(newKeyId);
    expect(stored).not.toContain(issued);
    expect(logLines.join('')).not.toContain(issued);
    expect(logLines.some((l) => l.includes('created the replacement access key'))).toBe(true);

    const back = await call('POST', `/actions/${id}/rollback`, 'alice', {});
    expect(back.status).toBe(202);
    expect((await settled(id)).status).toBe('rolled_back');
    expect(await world.keys('deploy-bot')).toEqual([{ id: OLD, status: 'Active' }]);
  });

  it('a failure mid-way is retried with a fresh key; the user still ends with one', async () => {
    const id = await approvedRotation('etl-bot');
    world.sandbox.injectFault({
      service: 'iam',
      operation: 'UpdateAccessKey',
      kind: 'error',
      count: 4,
    });
    const first = recipientKeyPair();
    await call('POST', `/actions/${id}/execute`, 'alice', { recipientKey: first.publicKey });
    const failed = await settled(id);
    expect(failed.status).toBe('failed');
    expect(failed.error).toMatchObject({ code: 'cloud_error', cloudCode: 'InternalFailure' });
    const abandoned = failed.progress.newKeyId as string;
    expect(failed.progress).toEqual({ oldKeyId: OLD, newKeyId: abandoned, delivered: false });
    expect(failed.sealedSecret).toBeNull();

    expect((await call('POST', `/actions/${id}/retry`, 'alice', {})).status).toBe(400);
    const second = recipientKeyPair();
    expect(
      (await call('POST', `/actions/${id}/retry`, 'alice', { recipientKey: second.publicKey }))
        .status,
    ).toBe(202);
    const done = await settled(id);
    expect(done.status).toBe('completed');
    const kept = done.progress.newKeyId as string;
    expect(kept).not.toBe(abandoned);
    expect(await world.keys('etl-bot')).toEqual([
      { id: OLD, status: 'Inactive' },
      { id: kept, status: 'Active' },
    ]);
    const creates = world.sandbox.mutations().filter((m) => m.operation === 'CreateAccessKey');
    const deletes = world.sandbox.mutations().filter((m) => m.operation === 'DeleteAccessKey');
    expect(creates.map((m) => m.resource).slice(-2)).toEqual([abandoned, kept]);
    expect(deletes.map((m) => m.resource).at(-1)).toBe(abandoned);

    const secret = await collect(id, second.privateKey);
    expect(secret.value).toBe(world.secretOf(kept));
    expect(await databaseText()).not.toContain(secret.value);
    expect(logLines.join('')).not.toContain(secret.value);
  });

  it('a lost CreateAccessKey answer fails the action; the retry replaces the orphan', async () => {
    const id = await approvedRotation('lost-answer');
    world.sandbox.injectFault({
      service: 'iam',
      operation: 'CreateAccessKey',
      kind: 'error',
      when: 'after',
      count: 1,
    });
    await call('POST', `/actions/${id}/execute`, 'alice', {
      recipientKey: recipientKeyPair().publicKey,
    });
    const failed = await settled(id);
    expect(failed.status).toBe('failed');
    expect(failed.error?.cloudCode).toBe('LimitExceeded');
    const orphan = (await world.keys('lost-answer')).find((k) => k.id !== OLD)!.id;

    const pair = recipientKeyPair();
    await call('POST', `/actions/${id}/retry`, 'alice', { recipientKey: pair.publicKey });
    const done = await settled(id);
    expect(done.status).toBe('completed');
    const kept = done.progress.newKeyId as string;
    expect(await world.keys('lost-answer')).toEqual([
      { id: OLD, status: 'Inactive' },
      { id: kept, status: 'Active' },
    ]);
    expect(kept).not.toBe(orphan);
    expect((await collect(id, pair.privateKey)).value).toBe(world.secretOf(kept));
  }, 30_000);

  it('approval with auto-execute on leaves a rotation for a person to execute', async () => {
    await store.updateSettings({ autoExecute: true }, { actor: 'token:admin', now: new Date() });
    try {
      const fix = catalog.get('iam.rotate-access-key')!;
      await putState(world.sandbox, iamDocument({ auto: { keys: [{ id: OLD, created: 400 }] } }));
      const { action } = await store.createAction(
        newAction(
          fix,
          userRef('auto'),
          {
            kind: 'vulnerability',
            findingId: `auto-${engineName}`,
            title: 'old key',
            origin: 'prowler',
            checkId: 'iam_rotate_access_key_90_days',
          },
          'high',
        ),
        { actor: 'token:ops', now: new Date(), requireApproval: true },
      );
      const approved = await call('POST', `/actions/${action.id}/approve`, 'alice', {});
      expect(approved.body.action).toMatchObject({ status: 'approved', requestedOp: null });
    } finally {
      await store.updateSettings({ autoExecute: false }, { actor: 'token:admin', now: new Date() });
    }
  });
});
