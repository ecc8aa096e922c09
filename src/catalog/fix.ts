import type { Logger } from 'pino';
import type { PlannedCall, ResourceRef, Reversibility } from '../domain/action.ts';
import type { Risk } from '../domain/status.ts';
import type { CloudClients } from '../cloud/clients.ts';

/** What a fix gets to do its I/O: clients built from configuration, and a scoped logger. */
export interface FixContext {
  clients: CloudClients;
  log: Logger;
}

/** A resource's live configuration as a fix sees it: plain JSON, stored as the snapshot. */
export type State = Record<string, unknown>;

/**
 * One remediation. Every fix has this shape; the engine drives it without knowing
 * which cloud API is behind it. `read`, `apply` and `restore` do I/O; the rest is pure.
 */
export interface Fix {
  /** Catalog id, e.g. `s3.enable-default-encryption`. */
  type: string;
  /** Security Hub resource type this fix acts on, e.g. `AwsS3Bucket`. */
  resourceType: string;
  service: string;
  risk: Risk;
  /** One sentence: what the fix does. */
  summary: string;
  /** The IAM actions the fix needs, for the least-privilege policy. */
  permissions: string[];
  /** Plain-language title for one resource. */
  title(resource: ResourceRef): string;
  /** Reads the live configuration the fix changes. */
  read(ctx: FixContext, resource: ResourceRef): Promise<State>;
  /** Whether the live configuration already satisfies the fix. */
  isCompliant(state: State): boolean;
  /** The configuration the fix leaves behind, given the one it found. */
  target(state: State): State;
  /** The calls the fix will make, given the configuration it found. */
  calls(resource: ResourceRef, state: State): PlannedCall[];
  /** The calls a rollback to `snapshot` will make. */
  rollbackCalls(resource: ResourceRef, snapshot: State): PlannedCall[];
  /** How far a rollback from this starting configuration can undo the fix. */
  reversibility(state: State): Reversibility;
  /** Caveats a reviewer must see, given the configuration found. */
  warnings(state: State): string[];
  /** Makes the change. Throws the cloud's error when refused. */
  apply(ctx: FixContext, resource: ResourceRef, state: State): Promise<void>;
  /** Puts the snapshot back. */
  restore(ctx: FixContext, resource: ResourceRef, snapshot: State): Promise<void>;
  /**
   * Whether `live` is what a rollback to `snapshot` can produce. Usually equality;
   * looser where the cloud cannot return to the exact old state (said in reversibility).
   */
  isRestored(live: State, snapshot: State): boolean;
}
