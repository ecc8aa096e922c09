import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  AppsV1Api,
  CoreV1Api,
  KubeConfig,
  type V1Deployment,
  type V1Namespace,
  type V1Pod,
  type V1PodTemplateSpec,
} from '@kubernetes/client-node';
import { createCatalog } from '../../src/catalog/index.ts';
import { type CloudClients, createCloudClients } from '../../src/cloud/clients.ts';
import type { ResourceRef } from '../../src/domain/action.ts';
import { DEFAULT_FIX_OPTIONS, type FixOptions } from '../../src/domain/fix-options.ts';
import { contextWithoutLease } from '../../src/engine/fix-context.ts';
import { writeSandboxKubeconfig } from '../../src/sandbox/k8s/kubeconfig.ts';
import { type Sandbox, startSandbox } from '../../src/sandbox/server.ts';
import { silentLog } from './world.ts';

export const CONTEXT = 'test-cluster';

/** A sandbox, a kubeconfig for it and the product's clients pointed at it, the standard way. */
export async function startKubeWorld(opts: { seed?: 'demo' | 'empty' } = {}) {
  const sandbox: Sandbox = await startSandbox({ seed: opts.seed ?? 'empty' });
  const dir = await mkdtemp(join(tmpdir(), 'infraudit-kube-'));
  const kubeconfig = await writeSandboxKubeconfig(join(dir, 'kubeconfig'), sandbox.url, [
    { name: CONTEXT, token: 'sandbox' },
  ]);
  const clients: CloudClients = createCloudClients({ kubeconfig });
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfig);
  return {
    sandbox,
    clients,
    kubeconfig,
    core: kc.makeApiClient(CoreV1Api),
    apps: kc.makeApiClient(AppsV1Api),
    catalog: createCatalog(),
    async close() {
      clients.destroy();
      await sandbox.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export type KubeWorld = Awaited<ReturnType<typeof startKubeWorld>>;

export function kubeContext(world: KubeWorld, options: Partial<FixOptions> = {}, params = {}) {
  return contextWithoutLease(world.clients, silentLog, {
    params,
    options: { ...DEFAULT_FIX_OPTIONS, ...options },
  });
}

export function kubeRef(kind: string, namespace: string, name: string): ResourceRef {
  const clusterScoped = kind === 'Namespace';
  return {
    provider: 'kubernetes',
    account: CONTEXT,
    region: clusterScoped ? name : namespace,
    type: `Kubernetes${kind}`,
    id: `k8s://${CONTEXT}/${clusterScoped ? '' : namespace}/${kind}/${name}`,
    name,
  };
}

export async function createNamespace(
  world: KubeWorld,
  name: string,
  labels: Record<string, string> = {},
) {
  const body: V1Namespace = { metadata: { name, labels } };
  return world.core.createNamespace({ body });
}

type ContainerSpec = NonNullable<
  NonNullable<NonNullable<V1Deployment['spec']>['template']['spec']>['containers']
>[number];

/** A Deployment whose pod template has the given containers, labelled app=<name>. */
export function deployment(
  name: string,
  containers: ContainerSpec[],
  extra: Record<string, unknown> = {},
): V1Deployment {
  return {
    metadata: { name, labels: { app: name } },
    spec: {
      replicas: 2,
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name } }, spec: { containers, ...extra } },
    },
  };
}

export async function podsOf(world: KubeWorld, namespace: string, app: string): Promise<V1Pod[]> {
  return (await world.core.listNamespacedPod({ namespace, labelSelector: `app=${app}` })).items;
}

/** A pod template with one postgres container, labelled app=pg. */
export function pgTemplate(): V1PodTemplateSpec {
  return {
    metadata: { labels: { app: 'pg' } },
    spec: { containers: [{ name: 'pg', image: 'postgres:16' }] },
  };
}

/** Creates the StatefulSet `pg` in `namespace`, running `pgTemplate()`. */
export async function createPgStatefulSet(apps: AppsV1Api, namespace: string, replicas = 1) {
  return apps.createNamespacedStatefulSet({
    namespace,
    body: {
      metadata: { name: 'pg' },
      spec: {
        replicas,
        serviceName: 'pg',
        selector: { matchLabels: { app: 'pg' } },
        template: pgTemplate(),
      },
    },
  });
}
