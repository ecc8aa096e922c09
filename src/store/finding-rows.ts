import type {
  DriftType,
  Exclusion,
  ExclusionScope,
  Finding,
  FindingKind,
  FindingSummary,
  Remedy,
  StoredFindingStatus,
} from '../domain/finding.ts';
import { RESOURCE_COLUMNS, toResourceRef } from './rows.ts';
import type { Severity } from '../domain/status.ts';

/** A stored finding. JSON columns hold text; timestamps are ISO-8601 UTC text. */
export interface FindingRow {
  id: string;
  kind: string;
  origin: string;
  key: string;
  check_id: string;
  standard: string | null;
  control_ids: string;
  title: string;
  description: string | null;
  severity: string;
  severity_rank: number;
  status: string;
  resource_provider: string;
  resource_account: string;
  resource_region: string;
  resource_type: string;
  resource_id: string;
  resource_name: string;
  resource_tags: string;
  evidence: string | null;
  drift_type: string | null;
  remedy: string | null;
  first_seen: string;
  last_seen: string;
  resolved_at: string | null;
  resolution: string | null;
  resolved_by_action: string | null;
  dismissed_reason: string | null;
  dismissed_by: string | null;
  dismissed_at: string | null;
  exclusion_id: string | null;
  updated_at: string;
}

export interface ExclusionRow {
  id: string;
  scope: string;
  value: string;
  reason: string;
  created_by: string;
  created_at: string;
}

/** Every column but the two a listing leaves out. */
export const FINDING_SUMMARY_COLUMNS = [
  'id',
  'kind',
  'origin',
  'key',
  'check_id',
  'standard',
  'control_ids',
  'title',
  'severity',
  'severity_rank',
  'status',
  ...RESOURCE_COLUMNS,
  'resource_tags',
  'drift_type',
  'remedy',
  'first_seen',
  'last_seen',
  'resolved_at',
  'resolution',
  'resolved_by_action',
  'dismissed_reason',
  'dismissed_by',
  'dismissed_at',
  'exclusion_id',
  'updated_at',
] as const satisfies readonly (keyof FindingRow)[];

export type FindingSummaryRow = Pick<FindingRow, (typeof FINDING_SUMMARY_COLUMNS)[number]>;

export function toFindingSummary(row: FindingSummaryRow): FindingSummary {
  return {
    id: row.id,
    kind: row.kind as FindingKind,
    origin: row.origin,
    key: row.key,
    checkId: row.check_id,
    standard: row.standard,
    controlIds: JSON.parse(row.control_ids) as string[],
    title: row.title,
    severity: row.severity as Severity,
    status: row.status as StoredFindingStatus,
    resource: {
      ...toResourceRef(row),
      tags: JSON.parse(row.resource_tags) as Record<string, string>,
    },
    driftType: row.drift_type as DriftType | null,
    remedy: row.remedy === null ? null : (JSON.parse(row.remedy) as Remedy),
    firstSeen: row.first_seen,
    lastSeen: row.last_seen,
    resolvedAt: row.resolved_at,
    resolution: row.resolution,
    resolvedByAction: row.resolved_by_action,
    dismissedReason: row.dismissed_reason,
    dismissedBy: row.dismissed_by,
    dismissedAt: row.dismissed_at,
    exclusionId: row.exclusion_id,
    updatedAt: row.updated_at,
  };
}

export function toFinding(row: FindingRow): Finding {
  return {
    ...toFindingSummary(row),
    description: row.description,
    evidence: row.evidence === null ? null : (JSON.parse(row.evidence) as unknown),
  };
}

export function toExclusion(row: ExclusionRow): Exclusion {
  return {
    id: row.id,
    scope: row.scope as ExclusionScope,
    value: row.value,
    reason: row.reason,
    createdBy: row.created_by,
    createdAt: row.created_at,
  };
}
