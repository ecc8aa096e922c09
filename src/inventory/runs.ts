import type { ReadError, ScanUnit } from './reads.ts';

export const SCAN_TRIGGERS = ['manual', 'scheduled', 'cli'] as const;
export type ScanTrigger = (typeof SCAN_TRIGGERS)[number];

export const SCAN_STATUSES = ['running', 'completed', 'failed'] as const;
export type ScanStatus = (typeof SCAN_STATUSES)[number];

/**
 * A running scan holds a lease: the server running it renews its heartbeat this often,
 * from start to finish, so a missed beat or two (a slow write, a busy moment) is harmless.
 */
export const SCAN_HEARTBEAT_MS = 10_000;
/**
 * A running scan whose heartbeat is older than this was left by a server that stopped:
 * any replica, or the restarted one, fails it, and a new scan may start. Several beats
 * long, so only a server that stopped beating (or a clock more than this wrong) loses it.
 */
export const SCAN_STALE_MS = 45_000;
/**
 * How often every replica looks for such scans; with the stale age, a stopped server's
 * scan is failed within a minute of its last heartbeat.
 */
export const SCAN_SWEEP_MS = 15_000;

/** How far one unit (a service in an account and region) has got. */
export interface ScanUnitProgress extends ScanUnit {
  /** `complete`: everything read; `incomplete`: something could not be read. */
  status: 'pending' | 'running' | 'complete' | 'incomplete';
  resources: number;
  errors: number;
}

export interface ScanSummary {
  resources: number;
  /** Resources seen for the first time, seen again, and no longer found. */
  added: number;
  updated: number;
  gone: number;
  findings: {
    opened: number;
    updated: number;
    resolved: number;
    dismissed: number;
    excluded: number;
  };
  /** What could not be read: the scan went on without it. */
  couldNotRead: ReadError[];
}

export interface ScanRun {
  id: string;
  trigger: ScanTrigger;
  actor: string;
  status: ScanStatus;
  startedAt: string;
  finishedAt: string | null;
  units: ScanUnitProgress[];
  summary: ScanSummary | null;
  /** Why the scan as a whole failed; null otherwise. */
  error: string | null;
}

export interface ScanSettings {
  /** Minutes between scheduled scans; 0 turns scheduling off. */
  intervalMinutes: number;
}

export const DEFAULT_SCAN_SETTINGS: ScanSettings = Object.freeze({ intervalMinutes: 240 });
export const SCAN_INTERVAL_MAX = 7 * 24 * 60;

/** A stored resource, as listed. */
export interface ResourceSummary {
  id: string;
  provider: 'aws' | 'kubernetes';
  account: string;
  region: string;
  type: string;
  name: string;
  tags: Record<string, string>;
  firstSeen: string;
  lastSeen: string;
  /** When a complete scan of its scope no longer found it; null while it exists. */
  goneAt: string | null;
}

export interface StoredResource extends ResourceSummary {
  config: Record<string, unknown>;
  lastScanId: string;
}
