import { isDeepStrictEqual } from 'node:util';
import type { PlannedCall, ResourceRef, Reversibility } from '../../domain/action.ts';
import type { Fix, FixContext, FixInput } from '../fix.ts';
import { kubeCallOf, LIVE_RESOURCE_VERSION, runKubeCall } from './calls.ts';
import { isKubeStatus, KubeApiError } from './kube-api.ts';
import { hasAllResources, sameResources, targetResources } from './resources-target.ts';
import { parseWorkload } from './workload-state.ts';
import { readWorkload, readWorkloadAs, type WorkloadState } from './workload.ts';

const TYPE = 'k8s.set-resource-limits';

export const setResourceLimits: Fix = {
  type: TYPE,
  resourceType: 'KubernetesDeployment',
  alsoAccepts: [
    'KubernetesStatefulSet',
    'KubernetesDaemonSet',
    'KubernetesPod',
    'KubernetesReplicaSet',
  ],
  service: 'kubernetes',
  risk: 'medium',
  summary:
    'Gives every container and init container of a Deployment, StatefulSet or DaemonSet CPU ' +
    'and memory requests and limits from the configured defaults, keeping those already set.',
  permissions: [
    'get deployments.apps',
    'patch deployments.apps',
    'get statefulsets.apps',
    'patch statefulsets.apps',
    'get daemonsets.apps',
    'patch daemonsets.apps',
    'get replicasets.apps',
    'get pods',
  ],

  title: (resource) =>
    `Set CPU and memory requests and limits on ${resource.type.replace(/^Kubernetes/, '')} ` +
    `${resource.region}/${resource.name}`,

  read: (ctx: FixContext, resource: ResourceRef) => readWorkload(ctx, resource),

  isCompliant: (state) =>
    parseWorkload(state, TYPE).containers.every((c) => hasAllResources(c.resources)),

  refusal: (state) => parseWorkload(state, TYPE).unsupported,

  target(state, input) {
    const parsed = parseWorkload(state, TYPE);
    return {
      ...parsed,
      containers: parsed.containers.map((c) => ({
        ...c,
        resources: hasAllResources(c.resources)
          ? c.resources
          : targetResources(c, input.options).resources,
      })),
    };
  },

  calls: (resource, state, input) => applyCalls(resource, parseWorkload(state, TYPE), input),

  rollbackCalls: (resource, snapshot, input) => {
    const parsed = parseWorkload(snapshot, TYPE);
    return rollbackCalls(resource, parsed, targetOf(parsed, input), LIVE_RESOURCE_VERSION);
  },

  reversibility: (): Reversibility => ({
    level: 'full',
    note:
      "the rollback puts back each container's resources exactly as they were, removing the " +
      'field where there was none; the pods are replaced again when it does',
  }),

  warnings(state, input) {
    const parsed = parseWorkload(state, TYPE);
    if (parsed.kind === null) return [];
    const who = `${parsed.kind} ${parsed.namespace}/${parsed.name}`;
    const warnings = [
      `Changing the pod template replaces the pods of ${who} (a rolling restart), now and ` +
        'again on rollback.',
      'A memory limit below what a container uses gets it killed (OOMKilled) and a low CPU ' +
        'limit throttles it: check the defaults against the workload before approving.',
    ];
    if (parsed.resolvedFrom) {
      warnings.unshift(
        `The finding named ${parsed.resolvedFrom.kind} ${parsed.namespace}/` +
          `${parsed.resolvedFrom.name}; its pods come from ${who}, so that is what is changed.`,
      );
    }
    for (const c of parsed.containers) {
      if (!hasAllResources(c.resources)) warnings.push(...targetResources(c, input.options).notes);
    }
    return warnings;
  },

  async apply(ctx, resource, state) {
    const parsed = parseWorkload(state, TYPE);
    const calls = applyCalls(resource, parsed, ctx);
    try {
      for (const call of calls) await runKubeCall(ctx, resource.account, call);
    } catch (err) {
      if (!isKubeStatus(err, 409)) throw err;
      // A retried patch meets its own earlier, answered-but-lost success as a conflict.
      const live = await readBack(ctx, resource, parsed);
      if (err.$metadata.attempts > 1 && live.containers.every((c) => hasAllResources(c.resources)))
        return;
      throw changedSincePlan(err, parsed, live);
    }
  },

  async restore(ctx, resource, snapshot) {
    const parsed = parseWorkload(snapshot, TYPE);
    const live = await readBack(ctx, resource, parsed);
    const calls = rollbackCalls(resource, parsed, live, live.resourceVersion);
    try {
      for (const call of calls) await runKubeCall(ctx, resource.account, call);
    } catch (err) {
      if (!isKubeStatus(err, 409)) throw err;
      const now = await readBack(ctx, resource, parsed);
      if (err.$metadata.attempts > 1 && sameContainers(now, parsed)) return;
      throw changedSincePlan(err, live, now);
    }
  },

  isRestored: (live, snapshot) =>
    sameContainers(parseWorkload(live, TYPE), parseWorkload(snapshot, TYPE)),

  isUnchangedSinceFix(live, snapshot, input) {
    const now = parseWorkload(live, TYPE);
    const then = parseWorkload(snapshot, TYPE);
    return now.uid === then.uid && sameContainers(now, targetOf(then, input));
  },
};

