import type { Logger } from 'pino';
import type { PlannedCall, ResourceRef, Reversibility } from '../domain/action.ts';
import type { FixOptions } from '../domain/fix-options.ts';
import type { Risk } from '../domain/status.ts';
import type { CloudClients } from '../cloud/clients.ts';

/** A resource's live configuration as a fix sees it: plain JSON, stored as the snapshot. */
export type State = Record<string, unknown>;

/** What shapes a fix beyond the resource: fixed per action when its plan is made. */
export interface FixInput {
  /** What the finding asked for, e.g. `{ ports: [22] }`. */
  params: Record<string, unknown>;
  options: FixOptions;
}

/** What a fix gets to do its I/O. */
export interface FixContext extends FixInput {
  clients: CloudClients;
  log: Logger;
  /** What earlier attempts of this action recorded with `checkpoint`; `{}` at first. */
  progress: Record<string, unknown>;
  /**
   * Durably records the steps done so far before the next one starts, so a retry after a
   * failure or crash resumes (or compensates) instead of repeating a step: one new key,
   * one copy, never two.
   */
  checkpoint(progress: Record<string, unknown>): Promise<void>;
  /**
   * Hands a secret the fix created (a new access key's secret) to the person who asked
   * for the execution, sealed to their key. The product never keeps it in clear.
   * Throws when the request carried no recipient key.
   */
  deliverSecret(name: string, value: string): Promise<void>;
}

/**
 * One remediation. Every fix has this shape; the engine drives it without knowing which
 * cloud API is behind it. `read`, `apply`, `restore` and `finalize` do I/O; the rest is
 * pure and sees the same `FixInput` at planning, execution and rollback.
 */
export interface Fix {
  /** Catalog id, e.g. `s3.enable-default-encryption`. */
  type: string;
  /** The resource type this fix acts on, e.g. `AwsS3Bucket`, `KubernetesDeployment`. */
  resourceType: string;
  /** Further resource types it accepts (a Pod's owner is resolved by `read`, say). */
  alsoAccepts?: readonly string[];
  service: string;
  risk: Risk;
  /** One sentence: what the fix does. */
  summary: string;
  /** The IAM actions (or Kubernetes RBAC rules, as `verb resource`) the fix needs. */
  permissions: string[];
  /** Plain-language title for one resource. */
  title(resource: ResourceRef, params: Record<string, unknown>): string;
  /** Reads the live configuration the fix changes. */
  read(ctx: FixContext, resource: ResourceRef): Promise<State>;
  /** Whether the live configuration already satisfies the fix. */
  isCompliant(state: State, input: FixInput): boolean;
  /**
   * Why the fix must not run on this configuration, in words for the reviewer (a stopped
   * instance, a root user's key), or null. Execution refuses while it is non-null.
   */
  refusal?(state: State, input: FixInput): string | null;
  /** The configuration the fix leaves behind, given the one it found. */
  target(state: State, input: FixInput): State;
  /** The calls the fix will make, given the configuration it found. */
  calls(resource: ResourceRef, state: State, input: FixInput): PlannedCall[];
  /** The calls a rollback to `snapshot` will make. */
  rollbackCalls(resource: ResourceRef, snapshot: State, input: FixInput): PlannedCall[];
  /** How far a rollback from this starting configuration can undo the fix. */
  reversibility(state: State, input: FixInput): Reversibility;
  /** Caveats a reviewer must see, given the configuration found. */
  warnings(state: State, input: FixInput): string[];
  /** Makes the change. Throws the cloud's error when refused. */
  apply(ctx: FixContext, resource: ResourceRef, state: State): Promise<void>;
  /** Puts the snapshot back. */
  restore(ctx: FixContext, resource: ResourceRef, snapshot: State): Promise<void>;
  /**
   * Whether `live` is what a rollback to `snapshot` can produce. Usually equality;
   * looser where the cloud cannot return to the exact old state (said in reversibility).
   */
  isRestored(live: State, snapshot: State, input: FixInput): boolean;
  /**
   * Whether `live` is still what the fix left (`target(snapshot)`), so a rollback would
   * not overwrite someone else's change. Equality when omitted.
   */
  isUnchangedSinceFix?(live: State, snapshot: State, input: FixInput): boolean;
  /** True when `apply` calls `deliverSecret`: execute then needs a recipient key. */
  yieldsSecret?: boolean;
  /**
   * Runs once after the rollback window has closed (deleting a key that was only
   * deactivated, say); returns what it did, for the audit log.
   */
  finalize?(ctx: FixContext, resource: ResourceRef, snapshot: State): Promise<string>;
}
