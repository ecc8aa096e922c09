import { isDeepStrictEqual } from 'node:util';
import type { PlannedCall, ResourceRef, Reversibility } from '../../domain/action.ts';
import type { Fix, FixContext, State } from '../fix.ts';
import { nullWhenMissing, S3_ERROR } from './aws-errors.ts';
import { badState, bucketOf, isRecord, plainJson } from './bucket-state.ts';
import { plannedS3Calls, s3Call } from './calls.ts';
import { s3Sdk } from '../sdk.ts';

const TYPE = 's3.enable-default-encryption';

/** One rule as S3 states it (`ApplyServerSideEncryptionByDefault`, `BucketKeyEnabled`). */
export type EncryptionRule = Record<string, unknown>;

/** The bucket's default encryption; null when none is configured. */
export interface EncryptionState extends State {
  bucket: string;
  encryption: { rules: EncryptionRule[] } | null;
}

/**
 * SSE-S3 as S3 itself reports it. BucketKeyEnabled is sent as false so the configuration
 * read back equals the one planned, which is how S3 reports an SSE-S3 rule.
 */
const SSE_S3_RULE: EncryptionRule = Object.freeze({
  ApplyServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' },
  BucketKeyEnabled: false,
});

const ROLLBACK_NOTE =
  'the bucket had no default encryption; the rollback deletes the configuration, and on ' +
  "today's AWS a bucket without one still encrypts new objects with S3's default SSE-S3, " +
  'so the rollback returns the bucket to SSE-S3, not to no encryption';

export const enableDefaultEncryption: Fix = {
  type: TYPE,
  resourceType: 'AwsS3Bucket',
  service: 's3',
  risk: 'low',
  summary: 'Turns on SSE-S3 (AES256) default encryption for a bucket that has none.',
  permissions: ['s3:GetEncryptionConfiguration', 's3:PutEncryptionConfiguration'],

  title: (resource) => `Enable default encryption on bucket ${resource.name}`,

  async read(ctx: FixContext, resource: ResourceRef): Promise<EncryptionState> {
    const { GetBucketEncryptionCommand } = await s3Sdk();
    const client = ctx.clients.s3(resource.region);
    const out = await nullWhenMissing(S3_ERROR.noEncryption, () =>
      client.send(new GetBucketEncryptionCommand({ Bucket: resource.name })),
    );
    const rules = out?.ServerSideEncryptionConfiguration?.Rules;
    return {
      bucket: resource.name,
      encryption: out ? { rules: plainJson(rules ?? []) as EncryptionRule[] } : null,
    };
  },

  isCompliant: (state) => isEncrypted(parse(state)),

  target(state) {
    const parsed = parse(state);
    if (isEncrypted(parsed)) return parsed;
    return { bucket: parsed.bucket, encryption: { rules: [plainJson(SSE_S3_RULE)] } };
  },

  ...plannedS3Calls(plannedCalls, plannedRollback),

  reversibility(state): Reversibility {
    if (parse(state).encryption === null) return { level: 'partial', note: ROLLBACK_NOTE };
    return { level: 'full' };
  },

  warnings() {
    return [
      'Only objects written after the change are encrypted by default; existing objects keep ' +
        'the encryption they were stored with.',
    ];
  },

  isRestored(live, snapshot) {
    const now = parse(live);
    const then = parse(snapshot);
    if (then.encryption === null) {
      return now.encryption === null || isDeepStrictEqual(now.encryption.rules, [SSE_S3_RULE]);
    }
    return isDeepStrictEqual(now.encryption, then.encryption);
  },
};

function isEncrypted({ encryption }: EncryptionState): boolean {
  return encryption !== null && encryption.rules.some((rule) => algorithmOf(rule) !== undefined);
}

function plannedCalls(resource: ResourceRef, state: State): PlannedCall[] {
  const parsed = parse(state, resource);
  if (isEncrypted(parsed)) return [];
  return [putEncryption(resource.name, [SSE_S3_RULE])];
}

/** Puts the snapshot back as it was: deleted when there was none, else the same rules. */
function plannedRollback(resource: ResourceRef, snapshot: State): PlannedCall[] {
  const { encryption } = parse(snapshot, resource);
  if (encryption === null) return [s3Call('DeleteBucketEncryption', { Bucket: resource.name })];
  return [putEncryption(resource.name, encryption.rules)];
}

function putEncryption(bucket: string, rules: readonly EncryptionRule[]): PlannedCall {
  return s3Call('PutBucketEncryption', {
    Bucket: bucket,
    ServerSideEncryptionConfiguration: { Rules: plainJson(rules) },
  });
}

function algorithmOf(rule: EncryptionRule): string | undefined {
  const apply = rule.ApplyServerSideEncryptionByDefault;
  return isRecord(apply) && typeof apply.SSEAlgorithm === 'string' ? apply.SSEAlgorithm : undefined;
}

function parse(state: State, resource: ResourceRef | null = null): EncryptionState {
  const bucket = bucketOf(state, resource, TYPE);
  const { encryption } = state;
  if (encryption === null) return { bucket, encryption: null };
  if (!isRecord(encryption) || !Array.isArray(encryption.rules)) {
    throw badState(TYPE, 'encryption', encryption, 'null or { rules: [...] }');
  }
  if (!encryption.rules.every(isRecord)) {
    throw badState(TYPE, 'encryption.rules', encryption.rules, 'a list of S3 encryption rules');
  }
  return { bucket, encryption: { rules: encryption.rules } };
}
