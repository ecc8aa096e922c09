import type { V1ObjectMeta, V1OwnerReference, V1PodSpec } from '@kubernetes/client-node';
import type { ResourceRef } from '../../domain/action.ts';
import { invalidInput } from '../../domain/errors.ts';
import type { FixContext, State } from '../fix.ts';
import { isKubeStatus, kubeCall } from './kube-api.ts';
import { kubeSdk } from '../sdk.ts';

export const WORKLOAD_KINDS = ['Deployment', 'StatefulSet', 'DaemonSet'] as const;
export type WorkloadKind = (typeof WORKLOAD_KINDS)[number];

/** A container's `resources` as the API returned it; null when the field is absent. */
export interface ContainerResources {
  name: string;
  /** An init container (`spec.template.spec.initContainers`). */
  init: boolean;
  resources: Record<string, unknown> | null;
}

/** What `k8s.set-resource-limits` reads: the workload that owns the pods, and its containers. */
export interface WorkloadState extends State {
  /** The workload the fix patches; null when the finding's object has none it can patch. */
  kind: WorkloadKind | null;
  namespace: string;
  name: string;
  uid: string;
  /** The version the plan saw; the patch is refused (409) if the object changed since. */
  resourceVersion: string;
  /** The Pod or ReplicaSet the finding named, when the fix acts on its owner instead. */
  resolvedFrom: { kind: string; name: string } | null;
  /** Why nothing can be patched (a bare pod, a pod a Job owns), else null. */
  unsupported: string | null;
  containers: ContainerResources[];
}

interface Fetched {
  metadata?: V1ObjectMeta;
  spec?: { template?: { spec?: V1PodSpec } } | V1PodSpec;
}

/**
 * Reads the workload a resource stands for. A Pod or ReplicaSet is resolved to the
 * Deployment, StatefulSet or DaemonSet that controls it through ownerReferences; a pod
 * that is gone (replaced by a rollout) is resolved from its name, which its controller
 * derived from its own.
 */
export async function readWorkload(ctx: FixContext, resource: ResourceRef): Promise<WorkloadState> {
  const kind = resource.type.replace(/^Kubernetes/, '');
  const namespace = resource.region;
  const api = await apis(ctx, resource.account);
  if (isWorkloadKind(kind)) return readAs(api, kind, namespace, resource.name, null);
  if (kind === 'ReplicaSet') {
    const rs = await get(api, 'ReplicaSet', namespace, resource.name);
    return fromOwner(api, rs, namespace, { kind, name: resource.name });
  }
  if (kind === 'Pod') {
    const from = { kind, name: resource.name };
    try {
      const pod = await get(api, 'Pod', namespace, resource.name);
      return await fromOwner(api, pod, namespace, from);
    } catch (err) {
      if (!isKubeStatus(err, 404)) throw err;
      const owner = await ownerByName(api, namespace, resource.name);
      if (!owner) throw err;
      return owner.kind === 'ReplicaSet'
        ? fromOwner(api, owner.object, namespace, from)
        : readAs(api, owner.kind, namespace, owner.name, from);
    }
  }
  throw invalidInput(
    `k8s.set-resource-limits acts on Deployments, StatefulSets and DaemonSets (and resolves ` +
      `Pods and ReplicaSets to them), not on ${resource.type} ${resource.name}`,
  );
}

/** Reads a workload by kind and name, as a rollback does from its snapshot. */
export async function readWorkloadAs(
  ctx: FixContext,
  context: string,
  kind: WorkloadKind,
  namespace: string,
  name: string,
  resolvedFrom: WorkloadState['resolvedFrom'],
): Promise<WorkloadState> {
  return readAs(await apis(ctx, context), kind, namespace, name, resolvedFrom);
}

type Apis = {
  apps: import('@kubernetes/client-node').AppsV1Api;
  core: import('@kubernetes/client-node').CoreV1Api;
};

async function apis(ctx: FixContext, context: string): Promise<Apis> {
  const { AppsV1Api, CoreV1Api } = await kubeSdk();
  const kc = ctx.clients.kube(context);
  return { apps: kc.makeApiClient(AppsV1Api), core: kc.makeApiClient(CoreV1Api) };
}

const isWorkloadKind = (kind: string): kind is WorkloadKind =>
  (WORKLOAD_KINDS as readonly string[]).includes(kind);

async function readAs(
  api: Apis,
  kind: WorkloadKind,
  namespace: string,
  name: string,
  resolvedFrom: WorkloadState['resolvedFrom'],
): Promise<WorkloadState> {
  const object = await get(api, kind, namespace, name);
  const spec = (object.spec as { template?: { spec?: V1PodSpec } } | undefined)?.template?.spec;
  return {
    kind,
    namespace,
    name,
    uid: object.metadata?.uid ?? '',
    resourceVersion: object.metadata?.resourceVersion ?? '',
    resolvedFrom,
    unsupported: null,
    containers: containersOf(spec),
  };
}

