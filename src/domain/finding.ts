import type { ResourceRef, SourceRef } from './action.ts';
import type { Severity } from './status.ts';

export type FindingStatus = 'failed' | 'passed' | 'manual' | 'unknown';

/**
 * A scanner finding reduced to what the product needs, whatever the input format.
 * Importers produce these; the catalog decides whether a fix exists for them.
 */
export interface NormalizedFinding {
  source: SourceRef;
  status: FindingStatus;
  severity: Severity;
  resource: ResourceRef;
  /** Standards and control ids the finding is related to, e.g. `AFSBP S3.4`. */
  related: string[];
  /** The scanner's own description of the resource (ASFF `Resources[].Details`), if any. */
  details?: Record<string, unknown>;
}

export const FINDING_KINDS = ['drift', 'vulnerability', 'recommendation'] as const;
export type FindingKind = (typeof FINDING_KINDS)[number];

/** Where a stored finding stands; `excluded` when an exclusion matched it when it was seen. */
export const STORED_FINDING_STATUSES = ['open', 'resolved', 'dismissed', 'excluded'] as const;
export type StoredFindingStatus = (typeof STORED_FINDING_STATUSES)[number];

export const DRIFT_TYPES = ['configuration', 'security', 'compliance'] as const;
export type DriftType = (typeof DRIFT_TYPES)[number];

/** The catalog fix that answers a finding, with the parameters it needs. */
export interface Remedy {
  type: string;
  params: Record<string, unknown>;
}

export type FindingResource = ResourceRef & { tags?: Record<string, string> };

/**
 * What a source (an import, a scan's checks, drift detection) says about one problem on one
 * resource. `origin` and `key` name the problem: reported again, it updates the same finding.
 */
export interface FindingReport {
  kind: FindingKind;
  /** `prowler`, `securityhub`, `kubescape`, ..., `infraudit-checks`, `infraudit-drift`. */
  origin: string;
  /** Stable within the origin: the scanner's finding id, or `${checkId}|${resource.id}`. */
  key: string;
  checkId: string;
  standard?: string | null;
  controlIds?: string[];
  title: string;
  description?: string | null;
  severity: Severity;
  resource: FindingResource;
  /** `passed` resolves the open finding with the same origin and key. */
  state: 'failed' | 'passed';
  /** Drift: `{ changes: [...] }`; vulnerabilities: what the scanner said about the resource. */
  evidence?: unknown;
  driftType?: DriftType;
  remedy?: Remedy | null;
}

export interface Finding {
  id: string;
  kind: FindingKind;
  origin: string;
  key: string;
  checkId: string;
  standard: string | null;
  controlIds: string[];
  title: string;
  description: string | null;
  severity: Severity;
  status: StoredFindingStatus;
  resource: ResourceRef & { tags: Record<string, string> };
  evidence: unknown;
  driftType: DriftType | null;
  remedy: Remedy | null;
  firstSeen: string;
  lastSeen: string;
  resolvedAt: string | null;
  /** Why it is resolved: the scanner reported the check passed, or a completed fix. */
  resolution: string | null;
  /** The completed action whose fix resolved it; its rollback reopens the finding. */
  resolvedByAction: string | null;
  dismissedReason: string | null;
  dismissedBy: string | null;
  dismissedAt: string | null;
  /** The exclusion that keeps it out of the open list, while it is `excluded`. */
  exclusionId: string | null;
  updatedAt: string;
}

/** What a listing shows; the evidence stays on the detail. */
export type FindingSummary = Omit<Finding, 'evidence' | 'description'>;

export const EXCLUSION_SCOPES = ['resource', 'tag', 'account'] as const;
export type ExclusionScope = (typeof EXCLUSION_SCOPES)[number];

/**
 * Keeps matching findings out of the open list: a resource by id, any resource carrying a
 * tag (`key=value`), or a whole account.
 */
export interface Exclusion {
  id: string;
  scope: ExclusionScope;
  /** The resource id, the `key=value` tag, or the account id. */
  value: string;
  reason: string;
  createdBy: string;
  createdAt: string;
}

/** What happened to stored findings, before anything did. */
export function noReportedChanges(): Omit<ReportResult, 'findingIds'> {
  return { opened: 0, updated: 0, resolved: 0, dismissed: 0, excluded: 0, repeated: 0 };
}

export interface ReportResult {
  opened: number;
  updated: number;
  resolved: number;
  dismissed: number;
  excluded: number;
  /**
   * Reports of a finding the same import or scan had already reported (a file that names
   * one finding id twice): each is stored over the one before, so the last one stands.
   */
  repeated: number;
  /** The stored findings the failed reports landed on, in report order. */
  findingIds: string[];
}
