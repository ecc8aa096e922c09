import type { FindingStatus, NormalizedFinding } from '../../domain/finding.ts';
import type { Severity } from '../../domain/status.ts';
import { severityFromLabel, UNRATED } from '../severity.ts';
import {
  asObject,
  isObject,
  type JsonObject,
  type Path,
  requiredString,
  ShapeError,
} from '../shape.ts';
import { type KubeImportContext, kubeFindingId, kubeResource } from './resource.ts';

/** A per-resource result: `{ resourceID, controls: [...] }`. */
const isResult = (v: unknown) =>
  isObject(v) && typeof v.resourceID === 'string' && Array.isArray(v.controls);

/**
 * Kubescape's JSON: the report `kubescape scan --format json` writes (`results`, with
 * `summaryDetails` and `resources`), or the per-resource results keyed by resourceID.
 */
export function looksLikeKubescape(document: unknown): boolean {
  if (!isObject(document)) return false;
  if (
    Array.isArray(document.results) &&
    ('summaryDetails' in document || document.results.every(isResult))
  ) {
    return document.results.length > 0 || 'summaryDetails' in document;
  }
  const values = Object.values(document);
  return values.length > 0 && values.every(isResult);
}

/** One finding per control evaluated on each resource. */
export function readKubescape(document: JsonObject, ctx: KubeImportContext): NormalizedFinding[] {
  const severities = controlSeverities(document);
  const entries: [unknown, Path][] = Array.isArray(document.results)
    ? document.results.map((r, i) => [r, ['results', i]])
    : Object.entries(document).map(([key, r]) => [r, [key]]);
  return entries.flatMap(([raw, path]) => {
    const result = asObject(raw, path);
    const resourceID = requiredString(result, 'resourceID', path);
    const resource = resourceOf(resourceID, [...path, 'resourceID'], ctx);
    const controls = result.controls;
    if (!Array.isArray(controls))
      throw new ShapeError([...path, 'controls'], 'expected a list of controls');
    return controls.map((c, j): NormalizedFinding => {
      const at = [...path, 'controls', j];
      const control = asObject(c, at);
      const id = requiredString(control, 'controlID', at);
      const name = typeof control.name === 'string' && control.name ? control.name : id;
      return {
        source: {
          kind: 'vulnerability',
          findingId: kubeFindingId('kubescape', ctx, `${resourceID}:${id}`),
          title: name,
          origin: 'kubescape',
          checkId: id,
        },
        status: statusOf(control.status, [...at, 'status']),
        severity: severityOf(control.severity) ?? severities.get(id) ?? UNRATED,
        resource,
        related: [],
      };
    });
  });
}

/**
 * `apps/v1/shop/Deployment/web`, `/v1/default/Pod/p` (core group), `/v1//Namespace/n`
 * (cluster-scoped), or with a file scan's `path=.../api=` prefix.
 */
function resourceOf(id: string, path: Path, ctx: KubeImportContext) {
  const bare = id.includes('/api=') ? id.slice(id.indexOf('/api=') + 5) : id;
  const parts = bare.split('/');
  if (parts.length < 5) {
    throw new ShapeError(
      path,
      `expected a resourceID like "apps/v1/<namespace>/<kind>/<name>", found "${id}"`,
    );
  }
  const [namespace, kind, name] = parts.slice(-3) as [string, string, string];
  if (!kind || !name) {
    throw new ShapeError(path, `expected a resourceID naming a kind and a name, found "${id}"`);
  }
  return kubeResource(ctx.context, namespace || 'default', kind, name);
}

function statusOf(raw: unknown, path: Path): FindingStatus {
  const status = isObject(raw) ? raw.status : raw;
  const sub = isObject(raw) ? raw.subStatus : undefined;
  if (typeof status !== 'string') {
    throw new ShapeError(path, 'expected the control status ({ "status": "failed" } or "failed")');
  }
  if (status === 'failed') return 'failed';
  if (status === 'passed') return 'passed';
  if (sub === 'manual_review' || sub === 'manualReview') return 'manual';
  // skipped, excluded (an exception someone granted), irrelevant: no verdict to act on.
  return 'unknown';
}

function severityOf(raw: unknown): Severity | undefined {
  return typeof raw === 'string' ? severityFromLabel(raw) : undefined;
}

/** Kubescape scores severity per control: 1-3 low, 4-6 medium, 7-8 high, 9-10 critical. */
function controlSeverities(document: JsonObject): Map<string, Severity> {
  const out = new Map<string, Severity>();
  const summary = isObject(document.summaryDetails) ? document.summaryDetails : {};
  const controls = isObject(summary.controls) ? summary.controls : {};
  for (const [id, raw] of Object.entries(controls)) {
    if (!isObject(raw)) continue;
    const named = severityOf(raw.severity);
    const score = typeof raw.scoreFactor === 'number' ? raw.scoreFactor : undefined;
    const scored = score === undefined ? undefined : severityFromScore(score);
    const severity = named ?? scored;
    if (severity) out.set(id, severity);
  }
  return out;
}

function severityFromScore(score: number): Severity | undefined {
  if (score >= 9) return 'critical';
  if (score >= 7) return 'high';
  if (score >= 4) return 'medium';
  return score >= 1 ? 'low' : undefined;
}
