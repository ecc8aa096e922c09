import type { NormalizedFinding } from '../../domain/finding.ts';
import { severityFromLabel, UNRATED } from '../severity.ts';
import {
  asObject,
  isObject,
  type JsonObject,
  type Path,
  requiredString,
  ShapeError,
} from '../shape.ts';
import { type KubeImportContext, kubeResource, objectFindingId } from './resource.ts';

const REPORT_KINDS = new Set(['ConfigAuditReport', 'ClusterConfigAuditReport']);

/** A trivy-operator ConfigAuditReport, or a list of them. */
export function looksLikeTrivyReport(value: unknown): boolean {
  if (!isObject(value) || typeof value.kind !== 'string') return false;
  if (REPORT_KINDS.has(value.kind)) return true;
  return (
    (value.kind === 'List' || value.kind.endsWith('ReportList')) &&
    Array.isArray(value.items) &&
    value.items.length > 0 &&
    value.items.every((item) => isObject(item) && REPORT_KINDS.has(String(item.kind)))
  );
}

/**
 * One finding per check of each report, about the object the report is for: the
 * `trivy-operator.resource.*` labels name it (or, failing them, its owner reference).
 */
export function readTrivyReport(
  value: unknown,
  path: Path,
  ctx: KubeImportContext,
): NormalizedFinding[] {
  const object = asObject(value, path);
  if (Array.isArray(object.items)) {
    return object.items.flatMap((item, i) => readTrivyReport(item, [...path, 'items', i], ctx));
  }
  if (!REPORT_KINDS.has(String(object.kind))) {
    throw new ShapeError(
      [...path, 'kind'],
      'expected a ConfigAuditReport like the rest of the file',
    );
  }
  const metadata = asObject(object.metadata, [...path, 'metadata']);
  const target = targetOf(metadata, [...path, 'metadata']);
  const resource = kubeResource(ctx.context, target.namespace, target.kind, target.name);
  const report = asObject(object.report, [...path, 'report']);
  const checks = report.checks ?? [];
  if (!Array.isArray(checks))
    throw new ShapeError([...path, 'report', 'checks'], 'expected a list of checks');
  return checks.map((raw, i): NormalizedFinding => {
    const at = [...path, 'report', 'checks', i];
    const check = asObject(raw, at);
    const id = requiredString(check, 'checkID', at);
    if (typeof check.success !== 'boolean')
      throw new ShapeError([...at, 'success'], 'expected true or false');
    const scope =
      isObject(check.scope) && typeof check.scope.value === 'string' ? check.scope.value : '';
    const messages = Array.isArray(check.messages)
      ? check.messages.filter((m) => typeof m === 'string')
      : [];
    const title =
      typeof check.title === 'string' && check.title ? check.title : (messages[0] ?? id);
    return {
      source: {
        kind: 'vulnerability',
        findingId: objectFindingId('trivy-operator', resource, `${id}${scope && `:${scope}`}`),
        title,
        origin: 'trivy-operator',
        checkId: id,
      },
      status: check.success ? 'passed' : 'failed',
      severity:
        (typeof check.severity === 'string' ? severityFromLabel(check.severity) : undefined) ??
        UNRATED,
      resource,
      related: typeof check.category === 'string' ? [check.category] : [],
    };
  });
}

function targetOf(
  metadata: JsonObject,
  path: Path,
): { kind: string; name: string; namespace: string } {
  const labels = isObject(metadata.labels) ? metadata.labels : {};
  const kind = labels['trivy-operator.resource.kind'];
  const name = labels['trivy-operator.resource.name'];
  const namespace = labels['trivy-operator.resource.namespace'] ?? metadata.namespace ?? 'default';
  if (typeof kind === 'string' && typeof name === 'string') {
    return { kind, name, namespace: String(namespace) };
  }
  const owner = Array.isArray(metadata.ownerReferences) ? metadata.ownerReferences[0] : undefined;
  if (isObject(owner) && typeof owner.kind === 'string' && typeof owner.name === 'string') {
    return {
      kind: owner.kind,
      name: owner.name,
      namespace: String(metadata.namespace ?? 'default'),
    };
  }
  throw new ShapeError(
    [...path, 'labels'],
    'expected the trivy-operator.resource.kind and .name labels (or an owner reference) naming ' +
      'the object the report is about',
  );
}
