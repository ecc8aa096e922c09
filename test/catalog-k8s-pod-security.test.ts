import { PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LIVE_RESOURCE_VERSION } from '../src/catalog/k8s/calls.ts';
import type { KubeApiError } from '../src/catalog/k8s/kube-api.ts';
import type { Fix } from '../src/catalog/fix.ts';
import { planFor } from '../src/engine/plan.ts';
import {
  createNamespace,
  deployment,
  kubeContext,
  kubeRef,
  type KubeWorld,
  startKubeWorld,
} from './helpers/kube.ts';

const ENFORCE = 'pod-security.kubernetes.io/enforce';
const VERSION = 'pod-security.kubernetes.io/enforce-version';

let world: KubeWorld;
let fix: Fix;

beforeEach(async () => {
  world = await startKubeWorld();
  fix = world.catalog.get('k8s.enforce-pod-security') as Fix;
});

afterEach(async () => {
  await world.close();
});

const labelsOf = async (name: string) =>
  (await world.core.readNamespace({ name })).metadata?.labels ?? {};

async function privilegedApp(namespace: string) {
  await world.apps.createNamespacedDeployment({
    namespace,
    body: deployment(
      'agent',
      [{ name: 'agent', image: 'agent:1', securityContext: { privileged: true } }],
      {
        hostPID: true,
      },
    ),
  });
}

describe('k8s.enforce-pod-security', () => {
  it('plans from a server-side dry run, sets the labels, removes them on rollback', async () => {
    await createNamespace(world, 'ops', { team: 'ops' });
    await privilegedApp('ops');
    const original = await labelsOf('ops');
    const ctx = kubeContext(world);
    const ref = kubeRef('Namespace', '', 'ops');
    world.sandbox.clearMutations();
    const state = await fix.read(ctx, ref);
    expect(world.sandbox.mutations()).toEqual([]);
    expect(state).toMatchObject({
      namespace: 'ops',
      enforce: null,
      enforceVersion: null,
      dryRun: {
        policy: 'baseline:latest',
        violations: [{ otherPods: 1, reasons: ['host namespaces', 'privileged'] }],
      },
    });
    const plan = planFor(fix, ref, state, ctx);
    expect(plan.calls).toEqual([
      {
        service: 'kubernetes',
        operation: 'patchNamespace',
        parameters: {
          name: 'ops',
          contentType: 'application/merge-patch+json',
          body: {
            metadata: {
              resourceVersion: state.resourceVersion,
              labels: { [ENFORCE]: 'baseline', [VERSION]: 'latest' },
            },
          },
        },
      },
    ]);
    expect(plan.rollbackCalls[0]?.parameters.body).toEqual({
      metadata: {
        resourceVersion: LIVE_RESOURCE_VERSION,
        labels: { [ENFORCE]: null, [VERSION]: null },
      },
    });
    const listed = plan.warnings.find((w) => w.includes('would violate'));
    expect(listed).toMatch(
      new RegExp(
        '^2 running pods in ops would violate "baseline:latest" \\(server-side dry run\\): ' +
          'agent-\\w+-\\w+ \\(and 1 other pod\\): host namespaces, privileged\\.',
      ),
    );

    await fix.apply(ctx, ref, state);
    expect(await labelsOf('ops')).toEqual({
      ...original,
      [ENFORCE]: 'baseline',
      [VERSION]: 'latest',
    });
    const after = await fix.read(ctx, ref);
    expect(fix.isCompliant(after, ctx)).toBe(true);
    expect(fix.isUnchangedSinceFix?.(after, state, ctx)).toBe(true);
    expect(world.sandbox.mutations().map((m) => m.params)).toEqual(
      plan.calls.map((c) => c.parameters),
    );

    await fix.restore(ctx, ref, state);
    expect(await labelsOf('ops')).toEqual(original);
    expect(fix.isRestored(await fix.read(ctx, ref), state, ctx)).toBe(true);
  });

  it('restores labels that were there, exactly', async () => {
    await createNamespace(world, 'legacy', { [ENFORCE]: 'privileged', [VERSION]: 'v1.24' });
    const ctx = kubeContext(world, {
      k8sPodSecurityLevel: 'restricted',
      k8sPodSecurityVersion: 'v1.30',
    });
    const ref = kubeRef('Namespace', '', 'legacy');
    const state = await fix.read(ctx, ref);
    expect(state.dryRun).toEqual({ policy: 'restricted:v1.30', violations: [], warnings: [] });
    expect(planFor(fix, ref, state, ctx).warnings).toContain(
      'The namespace now enforces "privileged"; the fix replaces it.',
    );
    await fix.apply(ctx, ref, state);
    expect(await labelsOf('legacy')).toMatchObject({ [ENFORCE]: 'restricted', [VERSION]: 'v1.30' });
    await fix.restore(ctx, ref, state);
    expect(await labelsOf('legacy')).toMatchObject({ [ENFORCE]: 'privileged', [VERSION]: 'v1.24' });
  });

  it('leaves a namespace that already enforces the level or a stricter one alone', async () => {
    await createNamespace(world, 'strict', { [ENFORCE]: 'restricted' });
    const ctx = kubeContext(world);
    const ref = kubeRef('Namespace', '', 'strict');
    world.sandbox.clearMutations();
    const plan = planFor(fix, ref, await fix.read(ctx, ref), ctx);
    expect(plan.alreadyCompliant).toBe(true);
    expect(plan.calls).toEqual([]);
    expect(world.sandbox.mutations()).toEqual([]);
  });

  it('stops with the API 409 when the namespace changed after the plan read it', async () => {
    await createNamespace(world, 'ops');
    const ctx = kubeContext(world);
    const ref = kubeRef('Namespace', '', 'ops');
    const state = await fix.read(ctx, ref);
    await world.core.patchNamespace(
      { name: 'ops', body: { metadata: { labels: { owner: 'someone' } } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    const error = (await fix.apply(ctx, ref, state).then(
      () => null,
      (err: unknown) => err,
    )) as KubeApiError;
    expect(error.name).toBe('Conflict');
    expect(error.message).toMatch(/^namespace ops changed after it was read/);
    expect(await labelsOf('ops')).not.toHaveProperty(ENFORCE);
  });

  it('retries throttling, and takes a lost answer to an applied patch as done', async () => {
    await createNamespace(world, 'ops');
    const ctx = kubeContext(world);
    const ref = kubeRef('Namespace', '', 'ops');
    const state = await fix.read(ctx, ref);
    world.sandbox.clearMutations();
    world.sandbox.injectFault({
      service: 'kubernetes',
      operation: 'patchNamespace',
      kind: 'throttle',
      count: 1,
    });
    world.sandbox.injectFault({
      service: 'kubernetes',
      operation: 'patchNamespace',
      kind: 'error',
      when: 'after',
    });
    await fix.apply(ctx, ref, state);
    expect(world.sandbox.mutations().map((m) => m.operation)).toEqual(['patchNamespace']);
    expect(await labelsOf('ops')).toMatchObject({ [ENFORCE]: 'baseline' });
  });

  it('lists its RBAC rules', () => {
    expect(fix.permissions).toEqual(['get namespaces', 'patch namespaces']);
    expect(fix.resourceType).toBe('KubernetesNamespace');
  });
});
