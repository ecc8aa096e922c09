import type { FindingReport, NormalizedFinding, Remedy } from '../domain/finding.ts';

/**
 * The stored form of an imported finding: a vulnerability named by its origin and the
 * scanner's own finding id. Undefined for findings with no verdict (manual, muted,
 * suppressed), which are counted but not stored.
 */
export function reportFor(
  finding: NormalizedFinding,
  remedy: Remedy | null,
): FindingReport | undefined {
  if (finding.status !== 'failed' && finding.status !== 'passed') return undefined;
  const { source } = finding;
  // Prowler's check ids are its own names; other origins' check ids are control ids.
  const controls =
    source.origin === 'prowler' ? finding.related : [source.checkId, ...finding.related];
  return {
    kind: source.kind,
    origin: source.origin,
    key: source.findingId,
    checkId: source.checkId,
    standard: standardOf(controls),
    controlIds: [...new Set(controls)],
    title: source.title,
    severity: finding.severity,
    resource: finding.resource,
    state: finding.status,
    evidence: finding.details ? { details: finding.details } : null,
    remedy,
  };
}

/**
 * The standard of the first control id that names one: `CIS-1.4 2.1.1` is `CIS-1.4`,
 * `CIS 1.2.0 4.1` is `CIS 1.2.0`, `AFSBP S3.4` is `AFSBP`; null when none does (`S3.4`).
 */
export function standardOf(controls: readonly string[]): string | null {
  for (const control of controls) {
    const cut = control.lastIndexOf(' ');
    if (cut > 0) return control.slice(0, cut);
  }
  return null;
}
