import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { LIVE_RESOURCE_VERSION } from '../src/catalog/k8s/calls.ts';
import { KubeApiError } from '../src/catalog/k8s/kube-api.ts';
import type { Fix } from '../src/catalog/fix.ts';
import { planFor } from '../src/engine/plan.ts';
import { toActionError } from '../src/engine/cloud-error.ts';
import {
  createNamespace,
  createPgStatefulSet,
  deployment,
  kubeContext,
  kubeRef,
  type KubeWorld,
  pgTemplate,
  podsOf,
  startKubeWorld,
} from './helpers/kube.ts';

let world: KubeWorld;
let fix: Fix;

beforeEach(async () => {
  world = await startKubeWorld();
  fix = world.catalog.get('k8s.set-resource-limits') as Fix;
  await createNamespace(world, 'shop');
});

afterEach(async () => {
  await world.close();
});

const strategic = setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch);

/** Creates Deployment shop/web: one container, no resources set. */
async function createWeb() {
  await world.apps.createNamespacedDeployment({
    namespace: 'shop',
    body: deployment('web', [{ name: 'app', image: 'nginx:1' }]),
  });
}

/** Creates shop/web and reads it through a fresh context with the default options. */
async function readWeb() {
  await createWeb();
  const ctx = kubeContext(world);
  const ref = kubeRef('Deployment', 'shop', 'web');
  return { ctx, ref, state: await fix.read(ctx, ref) };
}

/** Every container's resources, init containers first, as the API reports them. */
async function resourcesOf(
  name: string,
  kind: 'Deployment' | 'StatefulSet' | 'DaemonSet' = 'Deployment',
) {
  const args = { name, namespace: 'shop' };
  const object =
    kind === 'Deployment'
      ? await world.apps.readNamespacedDeployment(args)
      : kind === 'StatefulSet'
        ? await world.apps.readNamespacedStatefulSet(args)
        : await world.apps.readNamespacedDaemonSet(args);
  const spec = object.spec?.template.spec;
  const plain = (v: unknown) => JSON.parse(JSON.stringify(v ?? null));
  return [
    ...(spec?.initContainers ?? []).map((c) => ({ name: c.name, resources: plain(c.resources) })),
    ...(spec?.containers ?? []).map((c) => ({ name: c.name, resources: plain(c.resources) })),
  ];
}

const FULL = {
  requests: { cpu: '100m', memory: '128Mi' },
  limits: { cpu: '500m', memory: '512Mi' },
};

