import { isDeepStrictEqual } from 'node:util';
import { type Cluster, type KubeObject, newUid, timestamp } from './cluster.ts';
import { admit, ALPHABET, makePod, ownerRef, suffix } from './pods.ts';
import {
  DAEMONSETS,
  DEPLOYMENTS,
  PODS,
  REPLICASETS,
  type ResourceInfo,
  STATEFULSETS,
} from './resources.ts';

type Json = Record<string, unknown>;
const obj = (v: unknown): Json =>
  typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Json) : {};

/**
 * What the controllers do, done at once: a Deployment owns one ReplicaSet per pod
 * template (named by its pod-template-hash), ReplicaSets, StatefulSets and DaemonSets
 * own pods, and a changed template replaces the pods. Writes `workload.status`; the
 * caller stores the workload. Children are stored here and are not logged as mutations.
 */
export function reconcile(
  cluster: Cluster,
  res: ResourceInfo,
  workload: KubeObject,
  now: Date,
): void {
  if (res === DEPLOYMENTS) reconcileDeployment(cluster, workload, now);
  else if (res === REPLICASETS) reconcileReplicaSet(cluster, workload, now);
  else if (res === STATEFULSETS) reconcileStatefulSet(cluster, workload, now);
  else if (res === DAEMONSETS) reconcileDaemonSet(cluster, workload, now);
}

/** `6d4cf56db6`: FNV-32a of the template, encoded the way Kubernetes does. */
export function templateHash(template: unknown): string {
  let hash = 0x811c9dc5;
  for (const byte of Buffer.from(canonical(template))) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return [...String(hash)].map((c) => ALPHABET[c.charCodeAt(0) % ALPHABET.length]).join('');
}

