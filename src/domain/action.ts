import type { Risk, Severity, SourceKind, Status } from './status.ts';

/** The cloud resource an action changes. `id` is the ARN (or the provider's own id). */
export interface ResourceRef {
  provider: 'aws';
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

export type EventType = 'transition' | 'comment' | 'request' | 'note' | 'settings';

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
