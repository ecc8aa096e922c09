import type { AlertStore } from './alerts.ts';
import type {
  Action,
  ActionError,
  ActionSummary,
  ActionOutcome,
  AuditEvent,
  Plan,
  RequestedOp,
  ResourceRef,
  SealedSecret,
  Snapshot,
  SourceRef,
} from '../domain/action.ts';
import type { Operation } from '../domain/lifecycle.ts';
import type { AuditStore } from './audit.ts';
import type { IdempotencyStore } from './idempotency.ts';
import type { FixOptions } from '../domain/fix-options.ts';
import type { RemediationSettings } from '../domain/settings.ts';
import type { Risk, Role, Severity, SourceKind, Status } from '../domain/status.ts';
import type { UserStore } from './users.ts';
import type { FindingStore } from './findings.ts';
import type { InventoryStore } from './inventory.ts';
import type { BaselineStore } from './baselines.ts';
import type { ExecutionLimits } from './claims.ts';
import type { ReplicaStore } from './replicas.ts';

export interface NewAction {
  type: string;
  title: string;
  resource: ResourceRef;
  source: SourceRef;
  severity: Severity;
  risk: Risk;
  plan: Plan;
  /** What the finding asked for, e.g. `{ ports: [22] }`; `{}` when nothing. */
  params?: Record<string, unknown>;
}

export const SORT_FIELDS = ['created', 'updated', 'severity', 'status', 'type', 'title'] as const;
export type SortField = (typeof SORT_FIELDS)[number];

export interface ActionQuery {
  status?: Status[];
  severity?: Severity[];
  sourceKind?: SourceKind[];
  resourceType?: string[];
  provider?: string[];
  /** Case-insensitive substring of title, resource id or name. */
  text?: string;
  sort?: SortField;
  order?: 'asc' | 'desc';
  /** 1 to 500. */
  limit?: number;
  /** Opaque, from a previous page's `nextCursor`. */
  cursor?: string;
}

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

/** Fields a transition may set alongside the status, in the same transaction. */
export interface ActionPatch {
  plan?: Plan;
  plannedAt?: string;
  snapshot?: Snapshot | null;
  result?: ActionOutcome | null;
  error?: ActionError | null;
  completedAt?: string;
  rollbackDeadline?: string;
}

export interface TransitionInput {
  actor: string;
  now: Date;
  comment?: string | null;
  patch?: ActionPatch;
  /** Extra facts for the audit event (both states on a refused rollback, say). */
  data?: Record<string, unknown>;
  /** Queue this request in the same transaction. */
  thenRequest?: RequestedOp;
  /**
   * Queue an execution in the same transaction when the auto-execute setting, read there,
   * is on; never for the listed types (fixes whose secret needs a person to receive it).
   */
  autoExecute?: { unlessTypes: readonly string[] };
  /**
   * Completion: stamp `completedAt` and fix the rollback deadline from the window setting
   * read in the same transaction.
   */
  openRollbackWindow?: boolean;
  /** The engine's lease the transition must still hold (owner id). */
  leaseOwner?: string;
}

export interface RequestInput {
  actor: string;
  now: Date;
  comment?: string | null;
  /** Kept with the request for the engine: `{ force: true }`, a recipient key. */
  data?: Record<string, unknown>;
}

export interface ApiToken {
  id: string;
  name: string;
  role: Role;
  createdAt: string;
  /** When it stops working; null for never. */
  expiresAt: string | null;
}

/** A token as an admin sees it in a listing: never the token itself nor its hash. */
export interface TokenInfo extends ApiToken {
  /** When it stopped working; null while it works. */
  revokedAt: string | null;
  revokedBy: string | null;
  /** The actor that created it: `user:<name>`, `token:<name>`, `system`, `local:cli`. */
  createdBy: string;
}

/** A presented token with the state of the user behind it. */
export interface PresentedToken extends TokenInfo {
  /** The user whose disabling stops this token; null when no user created it. */
  ownerUser: string | null;
  /** When that user was disabled; null while enabled (or when there is none). */
  ownerDisabledAt: string | null;
}

export interface CreateResult {
  action: Action;
  /** False when an open action for the same type and resource already existed. */
  created: boolean;
}

/**
 * The one way the product reads and writes its database. Every status change goes
 * through `transition`, which applies the lifecycle table as a conditional update and
 * appends the audit event in the same transaction.
 */
