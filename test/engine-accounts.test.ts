import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AccountClients, createAccountClients } from '../src/cloud/accounts.ts';
import { createCatalog } from '../src/catalog/index.ts';
import type { Engine } from '../src/engine/engine.ts';
import type { Sandbox } from '../src/sandbox/server.ts';
import type { Store } from '../src/store/store.ts';
import { actionWhen, newAction, quickEngine } from './helpers/actions.ts';
import { OTHER, OTHER_REGION, ROLE, cloudOf, twoAccountSandbox } from './helpers/accounts.ts';
import { createTestDatabase, ENGINES, type TestDatabase } from './helpers/databases.ts';

const BUCKET = 'other-team-logs';

for (const engine of ENGINES) {
  describe(`the engine acts in each action's own account (${engine})`, () => {
    let dir: string;
    let sandbox: Sandbox;
    let database: TestDatabase;
    let store: Store;
    let clients: AccountClients;
    let worker: Engine;

    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), 'infraudit-engine-accounts-'));
      sandbox = await twoAccountSandbox(dir);
      database = await createTestDatabase(engine);
      store = await database.open();
      clients = createAccountClients(cloudOf(sandbox), {
        aws: [{ id: OTHER, name: 'other', assumeRole: { roleArn: ROLE }, regions: [OTHER_REGION] }],
        kubernetes: [],
      });
      worker = quickEngine({
        store,
        clients: clients.base,
        accountClients: (resource) => clients.forResource(resource),
        catalog: createCatalog(),
      });
      await worker.start();
    });

    afterAll(async () => {
      await worker?.stop();
      clients?.destroy();
      await store?.close();
      await database?.drop();
      await sandbox?.close();
      await rm(dir, { recursive: true, force: true });
    });

    /** Plans and runs an action; without approval when its plan cannot be approved. */
    async function run(account: string, region: string, approve = true) {
      const input = newAction({ bucket: BUCKET });
      const { action } = await store.createAction(
        { ...input, resource: { ...input.resource, account, region } },
        { actor: 'token:creator', now: new Date(), requireApproval: approve },
      );
      await actionWhen(store, action.id, (a) => Boolean(a.plannedAt));
      if (approve) {
        await store.transition(action.id, 'approve', { actor: 'token:approver', now: new Date() });
      }
      await store.request(action.id, 'execute', { actor: 'token:approver', now: new Date() });
      worker.wake();
      return actionWhen(store, action.id, (a) => ['completed', 'failed'].includes(a.status));
    }

    it('fixes a bucket of another account with the role the accounts file names', async () => {
      const before = sandbox.mutations().length;
      const done = await run(OTHER, OTHER_REGION);
      expect(done).toMatchObject({ status: 'completed', result: { kind: 'applied' } });
      const applied = sandbox.mutations().slice(before);
      expect(applied).toEqual([
        expect.objectContaining({
          operation: 'PutBucketEncryption',
          resource: BUCKET,
          account: OTHER,
        }),
      ]);
    });

    it('refuses an account missing from the file: the default credentials act elsewhere', async () => {
      const before = sandbox.mutations().length;
      // The plan already could not read it, so it cannot be approved; run without approval,
      // the engine checks the account again before it changes anything.
      const refused = await run('777788889999', OTHER_REGION, false);
      expect(refused).toMatchObject({ status: 'failed', error: { code: 'wrong_account' } });
      expect(sandbox.mutations()).toHaveLength(before);
    });
  });
}
