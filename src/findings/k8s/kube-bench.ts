import type { FindingStatus, NormalizedFinding } from '../../domain/finding.ts';
import { UNRATED } from '../severity.ts';
import { asObject, isObject, type JsonObject, requiredString, ShapeError } from '../shape.ts';
import { type KubeImportContext, kubeFindingId, kubeResource } from './resource.ts';

/** `kube-bench --json`: `{ Controls: [{ id, node_type, tests: [...] }], Totals }`. */
export function looksLikeKubeBench(document: unknown): boolean {
  return (
    isObject(document) &&
    Array.isArray(document.Controls) &&
    document.Controls.some((c) => isObject(c) && 'node_type' in c && Array.isArray(c.tests))
  );
}

const STATUSES: Record<string, FindingStatus> = {
  PASS: 'passed',
  FAIL: 'failed',
  WARN: 'manual',
  INFO: 'unknown',
};

/**
 * One finding per CIS check. They are about node, etcd and control-plane configuration
 * files and flags, which no fix changes: they are counted, and map to no action.
 */
export function readKubeBench(document: JsonObject, ctx: KubeImportContext): NormalizedFinding[] {
  return (document.Controls as unknown[]).flatMap((raw, i) => {
    const path = ['Controls', i];
    const control = asObject(raw, path);
    const nodeType = requiredString(control, 'node_type', path);
    const version = typeof control.version === 'string' ? control.version : '';
    const tests = control.tests;
    if (!Array.isArray(tests))
      throw new ShapeError([...path, 'tests'], 'expected a list of test groups');
    const resource = kubeResource(ctx.context, '', 'Node', nodeType);
    return tests.flatMap((t, j) => {
      const group = asObject(t, [...path, 'tests', j]);
      const results = group.results ?? [];
      if (!Array.isArray(results)) {
        throw new ShapeError([...path, 'tests', j, 'results'], 'expected a list of results');
      }
      return results.map((r, k): NormalizedFinding => {
        const at = [...path, 'tests', j, 'results', k];
        const result = asObject(r, at);
        const number = requiredString(result, 'test_number', at);
        const status = requiredString(result, 'status', at);
        const mapped = STATUSES[status.toUpperCase()];
        if (!mapped)
          throw new ShapeError(
            [...at, 'status'],
            `expected PASS, FAIL, WARN or INFO, found "${status}"`,
          );
        return {
          source: {
            kind: 'vulnerability',
            findingId: kubeFindingId('kube-bench', ctx, `${nodeType}:${number}`),
            title: typeof result.test_desc === 'string' ? result.test_desc : number,
            origin: 'kube-bench',
            checkId: number,
          },
          status: mapped,
          severity: UNRATED,
          resource,
          related: version ? [`CIS Kubernetes ${version} ${number}`] : [],
        };
      });
    });
  });
}