export interface Store
  extends
    UserStore,
    ReplicaStore,
    AuditStore,
    IdempotencyStore,
    FindingStore,
    BaselineStore,
    AlertStore,
    InventoryStore {
  readonly engine: 'sqlite' | 'postgres';
  close(): Promise<void>;

  /**
   * Inserts a suggested action, or links the finding to the open one for the same problem.
   * Without `requireApproval`, the setting in force is read in the same transaction.
   */
  createAction(
    input: NewAction,
    opts: { actor: string; now: Date; requireApproval?: boolean },
  ): Promise<CreateResult>;
  /** `createAction` for many at once, in one transaction: all are recorded or none. */
  createActions(
    inputs: NewAction[],
    opts: { actor: string; now: Date; requireApproval?: boolean },
  ): Promise<CreateResult[]>;
  getAction(id: string): Promise<Action | undefined>;
  /** One page of the queue, as summaries. */
  listActions(query: ActionQuery): Promise<Page<ActionSummary>>;
  countByStatus(): Promise<Record<Status, number>>;
  events(actionId: string): Promise<AuditEvent[]>;

  /** Throws `conflict` (and changes nothing) when the action is not in a `from` status. */
  transition(id: string, op: Operation, input: TransitionInput): Promise<Action>;
  /** Records a person's request for the engine; one outstanding request at a time. */
  request(id: string, op: RequestedOp, input: RequestInput): Promise<Action>;
  comment(id: string, input: { actor: string; now: Date; text: string }): Promise<AuditEvent>;
  /** Updates the plan outside any status change (the engine's live read). */
  updatePlan(id: string, plan: Plan, now: Date): Promise<void>;
  /** Records the snapshot of an executing action before the change is applied. */
  saveSnapshot(id: string, snapshot: Snapshot, leaseOwner: string): Promise<void>;

  /** Actions whose plan has not been read yet, oldest first. */
  unplanned(limit: number): Promise<Action[]>;
  /**
   * Claims up to `limit` requested actions for `owner`: moves each to executing or
   * rolling_back with a lease, clears the request, and audits it. Each claim has one winner.
   */
  claim(
    owner: string,
    opts: { now: Date; leaseMs: number; limit: number } & ExecutionLimits,
  ): Promise<Action[]>;
  /** Actions left executing or rolling_back whose lease has expired (or all, at start). */
  stranded(now: Date): Promise<Action[]>;
  /** Takes over a stranded action's lease; false when someone else did first. */
  takeOver(
    id: string,
    version: number,
    owner: string,
    now: Date,
    leaseMs: number,
  ): Promise<boolean>;
  /** Extends a running action's lease; false when it was lost. */
  renewLease(id: string, owner: string, now: Date, leaseMs: number): Promise<boolean>;

  /** Records a multi-step fix's progress; only while `owner` holds the lease. */
  saveProgress(id: string, progress: Record<string, unknown>, owner: string): Promise<void>;
  /** Keeps a sealed secret for the requester; only while `owner` holds the lease. */
  saveSealedSecret(id: string, secret: SealedSecret, owner: string): Promise<void>;
  /** Hands over and forgets the sealed secret; undefined when none is waiting. */
  takeSealedSecret(
    id: string,
    input: { actor: string; now: Date },
  ): Promise<SealedSecret | undefined>;
  /** Completed actions of `types` whose window closed and whose finalize step has not run. */
  finalizable(types: string[], now: Date, limit: number): Promise<Action[]>;
  /** Records the finalize step once; false when another engine did it first. */
  markFinalized(
    id: string,
    version: number,
    input: { now: Date; message: string },
  ): Promise<boolean>;

  getSettings(): Promise<RemediationSettings>;
  updateSettings(
    patch: Partial<RemediationSettings>,
    input: { actor: string; now: Date },
  ): Promise<RemediationSettings>;

  getFixOptions(): Promise<FixOptions>;
  updateFixOptions(
    patch: Partial<FixOptions>,
    input: { actor: string; now: Date },
  ): Promise<FixOptions>;

  /**
   * Names are unique among all tokens, revoked ones included, because the audit trail
   * names the actor by it: a name in use is a `conflict`. With `actor`, the creation is
   * audited.
   */
  createToken(input: {
    role: Role;
    name: string;
    now: Date;
    actor?: string;
    /** ISO-8601 time after which the token is refused; none when absent. */
    expiresAt?: string | null;
  }): Promise<{ token: string; info: ApiToken }>;
  /** Resolves a presented token; undefined when unknown or revoked (expiry is the caller's). */
  findToken(token: string): Promise<ApiToken | undefined>;
  /** Resolves a presented token, revoked or not; undefined when unknown. */
  lookupToken(token: string): Promise<PresentedToken | undefined>;
  countTokens(): Promise<number>;
  /** Every token, revoked ones included, oldest first. */
  listTokens(): Promise<TokenInfo[]>;
  /**
   * Revokes a token and audits it. `not_found` for an unknown id; `conflict` when it is
   * already revoked or is the last active admin token.
   */
  revokeToken(id: string, input: { actor: string; now: Date }): Promise<TokenInfo>;
}