function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (typeof value === 'object' && value !== null) {
    const entries = Object.entries(value).filter(([, v]) => v !== undefined);
    entries.sort(([a], [b]) => (a < b ? -1 : 1));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

function ownedBy(cluster: Cluster, res: ResourceInfo, owner: KubeObject): KubeObject[] {
  return cluster
    .list(res, owner.metadata.namespace)
    .filter((o) => o.metadata.ownerReferences?.some((r) => r.uid === owner.metadata.uid));
}

function reconcileDeployment(cluster: Cluster, d: KubeObject, now: Date): void {
  const spec = obj(d.spec);
  const template = obj(spec.template);
  const hash = templateHash(template);
  const name = `${d.metadata.name}-${hash}`;
  const replicas = Number(spec.replicas ?? 1);
  const namespace = d.metadata.namespace as string;
  const revision = String(
    Number(d.metadata.annotations?.['deployment.kubernetes.io/revision'] ?? 0) + 1,
  );

  for (const old of ownedBy(cluster, REPLICASETS, d)) {
    if (old.metadata.name === name) continue;
    if (Number(obj(old.spec).replicas) !== 0) {
      obj(old.spec).replicas = 0;
      reconcileAndStore(cluster, REPLICASETS, old, now);
    }
  }
  let rs = cluster.get(REPLICASETS, namespace, name);
  if (!rs) {
    const labels = { ...obj(obj(template.metadata).labels), 'pod-template-hash': hash } as Record<
      string,
      string
    >;
    const selector = obj(spec.selector);
    rs = {
      apiVersion: 'apps/v1',
      kind: 'ReplicaSet',
      metadata: {
        name,
        namespace,
        uid: newUid(),
        resourceVersion: '',
        generation: 1,
        creationTimestamp: timestamp(now),
        labels,
        annotations: { 'deployment.kubernetes.io/revision': revision },
        ownerReferences: [ownerRef(DEPLOYMENTS, d)],
      },
      spec: {
        replicas,
        selector: {
          ...selector,
          matchLabels: { ...obj(selector.matchLabels), 'pod-template-hash': hash },
        },
        template: {
          ...template,
          metadata: { ...obj(template.metadata), labels },
        },
      },
    };
    d.metadata.annotations = {
      ...d.metadata.annotations,
      'deployment.kubernetes.io/revision': revision,
    };
  } else {
    obj(rs.spec).replicas = replicas;
  }
  const current = reconcileAndStore(cluster, REPLICASETS, rs, now);
  const ready = Number(obj(current.status).readyReplicas ?? 0);
  d.status = {
    observedGeneration: d.metadata.generation,
    replicas: ready,
    updatedReplicas: ready,
    readyReplicas: ready,
    availableReplicas: ready,
    ...(ready < replicas ? { unavailableReplicas: replicas - ready } : {}),
    conditions: [
      {
        type: 'Available',
        status: ready >= replicas ? 'True' : 'False',
        reason: ready >= replicas ? 'MinimumReplicasAvailable' : 'MinimumReplicasUnavailable',
      },
      { type: 'Progressing', status: 'True', reason: 'NewReplicaSetAvailable' },
    ],
  };
}

/** Reconciles a child the sandbox itself manages, then stores it when it changed. */
function reconcileAndStore(
  cluster: Cluster,
  res: ResourceInfo,
  child: KubeObject,
  now: Date,
): KubeObject {
  const before = structuredClone(child);
  reconcile(cluster, res, child, now);
  if (child.metadata.resourceVersion && isDeepStrictEqual(before, child)) return child;
  return cluster.put(res, child);
}

function reconcileReplicaSet(cluster: Cluster, rs: KubeObject, now: Date): void {
  const spec = obj(rs.spec);
  const desired = Number(spec.replicas ?? 1);
  const pods = ownedBy(cluster, PODS, rs);
  for (const extra of pods.slice(desired)) {
    cluster.delete(PODS, extra.metadata.namespace as string, extra.metadata.name);
  }
  let refusal: string | null = null;
  for (let i = pods.length; i < desired; i += 1) {
    const pod = makePod(
      cluster,
      REPLICASETS,
      rs,
      `${rs.metadata.name}-${suffix(rs, cluster, i)}`,
      {},
      now,
      i,
    );
    refusal = admit(cluster, pod) ?? refusal;
  }
  const count = ownedBy(cluster, PODS, rs).length;
  rs.status = {
    replicas: count,
    fullyLabeledReplicas: count,
    readyReplicas: count,
    availableReplicas: count,
    observedGeneration: rs.metadata.generation,
    ...(refusal
      ? {
          conditions: [
            { type: 'ReplicaFailure', status: 'True', reason: 'FailedCreate', message: refusal },
          ],
        }
      : {}),
  };
}

function reconcileStatefulSet(cluster: Cluster, sts: KubeObject, now: Date): void {
  const spec = obj(sts.spec);
  const desired = Number(spec.replicas ?? 1);
  const revision = `${sts.metadata.name}-${templateHash(spec.template)}`;
  const rolling = obj(spec.updateStrategy).type !== 'OnDelete';
  const namespace = sts.metadata.namespace as string;
  for (const pod of ownedBy(cluster, PODS, sts)) {
    const ordinal = Number(pod.metadata.name.slice(sts.metadata.name.length + 1));
    if (!(ordinal < desired)) cluster.delete(PODS, namespace, pod.metadata.name);
  }
  for (let i = 0; i < desired; i += 1) {
    const name = `${sts.metadata.name}-${i}`;
    const existing = cluster.get(PODS, namespace, name);
    const stale = existing?.metadata.labels?.['controller-revision-hash'] !== revision;
    if (existing && !(stale && rolling)) continue;
    if (existing) cluster.delete(PODS, namespace, name);
    const extra = {
      'controller-revision-hash': revision,
      'statefulset.kubernetes.io/pod-name': name,
    };
    admit(cluster, makePod(cluster, STATEFULSETS, sts, name, extra, now, i));
  }
  const count = ownedBy(cluster, PODS, sts).length;
  sts.status = {
    observedGeneration: sts.metadata.generation,
    replicas: count,
    readyReplicas: count,
    currentReplicas: count,
    updatedReplicas: count,
    availableReplicas: count,
    currentRevision: revision,
    updateRevision: revision,
  };
}

function reconcileDaemonSet(cluster: Cluster, ds: KubeObject, now: Date): void {
  const spec = obj(ds.spec);
  const hash = templateHash(spec.template);
  const rolling = obj(spec.updateStrategy).type !== 'OnDelete';
  const namespace = ds.metadata.namespace as string;
  const pods = ownedBy(cluster, PODS, ds);
  cluster.nodes.forEach((node, i) => {
    const onNode = pods.find((p) => obj(p.spec).nodeName === node);
    const stale = onNode?.metadata.labels?.['controller-revision-hash'] !== hash;
    if (onNode && !(stale && rolling)) return;
    if (onNode) cluster.delete(PODS, namespace, onNode.metadata.name);
    const name = `${ds.metadata.name}-${suffix(ds, cluster, i)}`;
    const extra = {
      'controller-revision-hash': hash,
      'pod-template-generation': String(ds.metadata.generation ?? 1),
    };
    admit(cluster, makePod(cluster, DAEMONSETS, ds, name, extra, now, i, node));
  });
  const count = ownedBy(cluster, PODS, ds).length;
  ds.status = {
    observedGeneration: ds.metadata.generation,
    desiredNumberScheduled: cluster.nodes.length,
    currentNumberScheduled: count,
    updatedNumberScheduled: count,
    numberReady: count,
    numberAvailable: count,
    numberMisscheduled: 0,
  };
}
