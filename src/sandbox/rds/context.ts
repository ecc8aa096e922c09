import type { ParamReader, QueryParams } from '../query/form.ts';
import type { SandboxRequest, ServiceContext } from '../types.ts';
import { instanceNotFound, invalidValue, kmsKeyNotAccessible, snapshotNotFound } from './errors.ts';
import { type AwsRecord, isIdentifier, type RdsRegion, resolveKmsKey } from './model.ts';
import type { RdsStore } from './store.ts';

export interface RdsDeps {
  store: RdsStore;
  ctx: ServiceContext;
}

/** One request as the RDS handlers see it. */
export interface RdsCall {
  read: ParamReader;
  raw: QueryParams;
  req: SandboxRequest;
  deps: RdsDeps;
  account: string;
  region: string;
  /** The caller's region, with its due transitions settled. */
  rds: RdsRegion;
  now: Date;
}

export function rdsCall(
  read: ParamReader,
  raw: QueryParams,
  req: SandboxRequest,
  deps: RdsDeps,
): RdsCall {
  const now = deps.ctx.now();
  deps.store.tick(now);
  const account = req.account;
  const region = req.signer?.region || 'us-east-1';
  return { read, raw, req, deps, account, region, rds: deps.store.region(account, region), now };
}

/** Logs an applied change with the parameters the caller sent. */
export function record(
  call: RdsCall,
  operation: string,
  resource: string,
  params: Record<string, unknown>,
): void {
  call.deps.ctx.record({
    service: 'rds',
    operation,
    resource,
    account: call.account,
    region: call.region,
    params,
  });
}

/** Puts a record into a status that ends on its own after the region's transition time. */
export function transition(
  call: RdsCall,
  kind: 'instance' | 'snapshot' | 'cluster',
  id: string,
  status: string,
  extra: { remove?: boolean; applyPending?: boolean } = {},
): void {
  const { rds } = call;
  rds.transitions = rds.transitions.filter((t) => !(t.kind === kind && t.id === id));
  const at = new Date(call.now.getTime() + rds.settings.transitionMs).toISOString();
  rds.transitions.push({ kind, id, at, status, ...extra });
}

export function requiredIdentifier(call: RdsCall, name: string, max = 63): string {
  const value = call.read.required(name);
  if (!isIdentifier(value, max)) {
    throw invalidValue(
      `The parameter ${name} is not a valid identifier. Identifiers must begin with a ` +
        'letter; must contain only ASCII letters, digits, and hyphens; and must not end ' +
        'with a hyphen or contain two consecutive hyphens.',
    );
  }
  return value.toLowerCase();
}

export function instanceOf(call: RdsCall, id: string): AwsRecord {
  const instance = call.rds.instances.get(id);
  if (!instance) throw instanceNotFound(id);
  return instance;
}

export function snapshotOf(call: RdsCall, id: string): AwsRecord {
  const snapshot = call.rds.snapshots.get(id);
  if (!snapshot) throw snapshotNotFound(id);
  return snapshot;
}

export function kmsKey(call: RdsCall, value: string): string {
  const key = resolveKmsKey(value, call.region, call.account);
  if (!key) throw kmsKeyNotAccessible(value);
  return key;
}

/** The key a copy or replica is encrypted with: the one asked for, else its source's own. */
export function keyOrSourceKey(
  call: RdsCall,
  asked: unknown,
  source: AwsRecord,
): string | undefined {
  if (typeof asked === 'string') return kmsKey(call, asked);
  return typeof source.KmsKeyId === 'string' ? source.KmsKeyId : undefined;
}

export function retentionDays(value: number | undefined, min = 0): number | undefined {
  if (value !== undefined && (value < min || value > 35)) {
    throw invalidValue(
      `Invalid backup retention period: ${value}. Must be between ${min} and 35 days.`,
    );
  }
  return value;
}
