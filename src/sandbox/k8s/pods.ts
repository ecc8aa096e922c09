import { createHash } from 'node:crypto';
import {
  type Cluster,
  type KubeObject,
  newUid,
  type OwnerReference,
  timestamp,
} from './cluster.ts';
import { parseQuantity } from './quantity.ts';
import { podAdmissionRefusal } from './psa-admission.ts';
import { apiVersionOf, NAMESPACES, PODS, type ResourceInfo } from './resources.ts';

type Json = Record<string, unknown>;
const obj = (v: unknown): Json =>
  typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Json) : {};

/** The characters Kubernetes builds generated names and hashes from. */
export const ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';

/** The controller reference a child carries to its owner. */
export const ownerRef = (res: ResourceInfo, owner: KubeObject): OwnerReference => ({
  apiVersion: apiVersionOf(res),
  kind: res.kind,
  name: owner.metadata.name,
  uid: owner.metadata.uid,
  controller: true,
  blockOwnerDeletion: true,
});

/** Five characters from Kubernetes' pod-name alphabet, reproducible from the history. */
export function suffix(owner: KubeObject, cluster: Cluster, index: number): string {
  const digest = createHash('sha256')
    .update(`${owner.metadata.uid}/${cluster.revision}/${index}`)
    .digest();
  return [...digest.subarray(0, 5)].map((b) => ALPHABET[b % ALPHABET.length]).join('');
}

export function makePod(
  cluster: Cluster,
  ownerRes: ResourceInfo,
  owner: KubeObject,
  name: string,
  extraLabels: Record<string, string>,
  now: Date,
  index: number,
  node?: string,
): KubeObject {
  const template = obj(obj(owner.spec).template);
  const meta = obj(template.metadata);
  const spec = structuredClone(obj(template.spec));
  for (const field of ['initContainers', 'containers']) {
    for (const c of Array.isArray(spec[field]) ? spec[field] : []) requestsFromLimits(obj(c));
  }
  spec.nodeName = node ?? cluster.nodes[index % cluster.nodes.length];
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      namespace: owner.metadata.namespace as string,
      uid: newUid(),
      resourceVersion: '',
      creationTimestamp: timestamp(now),
      labels: { ...(meta.labels as Record<string, string>), ...extraLabels },
      ...(meta.annotations ? { annotations: meta.annotations as Record<string, string> } : {}),
      ownerReferences: [ownerRef(ownerRes, owner)],
    },
    spec,
    status: {
      phase: 'Running',
      hostIP: '10.0.0.1',
      podIP: `10.244.${index % 250}.${(cluster.revision % 250) + 2}`,
      startTime: timestamp(now),
      qosClass: qosClass(spec),
      conditions: [{ type: 'Ready', status: 'True' }],
    },
  };
}

/** Stores the pod unless Pod Security Admission refuses it; returns the refusal. */
export function admit(cluster: Cluster, pod: KubeObject): string | null {
  const ns = cluster.get(NAMESPACES, '', pod.metadata.namespace as string);
  const refusal = podAdmissionRefusal(ns?.metadata.labels, pod.spec);
  if (refusal) return `pods "${pod.metadata.name}" is forbidden: ${refusal}`;
  cluster.put(PODS, pod);
  return null;
}

/** A pod's container with limits but no requests gets requests equal to its limits. */
function requestsFromLimits(container: Json): void {
  const resources = obj(container.resources);
  const limits = obj(resources.limits);
  if (Object.keys(limits).length === 0) return;
  resources.requests = { ...limits, ...obj(resources.requests) };
  container.resources = resources;
}

function qosClass(spec: Json): string {
  const containers = [...(Array.isArray(spec.containers) ? spec.containers : [])].map(obj);
  const parts = containers.map((c) => obj(c.resources));
  if (
    parts.every(
      (r) => Object.keys(obj(r.requests)).length === 0 && Object.keys(obj(r.limits)).length === 0,
    )
  ) {
    return 'BestEffort';
  }
  const guaranteed = parts.every((r) =>
    ['cpu', 'memory'].every((name) => {
      const limit = obj(r.limits)[name];
      const request = obj(r.requests)[name];
      return (
        typeof limit === 'string' &&
        typeof request === 'string' &&
        parseQuantity(limit) === parseQuantity(request)
      );
    }),
  );
  return guaranteed ? 'Guaranteed' : 'Burstable';
}
