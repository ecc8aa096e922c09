import type { Severity } from '../domain/status.ts';

const LABELS: Readonly<Record<string, Severity>> = {
  informational: 'informational',
  info: 'informational',
  low: 'low',
  medium: 'medium',
  moderate: 'medium',
  high: 'high',
  critical: 'critical',
  // OCSF's level above critical; the product has nothing higher.
  fatal: 'critical',
};

/**
 * A scanner's severity word in the product's terms. Words the scanner uses for "not
 * rated" (OCSF `Unknown`, `Other`) give undefined, so the caller can fall back.
 */
export function severityFromLabel(label: string | undefined): Severity | undefined {
  return label === undefined ? undefined : LABELS[label.trim().toLowerCase()];
}

/** OCSF severity_id: 1 informational to 5 critical, 6 fatal. */
export function severityFromOcsfId(id: number | undefined): Severity | undefined {
  const byId: Record<number, Severity> = {
    1: 'informational',
    2: 'low',
    3: 'medium',
    4: 'high',
    5: 'critical',
    6: 'critical',
  };
  return id === undefined ? undefined : byId[id];
}

/** ASFF Severity.Normalized, 0 to 100, banded the way Security Hub documents it. */
export function severityFromNormalized(score: number | undefined): Severity | undefined {
  if (score === undefined || !Number.isFinite(score)) return undefined;
  if (score >= 90) return 'critical';
  if (score >= 70) return 'high';
  if (score >= 40) return 'medium';
  if (score >= 1) return 'low';
  return 'informational';
}

/** What an unrated finding counts as: it sorts last and never outranks a rated one. */
export const UNRATED: Severity = 'informational';