function get(api: Apis, kind: string, namespace: string, name: string): Promise<Fetched> {
  const what = `get ${kind.toLowerCase()} ${namespace}/${name}`;
  const args = { name, namespace };
  switch (kind) {
    case 'Deployment':
      return kubeCall(what, () => api.apps.readNamespacedDeployment(args));
    case 'StatefulSet':
      return kubeCall(what, () => api.apps.readNamespacedStatefulSet(args));
    case 'DaemonSet':
      return kubeCall(what, () => api.apps.readNamespacedDaemonSet(args));
    case 'ReplicaSet':
      return kubeCall(what, () => api.apps.readNamespacedReplicaSet(args));
    default:
      return kubeCall(what, () => api.core.readNamespacedPod(args));
  }
}

/** Follows the controller ownerReference of a Pod or ReplicaSet up to its workload. */
async function fromOwner(
  api: Apis,
  object: Fetched,
  namespace: string,
  from: { kind: string; name: string },
): Promise<WorkloadState> {
  const owner = controllerOf(object.metadata?.ownerReferences);
  if (owner && isWorkloadKind(owner.kind))
    return readAs(api, owner.kind, namespace, owner.name, from);
  if (owner?.kind === 'ReplicaSet') {
    const rs = await get(api, 'ReplicaSet', namespace, owner.name);
    const deployment = controllerOf(rs.metadata?.ownerReferences);
    if (deployment?.kind === 'Deployment') {
      return readAs(api, 'Deployment', namespace, deployment.name, from);
    }
    return unsupported(
      object,
      namespace,
      from,
      `it belongs to ReplicaSet ${owner.name}, which no Deployment controls`,
    );
  }
  const why = owner
    ? `it is controlled by ${owner.kind} ${owner.name}, which this fix does not change`
    : 'nothing controls it';
  return unsupported(object, namespace, from, why);
}

function unsupported(
  object: Fetched,
  namespace: string,
  from: { kind: string; name: string },
  why: string,
): WorkloadState {
  const podSpec =
    (object.spec as { template?: { spec?: V1PodSpec } })?.template?.spec ??
    (object.spec as V1PodSpec | undefined);
  return {
    kind: null,
    namespace,
    name: from.name,
    uid: object.metadata?.uid ?? '',
    resourceVersion: object.metadata?.resourceVersion ?? '',
    resolvedFrom: from,
    unsupported:
      `${from.kind} ${namespace}/${from.name} cannot be given requests and limits here: ${why}. ` +
      "A running pod's resources are set by the pod template that created it; change that " +
      'template (or the manifest the pod came from) instead',
    containers: containersOf(podSpec),
  };
}

function controllerOf(refs: V1OwnerReference[] | undefined): V1OwnerReference | undefined {
  return refs?.find((r) => r.controller);
}

/**
 * The owner a replaced pod had, from its name: `<replicaset>-<5 chars>` for a Deployment's
 * or DaemonSet's pod, `<statefulset>-<ordinal>` for a StatefulSet's.
 */
async function ownerByName(
  api: Apis,
  namespace: string,
  pod: string,
): Promise<
  | { kind: 'ReplicaSet'; name: string; object: Fetched }
  | { kind: WorkloadKind; name: string }
  | null
> {
  const base = pod.replace(/-[a-z0-9]+$/, '');
  const attempts: ['ReplicaSet' | WorkloadKind, string][] = /-[0-9]+$/.test(pod)
    ? [['StatefulSet', base]]
    : [
        ['ReplicaSet', base],
        ['DaemonSet', base],
      ];
  for (const [kind, name] of attempts) {
    try {
      const object = await get(api, kind, namespace, name);
      return kind === 'ReplicaSet' ? { kind, name, object } : { kind, name };
    } catch (err) {
      if (!isKubeStatus(err, 404)) throw err;
    }
  }
  return null;
}

function containersOf(spec: V1PodSpec | undefined): ContainerResources[] {
  const plain = (value: unknown) =>
    value === undefined || value === null
      ? null
      : (JSON.parse(JSON.stringify(value)) as Record<string, unknown>);
  return [
    ...(spec?.initContainers ?? []).map((c) => ({
      name: c.name,
      init: true,
      resources: plain(c.resources),
    })),
    ...(spec?.containers ?? []).map((c) => ({
      name: c.name,
      init: false,
      resources: plain(c.resources),
    })),
  ];
}
