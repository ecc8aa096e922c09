/** One captured configuration of one resource; JSON columns hold text. */
export interface BaselineRow {
  id: string;
  resource_id: string;
  resource_provider: string;
  resource_account: string;
  resource_region: string;
  resource_type: string;
  resource_name: string;
  version: number;
  config: string;
  tags: string;
  captured_at: string;
  captured_by: string;
  reason: string;
  /** The resource id while this version is the active one; null after. */
  active_key: string | null;
}
