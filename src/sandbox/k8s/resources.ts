/** One kind the sandbox API server serves, as its discovery document describes it. */
export interface ResourceInfo {
  /** The URL segment: `deployments`. */
  plural: string;
  singular: string;
  kind: string;
  /** API group; `''` is the core group. */
  group: '' | 'apps';
  version: 'v1';
  namespaced: boolean;
  shortNames: string[];
  verbs: string[];
}

const VERBS = ['create', 'get', 'list', 'patch', 'update'];

export const NAMESPACES: ResourceInfo = {
  plural: 'namespaces',
  singular: 'namespace',
  kind: 'Namespace',
  group: '',
  version: 'v1',
  namespaced: false,
  shortNames: ['ns'],
  verbs: VERBS,
};

export const PODS: ResourceInfo = {
  plural: 'pods',
  singular: 'pod',
  kind: 'Pod',
  group: '',
  version: 'v1',
  namespaced: true,
  shortNames: ['po'],
  verbs: VERBS,
};

const apps = (plural: string, kind: string, shortNames: string[]): ResourceInfo => ({
  plural,
  singular: plural.slice(0, -1),
  kind,
  group: 'apps',
  version: 'v1',
  namespaced: true,
  shortNames,
  verbs: VERBS,
});

export const DEPLOYMENTS = apps('deployments', 'Deployment', ['deploy']);
export const REPLICASETS = apps('replicasets', 'ReplicaSet', ['rs']);
export const STATEFULSETS = apps('statefulsets', 'StatefulSet', ['sts']);
export const DAEMONSETS = apps('daemonsets', 'DaemonSet', ['ds']);

export const RESOURCES: readonly ResourceInfo[] = [
  NAMESPACES,
  PODS,
  DEPLOYMENTS,
  REPLICASETS,
  STATEFULSETS,
  DAEMONSETS,
];

/** The kinds whose pod template the sandbox's controllers turn into pods. */
export const WORKLOADS: readonly ResourceInfo[] = [
  DEPLOYMENTS,
  REPLICASETS,
  STATEFULSETS,
  DAEMONSETS,
];

export function apiVersionOf(res: ResourceInfo): string {
  return res.group ? `${res.group}/${res.version}` : res.version;
}

/** `deployments.apps`, `pods`: how Kubernetes names a resource in its messages. */
export function qualifiedName(res: ResourceInfo): string {
  return res.group ? `${res.plural}.${res.group}` : res.plural;
}

/** `Deployment.apps`, `Pod`: how validation messages name a kind. */
export function qualifiedKind(res: ResourceInfo): string {
  return res.group ? `${res.kind}.${res.group}` : res.kind;
}

export function resourceByPlural(group: string, plural: string): ResourceInfo | undefined {
  return RESOURCES.find((r) => r.group === group && r.plural === plural);
}

export function resourceByKind(kind: string): ResourceInfo | undefined {
  return RESOURCES.find((r) => r.kind === kind);
}
