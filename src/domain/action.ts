import type { FixOptions } from './fix-options.ts';
import type { Risk, Severity, SourceKind, Status } from './status.ts';

export const PROVIDERS = ['aws', 'kubernetes'] as const;

/** The cloud resource an action changes. `id` is the ARN (or the provider's own id). */
export interface ResourceRef {
  provider: (typeof PROVIDERS)[number];
  account: string;
  region: string;
  /** The Security Hub resource type, e.g. `AwsS3Bucket`. */
  type: string;
  id: string;
  name: string;
}

/** The finding an action came from. */
export interface SourceRef {
  kind: SourceKind;
  /** The finding's own id in its origin (Prowler finding uid, ASFF Id, ...). */
  findingId: string;
  title: string;
  /** Where it came from, e.g. `prowler`, `securityhub`. */
  origin: string;
  /** The check or control id in that origin, e.g. `s3_bucket_default_encryption`, `S3.4`. */
  checkId: string;
}

export type Reversibility =
  | { level: 'full'; note?: string }
  | { level: 'partial'; note: string }
  | { level: 'none'; note: string };

/** One API call the fix makes, in the cloud's own terms. */
export interface PlannedCall {
  service: string;
  operation: string;
  parameters: Record<string, unknown>;
}

/** What will change, stated before approval. */
export interface Plan {
  /**
   * The live attributes read when the plan was made; null until the engine has read
   * the resource (`error` then says why it could not).
   */
  before: Record<string, unknown> | null;
  /** The attributes after the fix. */
  after: Record<string, unknown>;
  calls: PlannedCall[];
  rollbackCalls: PlannedCall[];
  reversibility: Reversibility;
  /** Plain-language caveats a reviewer must see before approving. */
  warnings: string[];
  /**
   * Why the fix will not run on this resource as it is (a root user's key, a stopped
   * database), stated before approval; null when nothing stands in the way.
   */
  refusal: string | null;
  /** The parameters and options the plan was made with; execution uses the same. */
  input: { params: Record<string, unknown>; options: FixOptions } | null;
  /** True when the live state already satisfies the fix. */
  alreadyCompliant: boolean;
  /** Why the live state could not be read, when it could not. */
  error: ActionError | null;
}

/** The live configuration captured right before a change. */
export interface Snapshot {
  capturedAt: string;
  state: Record<string, unknown>;
}

export interface ActionOutcome {
  /** `applied` when the change was made, `already_compliant` when nothing needed to change. */
  kind: 'applied' | 'already_compliant' | 'rolled_back' | 'recovered';
  message: string;
  observed?: Record<string, unknown>;
}

export interface ActionError {
  code: string;
  message: string;
  /** The cloud's own error code, when the cloud refused. */
  cloudCode?: string;
  /**
   * True when the change may have reached the cloud before the failure (a server error,
   * a lost answer, a failed verification): a retry then keeps the first snapshot.
   */
  outcomeUnknown?: boolean;
  at: string;
}

/** Work the API asked for and the engine has not yet taken. */
export type RequestedOp = 'execute' | 'rollback';

export interface Action {
  id: string;
  type: string;
  title: string;
  resource: ResourceRef;
  source: SourceRef;
  severity: Severity;
  risk: Risk;
  status: Status;
  plan: Plan;
  snapshot: Snapshot | null;
  result: ActionOutcome | null;
  error: ActionError | null;
  requestedOp: RequestedOp | null;
  requestedBy: string | null;
  /** What came with the request: `{ force: true }` on a rollback, a recipient key. */
  requestData: Record<string, unknown> | null;
  /** What the finding asked the fix to do, e.g. `{ ports: [22] }`. */
  params: Record<string, unknown>;
  /** Steps a multi-step fix has recorded as done, so a retry resumes instead of redoing. */
  progress: Record<string, unknown>;
  /** A secret the fix created, sealed to the person who executed it, until they take it. */
  sealedSecret: SealedSecret | null;
  /** When the post-window step of a fix (deleting a deactivated key, say) ran. */
  finalizedAt: string | null;
  attempt: number;
  createdBy: string;
  createdAt: string;
  updatedAt: string;
  approvedBy: string | null;
  approvedAt: string | null;
  completedAt: string | null;
  /** Fixed at completion from the window setting then in force. */
  rollbackDeadline: string | null;
  /** When the engine last read the live state into the plan; null until then. */
  plannedAt: string | null;
  /** Bumped on every write; lets callers detect a lost race. */
  version: number;
}

/** What the queue shows for each action; the plan, snapshot and results stay on the detail. */
export type ActionSummary = Pick<
  Action,
  | 'id'
  | 'type'
  | 'title'
  | 'resource'
  | 'source'
  | 'severity'
  | 'risk'
  | 'status'
  | 'error'
  | 'requestedOp'
  | 'attempt'
  | 'createdAt'
  | 'updatedAt'
  | 'approvedBy'
  | 'completedAt'
  | 'rollbackDeadline'
  | 'version'
>;

/** Every type of audit log entry; `GET /audit?type=` refuses any other. */
export const EVENT_TYPES = [
  'transition',
  'comment',
  'request',
  'note',
  'settings',
  'finalize',
  'finding',
  'exclusion',
  'baseline',
  'window-closing',
  'alerts',
  'token',
  'user',
] as const;
export type EventType = (typeof EVENT_TYPES)[number];

/** One entry of an action's audit trail. */
export interface AuditEvent {
  id: number;
  actionId: string | null;
  at: string;
  actor: string;
  type: EventType;
  from: Status | null;
  to: Status | null;
  comment: string | null;
  data: Record<string, unknown> | null;
}

/**
 * A secret encrypted to the public key the executing person sent with the request:
 * X25519 key agreement, HKDF-SHA256, AES-256-GCM. The server cannot read it back.
 */
export interface SealedSecret {
  name: string;
  /** The sender's ephemeral X25519 public key, SPKI DER in base64. */
  ephemeralPublicKey: string;
  iv: string;
  ciphertext: string;
  tag: string;
}
