/** A discovered resource as stored. JSON columns hold text; times are ISO-8601 UTC text. */
export interface ResourceRow {
  id: string;
  provider: string;
  account: string;
  region: string;
  type: string;
  name: string;
  scope: string;
  tags: string;
  config: string;
  first_seen: string;
  last_seen: string;
  gone_at: string | null;
  last_scan_id: string;
}

export interface ScanRunRow {
  id: string;
  trigger: string;
  actor: string;
  status: string;
  /** The due time a scheduled scan claimed; null for other scans. */
  slot: string | null;
  started_at: string;
  /** Renewed by the server running the scan; a stale one means that server stopped. */
  heartbeat_at: string;
  finished_at: string | null;
  /** JSON: ScanUnitProgress[]. */
  units: string;
  /** JSON: ScanSummary, once finished. */
  summary: string | null;
  error: string | null;
}
