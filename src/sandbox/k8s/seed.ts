import type { StateDocument } from '../types.ts';
import type { KubernetesState } from './state.ts';

type Json = Record<string, unknown>;

const ns = (name: string, labels: Record<string, string> = {}) => ({ metadata: { name, labels } });

function template(app: string, spec: Json): Json {
  return { metadata: { labels: { app } }, spec };
}

function workload(kind: string, namespace: string, name: string, spec: Json, replicas?: number) {
  const app = name;
  return {
    apiVersion: 'apps/v1',
    kind,
    metadata: { name, namespace, labels: { app } },
    spec: {
      ...(replicas !== undefined ? { replicas } : {}),
      selector: { matchLabels: { app } },
      ...(kind === 'StatefulSet' ? { serviceName: name } : {}),
      template: template(app, spec),
    },
  };
}

const RESTRICTED_CONTEXT = {
  allowPrivilegeEscalation: false,
  capabilities: { drop: ['ALL'] },
  runAsNonRoot: true,
  seccompProfile: { type: 'RuntimeDefault' },
};

const FULL_RESOURCES = {
  requests: { cpu: '250m', memory: '256Mi' },
  limits: { cpu: '1', memory: '512Mi' },
};

/**
 * A cluster with the problems the Kubernetes fixes answer: workloads without requests
 * and limits (none at all, `resources: {}`, only some, an init container without any),
 * namespaces without Pod Security Admission, a DaemonSet on the host's namespaces and a
 * bare privileged pod, around a namespace that is already in order.
 */
export function seedKubernetes(doc: StateDocument): void {
  const state: KubernetesState = {
    defaultCluster: 'sandbox',
    clusters: {
      sandbox: {
        tokens: ['sandbox'],
        namespaces: [
          ns('default'),
          ns('kube-system'),
          ns('kube-public'),
          ns('kube-node-lease'),
          ns('shop', { team: 'storefront' }),
          ns('payments', {
            team: 'payments',
            'pod-security.kubernetes.io/enforce': 'restricted',
            'pod-security.kubernetes.io/enforce-version': 'latest',
          }),
          ns('monitoring', { team: 'platform', 'pod-security.kubernetes.io/warn': 'baseline' }),
          ns('batch', { team: 'data' }),
        ],
        deployments: [
          workload(
            'Deployment',
            'shop',
            'web',
            {
              containers: [
                { name: 'nginx', image: 'nginx:1.27.2', ports: [{ containerPort: 80 }] },
              ],
            },
            3,
          ),
          workload(
            'Deployment',
            'shop',
            'checkout',
            {
              initContainers: [
                { name: 'migrate', image: 'registry.example.com/checkout-migrate:2.4.1' },
              ],
              containers: [
                { name: 'checkout', image: 'registry.example.com/checkout:2.4.1', resources: {} },
              ],
            },
            2,
          ),
          workload(
            'Deployment',
            'shop',
            'api',
            {
              containers: [
                {
                  name: 'api',
                  image: 'registry.example.com/shop-api:5.0.3',
                  resources: { requests: { memory: '256Mi' }, limits: { cpu: '1' } },
                },
                {
                  name: 'metrics-sidecar',
                  image: 'prom/statsd-exporter:v0.27.1',
                  resources: { limits: { cpu: '50m', memory: '64Mi' } },
                },
              ],
            },
            2,
          ),
          workload(
            'Deployment',
            'payments',
            'ledger',
            {
              securityContext: { runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } },
              containers: [
                {
                  name: 'ledger',
                  image: 'registry.example.com/ledger:1.9.0',
                  resources: FULL_RESOURCES,
                  securityContext: RESTRICTED_CONTEXT,
                },
              ],
            },
            2,
          ),
        ],
        statefulsets: [
          workload(
            'StatefulSet',
            'shop',
            'orders-db',
            {
              containers: [
                { name: 'postgres', image: 'postgres:16.4', ports: [{ containerPort: 5432 }] },
              ],
            },
            1,
          ),
        ],
        daemonsets: [
          workload('DaemonSet', 'monitoring', 'node-exporter', {
            hostNetwork: true,
            hostPID: true,
            containers: [
              {
                name: 'node-exporter',
                image: 'quay.io/prometheus/node-exporter:v1.8.2',
                args: ['--path.rootfs=/host'],
                ports: [{ containerPort: 9100, hostPort: 9100 }],
                volumeMounts: [{ name: 'root', mountPath: '/host', readOnly: true }],
              },
            ],
            volumes: [{ name: 'root', hostPath: { path: '/' } }],
          }),
        ],
        pods: [
          {
            apiVersion: 'v1',
            kind: 'Pod',
            metadata: { name: 'debug-shell', namespace: 'batch', labels: { run: 'debug-shell' } },
            spec: {
              containers: [
                {
                  name: 'shell',
                  image: 'busybox:1.36',
                  command: ['sleep', '86400'],
                  securityContext: { privileged: true },
                },
              ],
              nodeName: 'sandbox-node-1',
            },
          },
        ],
      },
    },
  };
  doc.kubernetes = state;
}
