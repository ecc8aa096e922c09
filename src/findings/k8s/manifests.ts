import type { NormalizedFinding } from '../../domain/finding.ts';
import type { Severity } from '../../domain/status.ts';
import { asObject, isObject, type JsonObject, type Path, ShapeError } from '../shape.ts';
import { containersOf, POD_CHECKS } from './pod-checks.ts';
import { type KubeImportContext, kubeResource, objectFindingId } from './resource.ts';

/** Where each kind keeps its pod template. */
const POD_SPEC_PATHS: Record<string, string[]> = {
  Pod: ['spec'],
  Deployment: ['spec', 'template', 'spec'],
  StatefulSet: ['spec', 'template', 'spec'],
  DaemonSet: ['spec', 'template', 'spec'],
  ReplicaSet: ['spec', 'template', 'spec'],
  ReplicationController: ['spec', 'template', 'spec'],
  Job: ['spec', 'template', 'spec'],
  CronJob: ['spec', 'jobTemplate', 'spec', 'template', 'spec'],
};

export const NAMESPACE_CHECK = 'podSecurityNotEnforced';
const ENFORCE = 'pod-security.kubernetes.io/enforce';

/** True for a Kubernetes object: a JSON object with string `apiVersion` and `kind`. */
export function isKubeObject(
  value: unknown,
): value is JsonObject & { apiVersion: string; kind: string } {
  return isObject(value) && typeof value.apiVersion === 'string' && typeof value.kind === 'string';
}

/**
 * Checks manifests (objects, `kind: List`s of them) for missing requests and limits and
 * for pod security problems; a Namespace for a Pod Security Admission enforce label.
 * Kinds without a pod template or labels to check give no findings.
 */
export function readManifest(
  value: unknown,
  path: Path,
  ctx: KubeImportContext,
): NormalizedFinding[] {
  const object = asObject(value, path);
  if (!isKubeObject(object)) {
    throw new ShapeError(path, 'expected a Kubernetes object with apiVersion and kind');
  }
  if (object.kind === 'List' || object.kind.endsWith('List')) {
    const items = object.items;
    if (!Array.isArray(items))
      throw new ShapeError([...path, 'items'], 'expected a list of objects');
    return items.flatMap((item, i) => readManifest(item, [...path, 'items', i], ctx));
  }
  const kind = object.kind;
  const metadata = asObject(object.metadata, [...path, 'metadata']);
  const name = metadata.name;
  if (typeof name !== 'string' || name === '') {
    throw new ShapeError(
      [...path, 'metadata', 'name'],
      "expected the object's name, it is missing",
    );
  }
  const namespace =
    typeof metadata.namespace === 'string' && metadata.namespace ? metadata.namespace : 'default';
  const resource = kubeResource(ctx.context, namespace, kind, name);
  const finding = (
    checkId: string,
    title: string,
    failed: boolean,
    severity: Severity,
    related: string[],
  ) => ({
    source: {
      kind: 'vulnerability' as const,
      findingId: objectFindingId('manifest', resource, checkId),
      title,
      origin: 'manifest',
      checkId,
    },
    status: failed ? ('failed' as const) : ('passed' as const),
    severity,
    resource,
    related,
  });

  if (kind === 'Namespace') {
    const labels = isObject(metadata.labels) ? metadata.labels : {};
    const level = labels[ENFORCE];
    const enforced = level === 'baseline' || level === 'restricted';
    return [
      finding(
        NAMESPACE_CHECK,
        enforced
          ? `Namespace enforces the ${String(level)} Pod Security Standard`
          : 'Namespace does not enforce a Pod Security Standard (no baseline or restricted ' +
              `${ENFORCE} label)`,
        !enforced,
        'medium',
        ['CIS Kubernetes 5.2.1'],
      ),
    ];
  }
  const specPath = POD_SPEC_PATHS[kind];
  if (!specPath) return [];
  const spec = podSpec(object, [...path], specPath);
  const containers = containersOf(spec);
  return POD_CHECKS.map((check) => {
    const at = check.failing(spec, containers);
    const title = at.length ? `${check.title}: ${at.join(', ')}` : check.ok;
    return finding(check.id, title, at.length > 0, check.severity, [check.group]);
  });
}

function podSpec(object: JsonObject, base: Path, at: string[]): JsonObject {
  let value: unknown = object;
  const path: (string | number)[] = [...base];
  for (const key of at) {
    path.push(key);
    value = isObject(value) ? value[key] : undefined;
  }
  const spec = asObject(value, path);
  const containers = spec.containers;
  if (!Array.isArray(containers) || containers.length === 0) {
    throw new ShapeError(
      [...path, 'containers'],
      'expected at least one container: Kubernetes refuses a pod template without containers',
    );
  }
  for (const field of ['initContainers', 'containers']) {
    const list = spec[field];
    if (list === undefined || list === null) continue;
    if (!Array.isArray(list))
      throw new ShapeError([...path, field], 'expected a list of containers');
    list.forEach((c, i) => {
      const container = asObject(c, [...path, field, i]);
      if (typeof container.name !== 'string' || container.name === '') {
        throw new ShapeError(
          [...path, field, i, 'name'],
          "expected the container's name, it is missing: Kubernetes refuses a container " +
            'without one',
        );
      }
    });
  }
  return spec;
}
