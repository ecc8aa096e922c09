import type { NormalizedFinding } from '../domain/finding.ts';

export interface FindingsSummary {
  total: number;
  failed: number;
  passed: number;
  manual: number;
  /** Findings with no usable verdict: archived, suppressed, muted, not available. */
  other: number;
  /** Failed findings a catalog fix answers. */
  supported: number;
  /** Failed findings no fix answers yet. */
  unsupported: number;
}

/** Counts an import for people: what failed, and how much of that the catalog can fix. */
export function summarize(
  findings: readonly NormalizedFinding[],
  fixTypeFor: (finding: NormalizedFinding) => string | undefined,
): FindingsSummary {
  const summary: FindingsSummary = {
    total: findings.length,
    failed: 0,
    passed: 0,
    manual: 0,
    other: 0,
    supported: 0,
    unsupported: 0,
  };
  for (const finding of findings) {
    if (finding.status === 'failed') {
      summary.failed += 1;
      if (fixTypeFor(finding) === undefined) summary.unsupported += 1;
      else summary.supported += 1;
    } else if (finding.status === 'passed') summary.passed += 1;
    else if (finding.status === 'manual') summary.manual += 1;
    else summary.other += 1;
  }
  return summary;
}
