import type { FindingStatus, NormalizedFinding } from '../../domain/finding.ts';
import type { Severity } from '../../domain/status.ts';
import { UNRATED } from '../severity.ts';
import {
  asObject,
  isObject,
  type JsonObject,
  type Path,
  requiredString,
  ShapeError,
} from '../shape.ts';
import { type KubeImportContext, kubeResource, objectFindingId } from './resource.ts';

/** `polaris audit --format json`: `{ PolarisOutputVersion, AuditTime, ..., Results: [...] }`. */
export function looksLikePolaris(document: unknown): boolean {
  return (
    isObject(document) &&
    Array.isArray(document.Results) &&
    ('PolarisOutputVersion' in document || 'AuditTime' in document || 'ClusterInfo' in document)
  );
}

const SEVERITIES: Record<string, Severity> = {
  danger: 'high',
  warning: 'medium',
  ignore: 'informational',
};

interface Pending {
  finding: NormalizedFinding;
  /** Containers whose result failed, named in the title. */
  failing: string[];
  message: string;
}

/**
 * One finding per check per workload. Polaris reports container checks once per
 * container; they are merged (failed when any container failed, the containers named),
 * and a workload the report lists twice gives its findings once.
 */
export function readPolaris(document: JsonObject, ctx: KubeImportContext): NormalizedFinding[] {
  const results = document.Results as unknown[];
  const byId = new Map<string, Pending>();
  results.forEach((raw, i) => {
    const path: Path = ['Results', i];
    const entry = asObject(raw, path);
    const name = requiredString(entry, 'Name', path);
    const kind = requiredString(entry, 'Kind', path);
    const namespace =
      typeof entry.Namespace === 'string' && entry.Namespace ? entry.Namespace : 'default';
    const resource = kubeResource(ctx.context, namespace, kind, name);
    const add = (checks: unknown, at: Path, container: string | null) => {
      if (checks === undefined || checks === null) return;
      const map = asObject(checks, at);
      for (const [key, value] of Object.entries(map)) {
        const check = asObject(value, [...at, key]);
        const id = typeof check.ID === 'string' && check.ID ? check.ID : key;
        if (typeof check.Success !== 'boolean') {
          throw new ShapeError([...at, key, 'Success'], 'expected true or false');
        }
        const message = typeof check.Message === 'string' ? check.Message : id;
        const findingId = objectFindingId('polaris', resource, id);
        const status: FindingStatus = check.Success ? 'passed' : 'failed';
        const pending = byId.get(findingId);
        if (!pending) {
          byId.set(findingId, {
            finding: {
              source: {
                kind: 'vulnerability',
                findingId,
                title: message,
                origin: 'polaris',
                checkId: id,
              },
              status,
              severity: SEVERITIES[String(check.Severity).toLowerCase()] ?? UNRATED,
              resource,
              related: typeof check.Category === 'string' ? [`Polaris ${check.Category}`] : [],
            },
            failing: !check.Success && container ? [container] : [],
            message,
          });
        } else if (!check.Success) {
          pending.finding.status = 'failed';
          pending.message = message;
          if (container && !pending.failing.includes(container)) pending.failing.push(container);
        }
      }
    };
    add(entry.Results, [...path, 'Results'], null);
    const pod = entry.PodResult;
    if (pod === undefined || pod === null) return;
    const podPath = [...path, 'PodResult'];
    const podResult = asObject(pod, podPath);
    add(podResult.Results, [...podPath, 'Results'], null);
    const containers = podResult.ContainerResults ?? [];
    if (!Array.isArray(containers)) {
      throw new ShapeError(
        [...podPath, 'ContainerResults'],
        'expected a list of container results',
      );
    }
    containers.forEach((c, j) => {
      const at = [...podPath, 'ContainerResults', j];
      const container = asObject(c, at);
      const containerName = typeof container.Name === 'string' ? container.Name : `container ${j}`;
      add(container.Results, [...at, 'Results'], containerName);
    });
  });
  return [...byId.values()].map(({ finding, failing, message }) => ({
    ...finding,
    source: {
      ...finding.source,
      title:
        finding.status === 'failed' && failing.length
          ? `${message} (${failing.join(', ')})`
          : message,
    },
  }));
}
