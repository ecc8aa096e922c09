import type {
  Action,
  ActionSummary,
  AuditEvent,
  EventType,
  RequestedOp,
  ResourceRef,
} from '../domain/action.ts';
import type { Risk, Severity, SourceKind, Status } from '../domain/status.ts';
import type { ActionRow, EventRow } from './schema.ts';
import type { ActionPatch } from './store.ts';

const json = <T>(text: string | null): T | null => (text === null ? null : (JSON.parse(text) as T));
const text = (value: unknown): string | null => (value == null ? null : JSON.stringify(value));

/** The columns naming the resource, as actions and findings both store it. */
export const RESOURCE_COLUMNS = [
  'resource_provider',
  'resource_account',
  'resource_region',
  'resource_type',
  'resource_id',
  'resource_name',
] as const satisfies readonly (keyof ActionRow)[];

/** The columns a queue page reads. */
export const SUMMARY_COLUMNS = [
  'id',
  'type',
  'title',
  ...RESOURCE_COLUMNS,
  'source_kind',
  'source_finding_id',
  'source_title',
  'source_origin',
  'source_check_id',
  'severity',
  'severity_rank',
  'risk',
  'status',
  'error',
  'requested_op',
  'attempt',
  'created_at',
  'updated_at',
  'approved_by',
  'completed_at',
  'rollback_deadline',
  'version',
] as const satisfies readonly (keyof ActionRow)[];

export type SummaryRow = Pick<ActionRow, (typeof SUMMARY_COLUMNS)[number]>;

type ResourceColumns = Pick<ActionRow, (typeof RESOURCE_COLUMNS)[number]>;

/** The resource columns actions and findings share, as the resource they name. */
export function toResourceRef(row: ResourceColumns): ResourceRef {
  return {
    provider: row.resource_provider as ResourceRef['provider'],
    account: row.resource_account,
    region: row.resource_region,
    type: row.resource_type,
    id: row.resource_id,
    name: row.resource_name,
  };
}

export function toSummary(row: SummaryRow): ActionSummary {
  return {
    id: row.id,
    type: row.type,
    title: row.title,
    resource: toResourceRef(row),
    source: {
      kind: row.source_kind as SourceKind,
      findingId: row.source_finding_id,
      title: row.source_title,
      origin: row.source_origin,
      checkId: row.source_check_id,
    },
    severity: row.severity as Severity,
    risk: row.risk as Risk,
    status: row.status as Status,
    error: json(row.error),
    requestedOp: row.requested_op as RequestedOp | null,
    attempt: Number(row.attempt),
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    approvedBy: row.approved_by,
    completedAt: row.completed_at,
    rollbackDeadline: row.rollback_deadline,
    version: Number(row.version),
  };
}

export function toAction(row: ActionRow): Action {
  return {
    ...toSummary(row),
    plan: JSON.parse(row.plan),
    snapshot: json(row.snapshot),
    result: json(row.result),
    requestedBy: row.requested_by,
    requestData: json(row.request_data),
    params: JSON.parse(row.params),
    progress: JSON.parse(row.progress),
    sealedSecret: json(row.sealed_secret),
    finalizedAt: row.finalized_at,
    createdBy: row.created_by,
    approvedAt: row.approved_at,
    plannedAt: row.planned_at,
  };
}

export function toEvent(row: {
  [K in keyof EventRow]: K extends 'id' ? number : EventRow[K];
}): AuditEvent {
  return {
    id: Number(row.id),
    actionId: row.action_id,
    at: row.at,
    actor: row.actor,
    type: row.type as EventType,
    from: row.from_status as Status | null,
    to: row.to_status as Status | null,
    comment: row.comment,
    data: json(row.data),
  };
}

/** The columns a patch sets; absent keys are left alone, null clears. */
export function patchColumns(patch: ActionPatch | undefined): Partial<ActionRow> {
  if (!patch) return {};
  const out: Partial<ActionRow> = {};
  if ('plan' in patch && patch.plan) out.plan = JSON.stringify(patch.plan);
  if ('plannedAt' in patch) out.planned_at = patch.plannedAt ?? null;
  if ('snapshot' in patch) out.snapshot = text(patch.snapshot);
  if ('result' in patch) out.result = text(patch.result);
  if ('error' in patch) out.error = text(patch.error);
  if ('completedAt' in patch) out.completed_at = patch.completedAt ?? null;
  if ('rollbackDeadline' in patch) out.rollback_deadline = patch.rollbackDeadline ?? null;
  return out;
}

export const dataText = text;
