import type { Generated } from 'kysely';
import type {
  AlertAttemptRow,
  AlertChannelRow,
  AlertDeliveryRow,
  AlertRuleRow,
} from './alert-rows.ts';
import type { BaselineRow } from './baseline-rows.ts';
import type { ExclusionRow, FindingRow } from './finding-rows.ts';
import type { ResourceRow, ScanRunRow } from './inventory-rows.ts';
import type { ReplicaRow } from './replica-rows.ts';
import type { LoginFailureRow, UserRow, UserSessionRow } from './user-rows.ts';

/** Row types as stored. JSON columns hold text; timestamps are ISO-8601 UTC text. */
export interface ActionRow {
  id: string;
  type: string;
  title: string;
  resource_provider: string;
  resource_account: string;
  resource_region: string;
  resource_type: string;
  resource_id: string;
  resource_name: string;
  source_kind: string;
  source_finding_id: string;
  source_title: string;
  source_origin: string;
  source_check_id: string;
  severity: string;
  severity_rank: number;
  risk: string;
  status: string;
  /** `type|resource id` while the action is open, null after; unique, so one open action each. */
  open_key: string | null;
  plan: string;
  planned_at: string | null;
  snapshot: string | null;
  result: string | null;
  error: string | null;
  requested_op: string | null;
  requested_by: string | null;
  requested_at: string | null;
  lease_owner: string | null;
  lease_expires_at: string | null;
  attempt: number;
  created_by: string;
  /** The person behind `created_by` (see persons.ts); four-eyes compares it. */
  created_by_person: string | null;
  created_at: string;
  updated_at: string;
  approved_by: string | null;
  approved_at: string | null;
  completed_at: string | null;
  rollback_deadline: string | null;
  version: number;
  params: string;
  progress: string;
  request_data: string | null;
  sealed_secret: string | null;
  finalized_at: string | null;
  /** When the rollback-window warning was raised; stamped once across replicas. */
  window_warned_at: string | null;
}

export interface EventRow {
  id: Generated<number>;
  action_id: string | null;
  at: string;
  actor: string;
  type: string;
  from_status: string | null;
  to_status: string | null;
  comment: string | null;
  data: string | null;
  /** Place in the audit chain, from 1, without gaps. */
  seq: number;
  prev_hash: string;
  /** SHA-256 of this event's fields and `prev_hash`; see audit-hash.ts. */
  hash: string;
}

/** The audit chain's head: one row, id 1, the last entry appended. */
export interface AuditChainRow {
  id: number;
  seq: number;
  hash: string;
}

/** The first answer to a request sent with an `Idempotency-Key`, replayed for its retries. */
export interface IdempotencyRow {
  principal: string;
  key: string;
  route: string;
  body_hash: string;
  status_code: number | null;
  response: string | null;
  created_at: string;
  expires_at: string;
}

export interface ActionFindingRow {
  action_id: string;
  origin: string;
  finding_id: string;
  linked_at: string;
}

export interface SettingRow {
  key: string;
  value: string;
  updated_at: string;
  updated_by: string;
}

export interface TokenRow {
  id: string;
  name: string;
  role: string;
  hash: string;
  created_at: string;
  revoked_at: string | null;
  revoked_by: string | null;
  /** When the token stops working; null for no expiry. */
  expires_at: string | null;
  /** The actor that created it (migration 012); see persons.ts. */
  created_by: string | null;
  /** The user at the root of its creators: while that user is disabled, it is refused. */
  created_by_user: string | null;
  /** The person it acts for, as four-eyes compares them. */
  person: string | null;
}

export interface Database {
  resources: ResourceRow;
  scan_runs: ScanRunRow;
  audit_chain: AuditChainRow;
  idempotency_keys: IdempotencyRow;
  actions: ActionRow;
  events: EventRow;
  action_findings: ActionFindingRow;
  settings: SettingRow;
  api_tokens: TokenRow;
  users: UserRow;
  user_sessions: UserSessionRow;
  login_failures: LoginFailureRow;
  alert_channels: AlertChannelRow;
  alert_rules: AlertRuleRow;
  alert_deliveries: AlertDeliveryRow;
  alert_attempts: AlertAttemptRow;
  findings: FindingRow;
  finding_exclusions: ExclusionRow;
  baselines: BaselineRow;
  replicas: ReplicaRow;
}
