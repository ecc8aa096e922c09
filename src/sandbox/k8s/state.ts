import { isDeepStrictEqual } from 'node:util';
import { SandboxInputError } from '../api-error.ts';
import { Cluster, type KubeObject, stableUid, timestamp } from './cluster.ts';
import { reconcile } from './controllers.ts';
import { applyDefaults } from './defaults.ts';
import {
  apiVersionOf,
  DAEMONSETS,
  DEPLOYMENTS,
  NAMESPACES,
  PODS,
  REPLICASETS,
  type ResourceInfo,
  STATEFULSETS,
  WORKLOADS,
} from './resources.ts';
import { validateObject } from './validate.ts';

/** The `kubernetes` key of the state document. */
export interface KubernetesState {
  /** The cluster requests act on unless their bearer token is listed under another. */
  defaultCluster: string;
  clusters: Record<string, ClusterState>;
}

export interface ClusterState {
  /** Bearer tokens that act on this cluster. */
  tokens?: string[];
  /** Node names; DaemonSets run one pod on each. */
  nodes?: string[];
  /** The last resourceVersion handed out. Objects are in the API's JSON form, by kind. */
  resourceVersion?: number;
  namespaces?: unknown[];
  pods?: unknown[];
  deployments?: unknown[];
  replicasets?: unknown[];
  statefulsets?: unknown[];
  daemonsets?: unknown[];
}

export const DEFAULT_CLUSTER = 'sandbox';
const SYSTEM_NAMESPACES = ['default', 'kube-node-lease', 'kube-public', 'kube-system'];
const ORDER: ResourceInfo[] = [
  NAMESPACES,
  DEPLOYMENTS,
  REPLICASETS,
  STATEFULSETS,
  DAEMONSETS,
  PODS,
];

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Reads the `kubernetes` key (an empty cluster with the system namespaces when there is
 * none), filling in what the API server would have set, then lets the controllers
 * create what a workload owns, so a seed may list workloads without their pods.
 */
export function loadClusters(
  raw: unknown,
  now: Date,
): { defaultCluster: string; clusters: Map<string, Cluster> } {
  const clusters = new Map<string, Cluster>();
  if (raw === undefined) {
    clusters.set(DEFAULT_CLUSTER, emptyCluster(DEFAULT_CLUSTER, now));
    return { defaultCluster: DEFAULT_CLUSTER, clusters };
  }
  const fail = (what: string) => new SandboxInputError(`sandbox state: kubernetes${what}`);
  if (!isObject(raw) || !isObject(raw.clusters)) {
    throw fail(' must be an object with "clusters" keyed by cluster name');
  }
  for (const [name, state] of Object.entries(raw.clusters)) {
    if (!isObject(state)) throw fail(`.clusters.${name} must be an object`);
    clusters.set(name, loadCluster(name, state as ClusterState, now, fail));
  }
  const names = [...clusters.keys()];
  const defaultCluster = raw.defaultCluster ?? names[0];
  if (typeof defaultCluster !== 'string' || !clusters.has(defaultCluster)) {
    throw fail(
      `.defaultCluster must name one of the clusters (${names.join(', ') || 'none listed'}), ` +
        `got ${JSON.stringify(raw.defaultCluster)}`,
    );
  }
  return { defaultCluster, clusters };
}

export function saveClusters(
  defaultCluster: string,
  clusters: Map<string, Cluster>,
): KubernetesState {
  const out: KubernetesState = { defaultCluster, clusters: {} };
  for (const [name, cluster] of clusters) {
    const state: ClusterState = {
      tokens: [...cluster.tokens],
      nodes: [...cluster.nodes],
      resourceVersion: cluster.revision,
    };
    for (const res of ORDER) (state as Record<string, unknown>)[res.plural] = cluster.list(res);
    out.clusters[name] = state;
  }
  return out;
}

