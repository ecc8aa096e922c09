import type { ResourceRef } from '../../domain/action.ts';

/** Kinds that live outside namespaces; their ids have an empty namespace part. */
const CLUSTER_SCOPED = new Set([
  'Namespace',
  'Node',
  'PersistentVolume',
  'ClusterRole',
  'ClusterRoleBinding',
  'StorageClass',
  'CustomResourceDefinition',
  'ValidatingWebhookConfiguration',
  'MutatingWebhookConfiguration',
  'PriorityClass',
  'RuntimeClass',
]);

export function isClusterScoped(kind: string): boolean {
  return CLUSTER_SCOPED.has(kind);
}

/**
 * A Kubernetes object as a resource: `account` is the kubeconfig context, `region` the
 * namespace (a Namespace's own name for a Namespace), `type` `Kubernetes<Kind>` and `id`
 * `k8s://<context>/<namespace>/<Kind>/<name>`.
 */
export function kubeResource(
  context: string,
  namespace: string,
  kind: string,
  name: string,
): ResourceRef {
  const scoped = isClusterScoped(kind);
  return {
    provider: 'kubernetes',
    account: context,
    region: kind === 'Namespace' ? name : scoped ? '' : namespace,
    type: `Kubernetes${kind}`,
    id: `k8s://${context}/${scoped ? '' : namespace}/${kind}/${name}`,
    name,
  };
}

/** What every Kubernetes reader is told: the kubeconfig context the findings are about. */
export interface KubeImportContext {
  context: string;
}

/**
 * A Kubernetes finding's key: `<origin>:<context>/<what the scanner names>`. The same report
 * about two clusters names the same objects, so without the context one cluster's results
 * would update, or resolve, the other's findings.
 */
export function kubeFindingId(origin: string, ctx: KubeImportContext, within: string): string {
  return `${origin}:${ctx.context}/${within}`;
}

/** The key of a finding about one object: `<origin>:<context>/<namespace>/<Kind>/<name>:<check>`. */
export function objectFindingId(origin: string, resource: ResourceRef, check: string): string {
  const path = resource.id.slice(`k8s://${resource.account}/`.length);
  return kubeFindingId(origin, { context: resource.account }, `${path}:${check}`);
}

/** The kubeconfig context findings are attributed to unless the import names one. */
export const DEFAULT_CONTEXT = 'default';
