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

/** The kubeconfig context findings are attributed to unless the import names one. */
export const DEFAULT_CONTEXT = 'default';
