import type { KubeObject } from './cluster.ts';
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
 * The defaults the API server fills in on every write, so objects read back look like a
 * real cluster's: `resources: {}` on a container without resources (Kubernetes cannot
 * tell that from no resources at all), quantities as strings, replicas and strategies.
 */
export function applyDefaults(res: ResourceInfo, object: KubeObject): void {
  const spec = obj(object.spec);
  if (res === PODS) {
    defaultPodSpec(spec);
    return;
  }
  if (res === DEPLOYMENTS || res === STATEFULSETS || res === DAEMONSETS || res === REPLICASETS) {
    if (res !== DAEMONSETS) spec.replicas ??= 1;
    if (res !== REPLICASETS) spec.revisionHistoryLimit ??= 10;
    if (res === DEPLOYMENTS) {
      spec.progressDeadlineSeconds ??= 600;
      spec.strategy ??= {
        type: 'RollingUpdate',
        rollingUpdate: { maxSurge: '25%', maxUnavailable: '25%' },
      };
    }
    if (res === STATEFULSETS) {
      spec.podManagementPolicy ??= 'OrderedReady';
      spec.updateStrategy ??= { type: 'RollingUpdate', rollingUpdate: { partition: 0 } };
    }
    if (res === DAEMONSETS) {
      spec.updateStrategy ??= {
        type: 'RollingUpdate',
        rollingUpdate: { maxSurge: 0, maxUnavailable: 1 },
      };
    }
    const template = obj(spec.template);
    if (spec.template !== undefined) defaultPodSpec(obj(template.spec));
  }
}

function defaultPodSpec(spec: Json): void {
  if (spec.containers === undefined) return;
  spec.restartPolicy ??= 'Always';
  spec.dnsPolicy ??= 'ClusterFirst';
  spec.schedulerName ??= 'default-scheduler';
  spec.terminationGracePeriodSeconds ??= 30;
  spec.securityContext ??= {};
  for (const field of ['initContainers', 'containers']) {
    const list = spec[field];
    if (!Array.isArray(list)) continue;
    for (const container of list) defaultContainer(obj(container));
  }
}

function defaultContainer(container: Json): void {
  const image = typeof container.image === 'string' ? container.image : '';
  container.imagePullPolicy ??=
    image.endsWith(':latest') || !image.includes(':') ? 'Always' : 'IfNotPresent';
  container.terminationMessagePath ??= '/dev/termination-log';
  container.terminationMessagePolicy ??= 'File';
  if (container.resources === undefined || container.resources === null) container.resources = {};
  const resources = obj(container.resources);
  for (const part of ['requests', 'limits']) {
    const values = resources[part];
    if (typeof values !== 'object' || values === null) continue;
    for (const [name, value] of Object.entries(values)) {
      // Quantities are int-or-string on the wire and always strings when read back.
      if (typeof value === 'number') (values as Json)[name] = String(value);
    }
  }
}
