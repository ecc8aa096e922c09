/** Row types of the alert tables (migration 007-alerts); JSON columns hold text. */
export interface AlertChannelRow {
  id: string;
  name: string;
  type: string;
  /** What may be shown: SMTP host, recipients; never a secret. */
  config: string;
  /** Webhook URLs, HMAC keys, SMTP passwords: never returned nor logged. */
  secrets: string;
  created_at: string;
  created_by: string;
  last_success_at: string | null;
  last_failure_at: string | null;
  last_error: string | null;
  consecutive_failures: number;
}

export interface AlertRuleRow {
  id: string;
  name: string;
  events: string;
  min_severity: string;
  min_severity_rank: number;
  channel_ids: string;
  created_at: string;
  created_by: string;
}

export interface AlertDeliveryRow {
  id: string;
  event_id: number;
  event: string;
  severity: string;
  action_id: string | null;
  channel_id: string;
  channel_name: string;
  rule_id: string;
  status: string;
  attempts: number;
  next_attempt_at: string;
  lease_owner: string | null;
  lease_expires_at: string | null;
  created_at: string;
  delivered_at: string | null;
  last_error: string | null;
}

export interface AlertAttemptRow {
  delivery_id: string;
  attempt: number;
  at: string;
  duration_ms: number;
  ok: number;
  status_code: number | null;
  error: string | null;
}
