import {
  AppsV1Api,
  CoreV1Api,
  type V1Container,
  type V1Namespace,
  type V1ObjectMeta,
  type V1PodTemplateSpec,
} from '@kubernetes/client-node';
import { kubeCall } from '../catalog/k8s/kube-api.ts';
import type { CloudClients } from '../cloud/clients.ts';
import { kubeResource } from '../findings/k8s/resource.ts';
import type { UnitResult } from './aws/reading.ts';
import { errorCode, errorMessage, type ScanUnit } from './reads.ts';
import type {
  DiscoveredResource,
  KubeContainerConfig,
  KubeNamespaceConfig,
  KubeWorkloadConfig,
} from './types.ts';

/** A Kubernetes context is one unit; its "region" is empty (it spans namespaces). */
export function kubeUnit(context: string): ScanUnit {
  return { provider: 'kubernetes', account: context, region: '', service: 'kubernetes' };
}

const PAGE = 500;

interface Listed<T> {
  items: T[];
  metadata?: { _continue?: string };
}

async function listAll<T>(what: string, page: (cont?: string) => Promise<Listed<T>>): Promise<T[]> {
  const out: T[] = [];
  let cont: string | undefined;
  do {
    const res = await kubeCall(what, () => page(cont));
    out.push(...res.items);
    cont = res.metadata?._continue || undefined;
  } while (cont);
  return out;
}

const plain = <T>(value: T): T => JSON.parse(JSON.stringify(value ?? null)) as T;

function containers(list: V1Container[] | undefined, init: boolean): KubeContainerConfig[] {
  return (list ?? []).map((c) => ({
    name: c.name,
    image: c.image ?? '',
    init,
    resources: plain(c.resources ?? {}) as KubeContainerConfig['resources'],
    securityContext: c.securityContext ? plain(c.securityContext as Record<string, unknown>) : null,
  }));
}

/** A workload as discovery records it, from its metadata and pod template. */
export function workload(
  context: string,
  kind: KubeWorkloadConfig['kind'],
  meta: V1ObjectMeta | undefined,
  template: V1PodTemplateSpec | undefined,
  replicas: number | null,
): DiscoveredResource {
  const namespace = meta?.namespace ?? 'default';
  const name = meta?.name ?? '';
  const spec = template?.spec;
  const config: KubeWorkloadConfig = {
    kind,
    namespace,
    name,
    uid: meta?.uid ?? '',
    labels: { ...meta?.labels },
    annotations: { ...meta?.annotations },
    replicas,
    podSecurityContext: spec?.securityContext
      ? plain(spec.securityContext as Record<string, unknown>)
      : null,
    serviceAccountName: spec?.serviceAccountName ?? null,
    hostNetwork: spec?.hostNetwork ?? false,
    hostPID: spec?.hostPID ?? false,
    hostIPC: spec?.hostIPC ?? false,
    containers: [...containers(spec?.initContainers, true), ...containers(spec?.containers, false)],
  };
  return {
    ...kubeResource(context, namespace, kind, name),
    tags: { ...meta?.labels },
    config: { ...config },
  };
}

/** A namespace as discovery records it. */
export function namespace(context: string, ns: V1Namespace): DiscoveredResource {
  const name = ns.metadata?.name as string;
  const config: KubeNamespaceConfig = {
    name,
    uid: ns.metadata?.uid ?? '',
    labels: { ...ns.metadata?.labels },
    annotations: { ...ns.metadata?.annotations },
    phase: ns.status?.phase ?? null,
  };
  return {
    ...kubeResource(context, '', 'Namespace', name),
    tags: { ...ns.metadata?.labels },
    config: { ...config },
  };
}

/** Discovers workloads and namespaces of one context. Never throws. */
export async function discoverKubeUnit(
  clients: CloudClients,
  context: string,
): Promise<UnitResult> {
  const unit = kubeUnit(context);
  const result: UnitResult = { unit, resources: [], errors: [], complete: true };
  const fail = (operation: string, error: unknown) => {
    result.complete = false;
    result.errors.push({
      ...unit,
      operation,
      code: errorCode(error),
      message: errorMessage(error),
      resourceId: null,
    });
  };
  let apps: AppsV1Api;
  let core: CoreV1Api;
  try {
    const kc = clients.kube(context);
    apps = kc.makeApiClient(AppsV1Api);
    core = kc.makeApiClient(CoreV1Api);
  } catch (error) {
    fail('kubeconfig', error);
    return result;
  }
  const reads: [string, () => Promise<DiscoveredResource[]>][] = [
    [
      'listNamespace',
      async () =>
        (await listAll('list namespaces', (c) => core.listNamespace({ limit: PAGE, _continue: c })))
          .filter((ns) => ns.metadata?.name)
          .map((ns) => namespace(context, ns)),
    ],
    [
      'listDeploymentForAllNamespaces',
      async () =>
        (
          await listAll('list deployments', (c) =>
            apps.listDeploymentForAllNamespaces({ limit: PAGE, _continue: c }),
          )
        ).map((d) =>
          workload(context, 'Deployment', d.metadata, d.spec?.template, d.spec?.replicas ?? 1),
        ),
    ],
    [
      'listStatefulSetForAllNamespaces',
      async () =>
        (
          await listAll('list statefulsets', (c) =>
            apps.listStatefulSetForAllNamespaces({ limit: PAGE, _continue: c }),
          )
        ).map((s) =>
          workload(context, 'StatefulSet', s.metadata, s.spec?.template, s.spec?.replicas ?? 1),
        ),
    ],
    [
      'listDaemonSetForAllNamespaces',
      async () =>
        (
          await listAll('list daemonsets', (c) =>
            apps.listDaemonSetForAllNamespaces({ limit: PAGE, _continue: c }),
          )
        ).map((d) => workload(context, 'DaemonSet', d.metadata, d.spec?.template, null)),
    ],
  ];
  const settled = await Promise.all(
    reads.map(async ([operation, read]) => {
      try {
        return await read();
      } catch (error) {
        fail(operation, error);
        return [];
      }
    }),
  );
  result.resources = settled.flat();
  return result;
}