function emptyCluster(name: string, now: Date): Cluster {
  const cluster = new Cluster(name, {});
  for (const ns of SYSTEM_NAMESPACES) {
    const object = prepare(cluster, NAMESPACES, { metadata: { name: ns } } as KubeObject, now);
    cluster.put(NAMESPACES, object);
  }
  return cluster;
}

function loadCluster(
  name: string,
  state: ClusterState,
  now: Date,
  fail: (what: string) => SandboxInputError,
): Cluster {
  const strings = (v: unknown) => Array.isArray(v) && v.every((s) => typeof s === 'string');
  if (state.tokens !== undefined && !strings(state.tokens)) {
    throw fail(`.clusters.${name}.tokens must be a list of strings`);
  }
  if (state.nodes !== undefined && (!strings(state.nodes) || state.nodes.length === 0)) {
    throw fail(`.clusters.${name}.nodes must be a non-empty list of node names`);
  }
  const cluster = new Cluster(name, {
    ...(state.tokens ? { tokens: state.tokens } : {}),
    ...(state.nodes ? { nodes: state.nodes } : {}),
    revision: Number.isInteger(state.resourceVersion) ? state.resourceVersion : 1,
  });
  for (const res of ORDER) {
    const items: unknown = state[res.plural as keyof ClusterState];
    if (items === undefined) continue;
    if (!Array.isArray(items)) throw fail(`.clusters.${name}.${res.plural} must be a list`);
    items.forEach((item, i) => {
      const at = `.clusters.${name}.${res.plural}[${i}]`;
      if (!isObject(item) || !isObject(item.metadata) || typeof item.metadata.name !== 'string') {
        throw fail(`${at} must be a ${res.kind} with metadata.name`);
      }
      const object = prepare(cluster, res, item as KubeObject, now);
      const ns = object.metadata.namespace;
      if (res.namespaced && (typeof ns !== 'string' || !cluster.has(NAMESPACES, '', ns))) {
        throw fail(
          `${at}.metadata.namespace must name a namespace listed under namespaces, ` +
            `got ${JSON.stringify(ns)}`,
        );
      }
      const causes = validateObject(res, object);
      if (causes.length > 0) {
        throw fail(`${at}: ${causes.map((c) => `${c.field ?? ''}: ${c.message}`).join('; ')}`);
      }
      if (object.metadata.resourceVersion) cluster.restore(res, object);
      else cluster.put(res, object);
    });
  }
  settleControllers(cluster, now);
  return cluster;
}

/** The fields a stored object always has, filled in where a seed left them out. */
function prepare(cluster: Cluster, res: ResourceInfo, raw: KubeObject, now: Date): KubeObject {
  const object = structuredClone(raw);
  object.apiVersion = apiVersionOf(res);
  object.kind = res.kind;
  const meta = object.metadata;
  if (!res.namespaced) delete meta.namespace;
  meta.uid ??= stableUid(`${cluster.name}/${res.plural}/${meta.namespace ?? ''}/${meta.name}`);
  meta.creationTimestamp ??= timestamp(now);
  if (WORKLOADS.includes(res)) meta.generation ??= 1;
  if (res === NAMESPACES) {
    meta.labels = { ...meta.labels, 'kubernetes.io/metadata.name': meta.name };
    object.spec ??= { finalizers: ['kubernetes'] };
    object.status ??= { phase: 'Active' };
  }
  if (res === PODS) object.status ??= { phase: 'Running' };
  applyDefaults(res, object);
  return object;
}

function settleControllers(cluster: Cluster, now: Date): void {
  const owned = (o: KubeObject) => (o.metadata.ownerReferences ?? []).some((r) => r.controller);
  for (const res of [DEPLOYMENTS, REPLICASETS, STATEFULSETS, DAEMONSETS]) {
    for (const workload of cluster.list(res)) {
      if (res === REPLICASETS && owned(workload)) continue;
      const before = structuredClone(workload);
      reconcile(cluster, res, workload, now);
      if (!isDeepStrictEqual(before, workload)) cluster.put(res, workload);
    }
  }
}
