import type { NormalizedFinding } from '../../domain/finding.ts';
import { invalidInput } from '../../domain/errors.ts';
import { formatPath, isObject, type JsonObject, ShapeError } from '../shape.ts';
import { looksLikeKubeBench, readKubeBench } from './kube-bench.ts';
import { looksLikeKubescape, readKubescape } from './kubescape.ts';
import { isKubeObject, readManifest } from './manifests.ts';
import { looksLikePolaris, readPolaris } from './polaris.ts';
import type { KubeImportContext } from './resource.ts';
import { looksLikeTrivyReport, readTrivyReport } from './trivy-operator.ts';
import { parseYamlText } from './yaml-text.ts';

export type KubernetesFormat =
  'kubescape' | 'polaris' | 'trivy-operator' | 'kube-bench' | 'k8s-manifest';

export const KUBERNETES_FORMAT_NAMES: Record<KubernetesFormat, string> = {
  kubescape: 'Kubescape JSON',
  polaris: 'Polaris audit',
  'trivy-operator': 'trivy-operator ConfigAuditReport',
  'kube-bench': 'kube-bench JSON',
  'k8s-manifest': 'Kubernetes manifest',
};

export const KUBERNETES_ACCEPTED =
  'Kubescape JSON results, Polaris audit output, kube-bench JSON, trivy-operator ' +
  'ConfigAuditReports (YAML or JSON) and Kubernetes manifests (YAML documents, JSON objects, ' +
  'kind: List)';

/** Which Kubernetes format a parsed JSON (or single YAML) document is in, if any. */
export function detectKubernetes(document: unknown): KubernetesFormat | null {
  if (!isObject(document)) return null;
  if (looksLikeTrivyReport(document)) return 'trivy-operator';
  if (looksLikeKubescape(document)) return 'kubescape';
  if (looksLikePolaris(document)) return 'polaris';
  if (looksLikeKubeBench(document)) return 'kube-bench';
  if (isKubeObject(document)) return 'k8s-manifest';
  return null;
}

/** Reads one document in a detected format; a value out of shape throws a ShapeError. */
export function readKubernetesDocument(
  format: KubernetesFormat,
  document: JsonObject,
  ctx: KubeImportContext,
): NormalizedFinding[] {
  switch (format) {
    case 'kubescape':
      return readKubescape(document, ctx);
    case 'polaris':
      return readPolaris(document, ctx);
    case 'kube-bench':
      return readKubeBench(document, ctx);
    case 'trivy-operator':
      return readTrivyReport(document, [], ctx);
    case 'k8s-manifest':
      return readManifest(document, [], ctx);
  }
}

/**
 * Reads a YAML file: trivy-operator reports and manifests, one or many documents, or a
 * single document in any other Kubernetes format. All or nothing, like every import.
 */
export function readKubernetesYaml(
  text: string,
  ctx: KubeImportContext,
): { format: KubernetesFormat; findings: NormalizedFinding[] } {
  const file = parseYamlText(text);
  const { values } = file;
  if (values.length === 0) {
    throw invalidInput('the findings file is empty: its YAML has no documents', {
      problem: 'empty',
    });
  }
  const single = values.length === 1 ? detectKubernetes(values[0]) : null;
  const format: KubernetesFormat | null =
    single ??
    (values.every(looksLikeTrivyReport)
      ? 'trivy-operator'
      : values.every(isKubeObject)
        ? 'k8s-manifest'
        : null);
  if (format === null) {
    const index = values.findIndex((v) => !isKubeObject(v));
    throw invalidInput(
      `not a findings file: YAML document ${index + 1} is not a Kubernetes object (no apiVersion ` +
        `and kind); accepted formats are ${KUBERNETES_ACCEPTED}`,
      { path: `document ${index + 1}` },
    );
  }
  const findings: NormalizedFinding[] = [];
  values.forEach((value, index) => {
    try {
      findings.push(...readKubernetesDocument(format, value as JsonObject, ctx));
    } catch (error) {
      if (!(error instanceof ShapeError)) throw error;
      const position = file.locate(index, error.path);
      const where = values.length > 1 ? `document ${index + 1}, ` : '';
      const at = position ? ` (line ${position.line}, column ${position.column})` : '';
      const path = error.path.length ? formatPath(error.path) : 'the document';
      throw invalidInput(
        `${where}${path}: ${error.problem}${at}; the file does not have the ` +
          `${KUBERNETES_FORMAT_NAMES[format]} shape there and nothing was imported`,
        { format, path, document: index + 1, ...position },
      );
    }
  });
  return { format, findings };
}