describe('k8s.set-resource-limits', () => {
  it('fills in all containers, keeps what was set, and rolls back exactly', async () => {
    await world.apps.createNamespacedDeployment({
      namespace: 'shop',
      body: deployment(
        'api',
        [
          {
            name: 'app',
            image: 'api:1',
            resources: { requests: { memory: '256Mi' }, limits: { cpu: '1' } },
          },
          { name: 'empty', image: 'side:1', resources: {} },
          { name: 'none', image: 'none:1' },
        ],
        { initContainers: [{ name: 'migrate', image: 'migrate:1' }] },
      ),
    });
    const original = await resourcesOf('api');
    const ctx = kubeContext(world);
    const ref = kubeRef('Deployment', 'shop', 'api');
    const state = await fix.read(ctx, ref);
    const plan = planFor(fix, ref, state, ctx);
    expect(plan.alreadyCompliant).toBe(false);
    expect(plan.refusal).toBeNull();
    expect(plan.reversibility.level).toBe('full');
    expect(plan.warnings[0]).toContain('replaces the pods of Deployment shop/api');
    expect(plan.calls).toHaveLength(1);
    expect(plan.calls[0]).toMatchObject({
      service: 'kubernetes',
      operation: 'patchNamespacedDeployment',
      parameters: {
        name: 'api',
        namespace: 'shop',
        contentType: 'application/strategic-merge-patch+json',
        body: { metadata: { resourceVersion: state.resourceVersion } },
      },
    });

    const podsBefore = (await podsOf(world, 'shop', 'api')).map((p) => p.metadata?.name);
    world.sandbox.clearMutations();
    await fix.apply(ctx, ref, state);
    expect(await resourcesOf('api')).toEqual([
      { name: 'migrate', resources: FULL },
      {
        name: 'app',
        resources: {
          requests: { memory: '256Mi', cpu: '100m' },
          limits: { cpu: '1', memory: '512Mi' },
        },
      },
      { name: 'empty', resources: FULL },
      { name: 'none', resources: FULL },
    ]);
    const after = await fix.read(ctx, ref);
    expect(fix.isCompliant(after, ctx)).toBe(true);
    expect(fix.isUnchangedSinceFix?.(after, state, ctx)).toBe(true);
    const podsAfter = (await podsOf(world, 'shop', 'api')).map((p) => p.metadata?.name);
    expect(podsAfter.some((p) => podsBefore.includes(p))).toBe(false);
    const applied = world.sandbox.mutations();
    expect(applied.map((m) => m.params)).toEqual(plan.calls.map((c) => c.parameters));

    world.sandbox.clearMutations();
    await fix.restore(ctx, ref, state);
    expect(await resourcesOf('api')).toEqual(original);
    expect(fix.isRestored(await fix.read(ctx, ref), state, ctx)).toBe(true);
    const [rollback] = world.sandbox.mutations();
    const planned = plan.rollbackCalls[0]?.parameters as {
      body: { op: string; value?: unknown }[];
    };
    const sent = rollback?.params as { body: { op: string; path: string; value?: unknown }[] };
    expect(sent.body.filter((op) => op.path !== '/metadata/resourceVersion')).toEqual(
      planned.body.filter((op) => op.value !== LIVE_RESOURCE_VERSION),
    );
    expect(sent.body.find((op) => op.path === '/metadata/resourceVersion')?.value).toBe(
      after.resourceVersion,
    );
  });

  it('removes resources on rollback where the snapshot had none', async () => {
    const { ctx, ref, state } = await readWeb();
    // As a server that leaves the field out reports it: rollback must remove it.
    const absent = { ...state, containers: [{ name: 'app', init: false, resources: null }] };
    await fix.apply(ctx, ref, state);
    const plan = planFor(fix, ref, absent, ctx);
    expect(plan.rollbackCalls[0]?.parameters.body).toContainEqual({
      op: 'remove',
      path: '/spec/template/spec/containers/0/resources',
    });
    await fix.restore(ctx, ref, absent);
    expect(await resourcesOf('web')).toEqual([{ name: 'app', resources: {} }]);
    expect(fix.isRestored(await fix.read(ctx, ref), absent, ctx)).toBe(true);
  });

  it('keeps a request within its limit when the default is above it, and says so', async () => {
    await world.apps.createNamespacedDeployment({
      namespace: 'shop',
      body: deployment('tiny', [
        { name: 'app', image: 'a:1', resources: { limits: { cpu: '50m', memory: '64Mi' } } },
      ]),
    });
    const ctx = kubeContext(world);
    const ref = kubeRef('Deployment', 'shop', 'tiny');
    const state = await fix.read(ctx, ref);
    const plan = planFor(fix, ref, state, ctx);
    expect(plan.warnings).toContain(
      'container app: cpu request set to 50m, its limit, instead of the default 100m, ' +
        'because a request may not exceed the limit',
    );
    await fix.apply(ctx, ref, state);
    expect(await resourcesOf('tiny')).toEqual([
      {
        name: 'app',
        resources: {
          limits: { cpu: '50m', memory: '64Mi' },
          requests: { cpu: '50m', memory: '64Mi' },
        },
      },
    ]);
  });

  it('uses the configured defaults', async () => {
    await createWeb();
    const ctx = kubeContext(world, {
      k8sCpuRequest: '250m',
      k8sMemoryRequest: '1Gi',
      k8sCpuLimit: '2',
      k8sMemoryLimit: '2Gi',
    });
    const ref = kubeRef('Deployment', 'shop', 'web');
    await fix.apply(ctx, ref, await fix.read(ctx, ref));
    expect(await resourcesOf('web')).toEqual([
      {
        name: 'app',
        resources: {
          requests: { cpu: '250m', memory: '1Gi' },
          limits: { cpu: '2', memory: '2Gi' },
        },
      },
    ]);
  });

  it('patches StatefulSets and DaemonSets the same way', async () => {
    await createPgStatefulSet(world.apps, 'shop');
    await world.apps.createNamespacedDaemonSet({
      namespace: 'shop',
      body: {
        metadata: { name: 'agent' },
        spec: { selector: { matchLabels: { app: 'pg' } }, template: pgTemplate() },
      },
    });
    const ctx = kubeContext(world);
    for (const kind of ['StatefulSet', 'DaemonSet'] as const) {
      const ref = kubeRef(kind, 'shop', kind === 'StatefulSet' ? 'pg' : 'agent');
      const state = await fix.read(ctx, ref);
      expect(planFor(fix, ref, state, ctx).calls[0]?.operation).toBe(`patchNamespaced${kind}`);
      await fix.apply(ctx, ref, state);
      expect(await resourcesOf(ref.name, kind)).toEqual([{ name: 'pg', resources: FULL }]);
      await fix.restore(ctx, ref, state);
      expect(await resourcesOf(ref.name, kind)).toEqual([{ name: 'pg', resources: {} }]);
    }
  });

  it('resolves a Pod or ReplicaSet to its Deployment, before and after the pods roll', async () => {
    await createWeb();
    const [pod] = await podsOf(world, 'shop', 'web');
    const rsName = pod?.metadata?.ownerReferences?.[0]?.name as string;
    const ctx = kubeContext(world);
    const podRef = kubeRef('Pod', 'shop', pod?.metadata?.name as string);
    const state = await fix.read(ctx, podRef);
    expect(state).toMatchObject({
      kind: 'Deployment',
      name: 'web',
      resolvedFrom: { kind: 'Pod', name: podRef.name },
    });
    const plan = planFor(fix, podRef, state, ctx);
    expect(plan.warnings[0]).toBe(
      `The finding named Pod shop/${podRef.name}; its pods come from Deployment shop/web, ` +
        'so that is what is changed.',
    );
    expect(plan.calls[0]?.parameters.name).toBe('web');
    await fix.apply(ctx, podRef, state);
    // The pod is gone now; its name still leads to the same Deployment.
    const after = await fix.read(ctx, podRef);
    expect(after).toMatchObject({ kind: 'Deployment', name: 'web' });
    expect(fix.isCompliant(after, ctx)).toBe(true);
    expect(await fix.read(ctx, kubeRef('ReplicaSet', 'shop', rsName))).toMatchObject({
      kind: 'Deployment',
      name: 'web',
    });
    await fix.restore(ctx, podRef, state);
    expect(await resourcesOf('web')).toEqual([{ name: 'app', resources: {} }]);
  });

  it('resolves a StatefulSet pod by ownerReference and by name', async () => {
    await createPgStatefulSet(world.apps, 'shop');
    const ctx = kubeContext(world);
    expect(await fix.read(ctx, kubeRef('Pod', 'shop', 'pg-0'))).toMatchObject({
      kind: 'StatefulSet',
      name: 'pg',
    });
    expect(await fix.read(ctx, kubeRef('Pod', 'shop', 'pg-7'))).toMatchObject({
      kind: 'StatefulSet',
      name: 'pg',
    });
  });

  it('refuses a bare pod and a pod something else controls, saying why', async () => {
    await world.core.createNamespacedPod({
      namespace: 'shop',
      body: {
        metadata: { name: 'debug' },
        spec: { containers: [{ name: 'sh', image: 'busybox' }] },
      },
    });
    await world.core.createNamespacedPod({
      namespace: 'shop',
      body: {
        metadata: {
          name: 'report-28',
          ownerReferences: [
            { apiVersion: 'batch/v1', kind: 'Job', name: 'report', uid: 'b1c2', controller: true },
          ],
        },
        spec: { containers: [{ name: 'job', image: 'report:1' }] },
      },
    });
    const ctx = kubeContext(world);
    const bare = planFor(
      fix,
      kubeRef('Pod', 'shop', 'debug'),
      await fix.read(ctx, kubeRef('Pod', 'shop', 'debug')),
      ctx,
    );
    expect(bare.refusal).toBe(
      'Pod shop/debug cannot be given requests and limits here: nothing controls it. ' +
        "A running pod's " +
        'resources are set by the pod template that created it; change that template (or the ' +
        'manifest the pod came from) instead',
    );
    expect(bare.calls).toEqual([]);
    const job = await fix.read(ctx, kubeRef('Pod', 'shop', 'report-28'));
    expect(fix.refusal?.(job, ctx)).toContain(
      'it is controlled by Job report, which this fix does not change',
    );
  });

  it('stops with the API 409 when the workload changed after the plan read it', async () => {
    const { ctx, ref, state } = await readWeb();
    await world.apps.patchNamespacedDeployment(
      {
        name: 'web',
        namespace: 'shop',
        body: { spec: { template: { spec: { containers: [{ name: 'app', image: 'nginx:2' }] } } } },
      },
      strategic,
    );
    world.sandbox.clearMutations();
    const error = await fix.apply(ctx, ref, state).then(
      () => null,
      (err: unknown) => err,
    );
    expect(error).toBeInstanceOf(KubeApiError);
    expect((error as KubeApiError).message).toMatch(
      new RegExp(
        `^Deployment shop/web changed after it was read ` +
          `\\(resourceVersion ${state.resourceVersion}, now \\d+\\)`,
      ),
    );
    expect(toActionError(error, new Date())).toMatchObject({
      code: 'cloud_error',
      cloudCode: 'Conflict',
    });
    expect(world.sandbox.mutations()).toEqual([]);
    expect(await resourcesOf('web')).toEqual([{ name: 'app', resources: {} }]);
  });

  it('does not call a rollback safe once someone changed the resources after the fix', async () => {
    const { ctx, ref, state } = await readWeb();
    await fix.apply(ctx, ref, state);
    await world.apps.patchNamespacedDeployment(
      {
        name: 'web',
        namespace: 'shop',
        body: {
          spec: {
            template: {
              spec: { containers: [{ name: 'app', resources: { limits: { memory: '1Gi' } } }] },
            },
          },
        },
      },
      strategic,
    );
    expect(fix.isUnchangedSinceFix?.(await fix.read(ctx, ref), state, ctx)).toBe(false);
  });

  it('retries throttling until it succeeds, patching once', async () => {
    const { ctx, ref, state } = await readWeb();
    world.sandbox.clearMutations();
    world.sandbox.injectFault({
      service: 'kubernetes',
      operation: 'patchNamespacedDeployment',
      kind: 'throttle',
      count: 2,
    });
    await fix.apply(ctx, ref, state);
    expect(world.sandbox.mutations().map((m) => m.operation)).toEqual([
      'patchNamespacedDeployment',
    ]);
    expect(await resourcesOf('web')).toEqual([{ name: 'app', resources: FULL }]);
  });

  it('takes a lost answer to an applied patch as done, not as a conflict', async () => {
    const { ctx, ref, state } = await readWeb();
    world.sandbox.clearMutations();
    world.sandbox.injectFault({
      service: 'kubernetes',
      operation: 'patchNamespacedDeployment',
      kind: 'error',
      when: 'after',
    });
    await fix.apply(ctx, ref, state);
    expect(world.sandbox.mutations().map((m) => m.operation)).toEqual([
      'patchNamespacedDeployment',
    ]);
    expect(fix.isCompliant(await fix.read(ctx, ref), ctx)).toBe(true);
  });

  it('fails at once on a permanent error, with the API reason', async () => {
    const ctx = kubeContext(world);
    world.sandbox.clearMutations();
    const error = await fix.read(ctx, kubeRef('Deployment', 'shop', 'ghost')).then(
      () => null,
      (err: unknown) => err as KubeApiError,
    );
    expect(error).toMatchObject({
      name: 'NotFound',
      status: 404,
      $metadata: { httpStatusCode: 404, attempts: 1 },
    });
    expect(error?.message).toBe(
      'get deployment shop/ghost: deployments.apps "ghost" not found (HTTP 404 NotFound)',
    );
  });

  it('is already compliant when every container has all four values', async () => {
    await world.apps.createNamespacedDeployment({
      namespace: 'shop',
      body: deployment('ok', [{ name: 'app', image: 'a:1', resources: FULL }]),
    });
    const ctx = kubeContext(world);
    const ref = kubeRef('Deployment', 'shop', 'ok');
    const plan = planFor(fix, ref, await fix.read(ctx, ref), ctx);
    expect(plan.alreadyCompliant).toBe(true);
    expect(plan.calls).toEqual([]);
  });

  it('lists its RBAC rules', () => {
    expect(fix.permissions).toEqual([
      'get deployments.apps',
      'patch deployments.apps',
      'get statefulsets.apps',
      'patch statefulsets.apps',
      'get daemonsets.apps',
      'patch daemonsets.apps',
      'get replicasets.apps',
      'get pods',
    ]);
  });
});
