/** A running replica's presence (migration 014); a row whose expiry passed is gone. */
export interface ReplicaRow {
  /** The engine's owner name, unique per process. */
  id: string;
  started_at: string;
  heartbeat_at: string;
  /** The replica counts as live until then; every heartbeat pushes it back. */
  expires_at: string;
}
