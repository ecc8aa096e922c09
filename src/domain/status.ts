/** Every status an action can be in. */
export const STATUSES = [
  'suggested',
  'pending_approval',
  'approved',
  'executing',
  'completed',
  'failed',
  'rolling_back',
  'rolled_back',
  'rejected',
] as const;
export type Status = (typeof STATUSES)[number];

/**
 * Statuses in which an action still stands for an unresolved problem. At most one
 * action per (type, resource) may be open; the store enforces it with a partial
 * unique index built from this list.
 */
export const OPEN_STATUSES: readonly Status[] = [
  'suggested',
  'pending_approval',
  'approved',
  'executing',
  'failed',
];

export const TERMINAL_STATUSES: readonly Status[] = ['rolled_back', 'rejected'];

export const SEVERITIES = ['informational', 'low', 'medium', 'high', 'critical'] as const;
export type Severity = (typeof SEVERITIES)[number];

/** Numeric rank so the store can sort and filter severities with an index. */
export function severityRank(severity: Severity): number {
  return SEVERITIES.indexOf(severity);
}

export const SOURCE_KINDS = ['drift', 'vulnerability', 'recommendation'] as const;
export type SourceKind = (typeof SOURCE_KINDS)[number];

export const RISKS = ['low', 'medium', 'high'] as const;
export type Risk = (typeof RISKS)[number];

export const ROLES = ['viewer', 'operator', 'admin'] as const;
export type Role = (typeof ROLES)[number];

/** True when `role` carries at least the rights of `needed`. */
export function roleAllows(role: Role, needed: Role): boolean {
  return ROLES.indexOf(role) >= ROLES.indexOf(needed);
}
