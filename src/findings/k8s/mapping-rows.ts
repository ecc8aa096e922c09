import type { CheckMapping } from '../mapping.ts';
import { NAMESPACE_CHECK } from './manifests.ts';

const LIMITS = 'k8s.set-resource-limits';
const POD_SECURITY = 'k8s.enforce-pod-security';

/** Pods and ReplicaSets are resolved to the workload that owns them when the fix reads. */
const WORKLOAD_TYPES = [
  'KubernetesDeployment',
  'KubernetesStatefulSet',
  'KubernetesDaemonSet',
  'KubernetesPod',
  'KubernetesReplicaSet',
];

/** Polaris's names for missing requests and limits; trivy-operator used them before KSV ids. */
const POLARIS_RESOURCE_CHECKS = [
  'cpuRequestsMissing',
  'memoryRequestsMissing',
  'cpuLimitsMissing',
  'memoryLimitsMissing',
];

/**
 * Missing requests and limits, by scanner: Kubescape C-0009 (resource limits), C-0004 and
 * C-0050 (memory and CPU request and limit), C-0270 and C-0271 (CPU and memory limits);
 * trivy KSV011 (CPU limit), KSV015 (CPU request), KSV016 (memory request), KSV018 (memory
 * limit); Polaris's four checks, which the manifest reader also uses.
 */
const RESOURCE_CHECKS: Record<string, string[]> = {
  kubescape: ['C-0009', 'C-0004', 'C-0050', 'C-0270', 'C-0271'],
  polaris: POLARIS_RESOURCE_CHECKS,
  'trivy-operator': ['KSV011', 'KSV015', 'KSV016', 'KSV018', ...POLARIS_RESOURCE_CHECKS],
  manifest: POLARIS_RESOURCE_CHECKS,
};

/**
 * A namespace with no Pod Security Admission enforce label: Kubescape C-0192 (CIS 5.2.1,
 * "at least one active policy control mechanism"), and the manifest reader's own check.
 * Pod-level security findings (privileged, host namespaces, ...) map to no fix: enforcing
 * a level does not change a pod, it refuses the next one like it.
 */
export const KUBERNETES_ROWS: readonly CheckMapping[] = [
  ...Object.entries(RESOURCE_CHECKS).flatMap(([origin, ids]) =>
    ids.flatMap((checkId) =>
      WORKLOAD_TYPES.map((resourceType) => ({ origin, checkId, resourceType, fixType: LIMITS })),
    ),
  ),
  {
    origin: 'kubescape',
    checkId: 'C-0192',
    resourceType: 'KubernetesNamespace',
    fixType: POD_SECURITY,
  },
  {
    origin: 'manifest',
    checkId: NAMESPACE_CHECK,
    resourceType: 'KubernetesNamespace',
    fixType: POD_SECURITY,
  },
];
