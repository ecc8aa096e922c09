import { PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Action } from '../src/domain/action.ts';
import type { Engine } from '../src/engine/engine.ts';
import { parseFindingsFile } from '../src/findings/import.ts';
import { fixRequestFor } from '../src/findings/mapping.ts';
import { newAction } from '../src/service/new-action.ts';
import type { Store } from '../src/store/store.ts';
import { createTestDatabase, ENGINES, type TestDatabase } from './helpers/databases.ts';
import {
  CONTEXT,
  createNamespace,
  deployment,
  type KubeWorld,
  startKubeWorld,
} from './helpers/kube.ts';
import { actionWhen, quickEngine, stopEngineSuite } from './helpers/actions.ts';

const SETTLED = ['completed', 'failed', 'rolled_back'];

/** A manifest of a Deployment without requests or limits, as a scanner would be given. */
const manifest = (name: string) => `apiVersion: apps/v1
kind: Deployment
metadata: { name: ${name}, namespace: shop }
spec:
  selector: { matchLabels: { app: ${name} } }
  template:
    metadata: { labels: { app: ${name} } }
    spec:
      containers: [{ name: app, image: "nginx:1.27" }]
`;

describe.each(ENGINES)('Kubernetes fixes through the engine on %s', (engine) => {
  let database: TestDatabase;
  let store: Store;
  let world: KubeWorld;
  let worker: Engine;

  beforeAll(async () => {
    database = await createTestDatabase(engine);
    store = await database.open();
    world = await startKubeWorld();
    await createNamespace(world, 'shop');
    worker = quickEngine({ store, clients: world.clients, catalog: world.catalog });
    await worker.start();
  });
  afterAll(() => stopEngineSuite({ worker, world, store, database }));

  const waitFor = (id: string, check: (a: Action) => boolean) =>
    actionWhen(store, id, check, { everyMs: 15 });

  /** The approved action a manifest's CPU-limit finding opens, its plan read. */
  async function approvedFor(name: string): Promise<Action> {
    await world.apps.createNamespacedDeployment({
      namespace: 'shop',
      body: deployment(name, [{ name: 'app', image: 'nginx:1.27' }]),
    });
    const { findings } = parseFindingsFile(manifest(name), { kubeContext: CONTEXT });
    const finding = findings.find((f) => f.source.checkId === 'cpuLimitsMissing');
    const request = fixRequestFor(finding!);
    const fix = world.catalog.get(request!.type)!;
    const input = newAction(
      fix,
      finding!.resource,
      finding!.source,
      finding!.severity,
      request!.params,
    );
    const { action } = await store.createAction(input, {
      actor: 'token:ops',
      now: new Date(),
      requireApproval: true,
    });
    await waitFor(action.id, (a) => a.plannedAt !== null);
    return store.transition(action.id, 'approve', { actor: 'token:admin', now: new Date() });
  }

  async function run(id: string, op: 'execute' | 'rollback') {
    await store.request(id, op, { actor: 'token:admin', now: new Date() });
    worker.wake();
    return waitFor(id, (a) => SETTLED.includes(a.status) && !a.requestedOp);
  }

  const resources = async (name: string) => {
    const d = await world.apps.readNamespacedDeployment({ name, namespace: 'shop' });
    return JSON.parse(JSON.stringify(d.spec?.template.spec?.containers[0]?.resources));
  };

  it('applies a manifest finding to the Deployment, verifies it and rolls it back', async () => {
    const approved = await approvedFor(`web-${engine}`);
    expect(approved.type).toBe('k8s.set-resource-limits');
    expect(approved.plan.before).toMatchObject({
      kind: 'Deployment',
      resourceVersion: expect.any(String),
    });
    const done = await run(approved.id, 'execute');
    expect(done).toMatchObject({ status: 'completed', result: { kind: 'applied' } });
    expect(await resources(`web-${engine}`)).toEqual({
      requests: { cpu: '100m', memory: '128Mi' },
      limits: { cpu: '500m', memory: '512Mi' },
    });
    const back = await run(approved.id, 'rollback');
    expect(back).toMatchObject({ status: 'rolled_back' });
    expect(await resources(`web-${engine}`)).toEqual({});
  });

  it('sends the plan back for review when the Deployment changed after it was read', async () => {
    const name = `api-${engine}`;
    const approved = await approvedFor(name);
    await world.apps.patchNamespacedDeployment(
      { name, namespace: 'shop', body: { metadata: { labels: { owner: 'someone-else' } } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    const patches = () =>
      world.sandbox.mutations().filter((m) => m.resource === `deployments/${name}`).length;
    const before = patches();
    await store.request(approved.id, 'execute', { actor: 'token:admin', now: new Date() });
    worker.wake();
    const failed = await waitFor(
      approved.id,
      (a) => a.status === 'pending_approval' && !a.requestedOp,
    );
    expect(failed.error?.code).toBe('resource_changed');
    expect(failed.plan.before?.resourceVersion).not.toBe(approved.plan.before?.resourceVersion);
    expect(patches()).toBe(before);
    expect(await resources(name)).toEqual({});
  });
});
