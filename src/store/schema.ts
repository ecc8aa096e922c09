import type { Generated } from 'kysely';

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
}

export interface Database {
  actions: ActionRow;
  events: EventRow;
  action_findings: ActionFindingRow;
  settings: SettingRow;
  api_tokens: TokenRow;
}