function targetOf(state: WorkloadState, input: FixInput): WorkloadState {
  return setResourceLimits.target(state, input) as WorkloadState;
}

function patchOperation(state: WorkloadState): string {
  return `patchNamespaced${state.kind ?? 'Deployment'}`;
}

/** One strategic merge patch naming only the containers that change, by name. */
function applyCalls(resource: ResourceRef, state: WorkloadState, input: FixInput): PlannedCall[] {
  if (state.kind === null) return [];
  const changed = (init: boolean) =>
    state.containers
      .filter((c) => c.init === init && !hasAllResources(c.resources))
      .map((c) => ({ name: c.name, resources: targetResources(c, input.options).resources }));
  const containers = changed(false);
  const initContainers = changed(true);
  if (containers.length + initContainers.length === 0) return [];
  return [
    kubeCallOf(patchOperation(state), {
      name: state.name,
      namespace: resource.region,
      contentType: 'application/strategic-merge-patch+json',
      body: {
        metadata: { resourceVersion: state.resourceVersion },
        spec: {
          template: {
            spec: {
              ...(initContainers.length ? { initContainers } : {}),
              ...(containers.length ? { containers } : {}),
            },
          },
        },
      },
    }),
  ];
}

/**
 * A JSON patch putting back the snapshot's resources of every container whose resources
 * differ in `layout` (the object as it is), by index, each index guarded by a test of
 * the container's name; removing the field where the snapshot had none.
 */
function rollbackCalls(
  resource: ResourceRef,
  snapshot: WorkloadState,
  layout: WorkloadState,
  resourceVersion: string,
): PlannedCall[] {
  if (snapshot.kind === null) return [];
  const ops: Record<string, unknown>[] = [
    { op: 'test', path: '/metadata/uid', value: snapshot.uid },
    { op: 'replace', path: '/metadata/resourceVersion', value: resourceVersion },
  ];
  for (const init of [true, false]) {
    const field = init ? 'initContainers' : 'containers';
    const inLayout = layout.containers.filter((c) => c.init === init);
    inLayout.forEach((now, index) => {
      const before = snapshot.containers.find((c) => c.init === init && c.name === now.name);
      if (!before || isDeepStrictEqual(before.resources, now.resources)) return;
      const path = `/spec/template/spec/${field}/${index}`;
      ops.push({ op: 'test', path: `${path}/name`, value: now.name });
      ops.push(
        before.resources === null
          ? { op: 'remove', path: `${path}/resources` }
          : { op: 'add', path: `${path}/resources`, value: before.resources },
      );
    });
  }
  if (ops.length === 2) return [];
  return [
    kubeCallOf(patchOperation(snapshot), {
      name: snapshot.name,
      namespace: resource.region,
      contentType: 'application/json-patch+json',
      body: ops,
    }),
  ];
}

function sameContainers(a: WorkloadState, b: WorkloadState): boolean {
  if (a.containers.length !== b.containers.length) return false;
  return a.containers.every((c) => {
    const other = b.containers.find((o) => o.name === c.name && o.init === c.init);
    return other !== undefined && sameResources(c.resources, other.resources);
  });
}

/** The workload a state describes, read again by its own kind and name. */
function readBack(
  ctx: FixContext,
  resource: ResourceRef,
  state: WorkloadState,
): Promise<WorkloadState> {
  if (state.kind === null) return readWorkload(ctx, resource);
  return readWorkloadAs(
    ctx,
    resource.account,
    state.kind,
    state.namespace,
    state.name,
    state.resolvedFrom,
  );
}

function changedSincePlan(
  err: KubeApiError,
  seen: WorkloadState,
  now: WorkloadState,
): KubeApiError {
  return new KubeApiError(
    err.status,
    err.reason,
    `${seen.kind} ${seen.namespace}/${seen.name} changed after it was read (resourceVersion ` +
      `${seen.resourceVersion}, now ${now.resourceVersion}), so the API refused the patch and ` +
      `nothing was changed; review the new plan and retry. ${err.message}`,
    err.$metadata.attempts,
  );
}
