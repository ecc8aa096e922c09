import type { IncomingHttpHeaders } from 'node:http';

/** One state-changing call the sandbox accepted, in the order it was applied. */
export interface Mutation {
  seq: number;
  /** ISO 8601 time the change was applied. */
  at: string;
  service: string;
  /** The API's own operation name, e.g. `PutBucketEncryption`. */
  operation: string;
  /** The resource changed: a bucket name for S3. */
  resource: string;
  account: string;
  region: string;
  /** The request as the SDK's command input would state it, e.g. `{ Bucket, ... }`. */
  params: Record<string, unknown>;
}

export type FaultKind = 'latency' | 'throttle' | 'error';

/**
 * A fault to inject into matching calls. It fires for the next `count` matching calls
 * (1 when neither `count` nor `probability` is given) or, with `probability`, on each
 * matching call with that chance until cleared.
 */
export interface FaultSpec {
  /** Service name (`s3`) or `*`; `*` when omitted. */
  service?: string;
  /** Operation name (`PutBucketEncryption`) or `*`. */
  operation: string;
  kind: FaultKind;
  /** Delay for `latency` faults, in milliseconds. */
  ms?: number;
  count?: number;
  probability?: number;
  /**
   * `after` applies the call and then answers with the fault, as a cloud does when the
   * response is lost; only for `throttle` and `error`. `before` when omitted.
   */
  when?: 'before' | 'after';
}

/** A fault as held by the sandbox, with its id and the firings left. */
export interface ActiveFault extends Required<Pick<FaultSpec, 'service' | 'operation'>> {
  id: number;
  kind: FaultKind;
  ms: number;
  /** Firings left; null when the fault fires by probability. */
  remaining: number | null;
  probability: number | null;
  when: 'before' | 'after';
}

/** Where a request was signed for, read from its SigV4 Authorization header. */
export interface Signer {
  accessKeyId: string;
  region: string;
  service: string;
}

export interface SandboxRequest {
  method: string;
  /** The decoded path, without the query string. */
  path: string;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  body: Buffer;
  signer: Signer | null;
  /** The account the caller acts as. */
  account: string;
  requestId: string;
}

export interface SandboxResponse {
  status: number;
  headers?: Record<string, string>;
  body?: string;
}

/** An error a service answers with, in its own terms; each module renders its own body. */
export interface ServiceError {
  status: number;
  code: string;
  message: string;
  /** Extra response fields, e.g. `BucketName`. */
  fields?: Record<string, string>;
  headers?: Record<string, string>;
}

/** What a service module gets from the sandbox. */
export interface ServiceContext {
  /** Records an applied change and returns it. */
  record(change: Omit<Mutation, 'seq' | 'at'>): Mutation;
  now(): Date;
}

/** A request a module has recognised: its operation name and how to answer it. */
export interface Route {
  operation: string;
  run(): SandboxResponse;
}

/**
 * One emulated cloud service. The sandbox asks each module in turn to `match` a request;
 * the module owns its slice of the state document.
 */
export interface ServiceModule {
  readonly name: string;
  match(req: SandboxRequest): Route | null;
  /** The error a `throttle` or `error` fault produces for this service. */
  faultError(kind: 'throttle' | 'error'): ServiceError;
  renderError(err: ServiceError, req: SandboxRequest): SandboxResponse;
  /** Headers every answer carries, such as the service's request id headers. */
  responseHeaders(req: SandboxRequest): Record<string, string>;
  /** Replaces this service's resources with those in the document. */
  load(doc: StateDocument): void;
  /** Writes this service's resources into the document. */
  save(doc: StateDocument): void;
}

/** The saved form of the sandbox: see docs/sandbox.md. */
export interface StateDocument {
  version: 1;
  /** The account requests act as when their access key is not listed under an account. */
  defaultAccount: string;
  accounts: Record<string, AccountState>;
  /** Kubernetes clusters, by name. Shape: the k8s module's (see docs/sandbox.md). */
  kubernetes?: unknown;
}

export interface AccountState {
  /** Access key ids that act as this account. */
  accessKeyIds?: string[];
  regions: Record<string, RegionState>;
  /** IAM is global: its users and keys belong to the account. Shape: the iam module's. */
  iam?: unknown;
}

/** Each service module owns, types and checks its own slice. */
export interface RegionState {
  s3?: { buckets: Record<string, BucketState> };
  ec2?: unknown;
  rds?: unknown;
}

export interface BucketState {
  createdAt: string;
  encryption: EncryptionConfiguration | null;
  publicAccessBlock: PublicAccessBlockConfiguration | null;
  versioning: 'Enabled' | 'Suspended' | null;
  /** The bucket's tags (GetBucketTagging); none when absent. */
  tags?: Record<string, string>;
  /** The bucket policy as JSON text (GetBucketPolicy); none when absent or null. */
  policy?: string | null;
}

export interface EncryptionRule {
  ApplyServerSideEncryptionByDefault: { SSEAlgorithm: string; KMSMasterKeyID?: string };
  BucketKeyEnabled?: boolean;
}

export interface EncryptionConfiguration {
  Rules: EncryptionRule[];
}

export interface PublicAccessBlockConfiguration {
  BlockPublicAcls: boolean;
  IgnorePublicAcls: boolean;
  BlockPublicPolicy: boolean;
  RestrictPublicBuckets: boolean;
}
