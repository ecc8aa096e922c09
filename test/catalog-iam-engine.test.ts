import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCatalog } from '../src/catalog/index.ts';
import type { Action } from '../src/domain/action.ts';
import type { Engine } from '../src/engine/engine.ts';
import { newAction } from '../src/service/new-action.ts';
import type { Store } from '../src/store/store.ts';
import { createTestDatabase, ENGINES, type TestDatabase } from './helpers/databases.ts';
import { iamDocument, type IamWorld, putState, startIamWorld, userRef } from './helpers/iam.ts';
import { actionWhen, quickEngine, stopEngineSuite } from './helpers/actions.ts';

const STALE = 'AKIASTALEKEY00000001';
const catalog = createCatalog();

describe.each(ENGINES)(
  'iam.deactivate-unused-access-key through the engine on %s',
  (engineName) => {
    let database: TestDatabase;
    let store: Store;
    let world: IamWorld;
    let worker: Engine;
    let offsetMs = 0;

    beforeAll(async () => {
      database = await createTestDatabase(engineName);
      store = await database.open();
      world = await startIamWorld();
      worker = quickEngine({
        store,
        clients: world.clients,
        catalog,
        finalizeEveryMs: 20,
        clock: () => new Date(Date.now() + offsetMs),
      });
      await worker.start();
    });
    afterAll(() => stopEngineSuite({ worker, world, store, database }));

    const until = (id: string, done: (a: Action) => boolean) =>
      actionWhen(store, id, done, { ms: 20_000 });

    it('deactivates, then deletes the key in an audited step after the window', async () => {
      await putState(
        world.sandbox,
        iamDocument({ 'legacy-ci': { keys: [{ id: STALE, created: 500, used: 180 }] } }),
      );
      const fix = catalog.get('iam.deactivate-unused-access-key')!;
      const { action } = await store.createAction(
        newAction(
          fix,
          userRef('legacy-ci'),
          {
            kind: 'vulnerability',
            findingId: `unused-${engineName}`,
            title: 'unused key',
            origin: 'prowler',
            checkId: 'iam_user_accesskey_unused',
          },
          'medium',
          { unusedDays: 45 },
        ),
        { actor: 'token:ops', now: new Date(), requireApproval: true },
      );
      worker.wake();
      const planned = await until(action.id, (a) => a.plannedAt !== null);
      expect(planned.plan.calls.map((c) => c.parameters.AccessKeyId)).toEqual([STALE]);
      await store.transition(action.id, 'approve', { actor: 'token:admin', now: new Date() });
      await store.request(action.id, 'execute', { actor: 'token:admin', now: new Date() });
      worker.wake();

      const done = await until(action.id, (a) => a.status === 'completed' && !a.requestedOp);
      expect(done.result?.kind).toBe('applied');
      expect(await world.keys('legacy-ci')).toEqual([{ id: STALE, status: 'Inactive' }]);
      expect(done.finalizedAt).toBeNull();

      offsetMs = 31 * 60 * 1000;
      const finalized = await until(action.id, (a) => a.finalizedAt !== null);
      const deadline = Date.now() + 10_000;
      let comments: string[] = [];
      while (Date.now() < deadline) {
        comments = (await store.events(action.id))
          .filter((e) => e.type === 'comment')
          .map((e) => e.comment ?? '');
        if (comments.length > 0) break;
        await new Promise((r) => setTimeout(r, 20));
      }
      expect(finalized.status).toBe('completed');
      expect(comments).toEqual([
        `the rollback window closed; access keys of IAM user legacy-ci: ${STALE} was deleted`,
      ]);
      expect(await world.keys('legacy-ci')).toEqual([]);
      expect(
        world.sandbox
          .mutations()
          .filter((m) => m.operation === 'DeleteAccessKey')
          .map((m) => m.resource),
      ).toContain(STALE);
      offsetMs = 0;
    });
  },
);
