import { SandboxInputError } from '../api-error.ts';
import type {
  BucketState,
  EncryptionConfiguration,
  PublicAccessBlockConfiguration,
  StateDocument,
} from '../types.ts';
import { isValidBucketName } from './names.ts';
import { parsePolicy } from './policy-api.ts';

export const SSE_ALGORITHMS = ['AES256', 'aws:kms', 'aws:kms:dsse'] as const;
export const PAB_FLAGS = [
  'BlockPublicAcls',
  'IgnorePublicAcls',
  'BlockPublicPolicy',
  'RestrictPublicBuckets',
] as const;

export interface Bucket extends BucketState {
  name: string;
  account: string;
  region: string;
}

/** Every bucket in the sandbox, keyed by name: S3 bucket names are global. */
export class BucketStore {
  #buckets = new Map<string, Bucket>();

  get(name: string): Bucket | undefined {
    return this.#buckets.get(name);
  }

  add(bucket: Bucket): void {
    this.#buckets.set(bucket.name, bucket);
  }

  delete(name: string): void {
    this.#buckets.delete(name);
  }

  /** An account's buckets in name order, as ListBuckets returns them. */
  list(account: string): Bucket[] {
    const own = [...this.#buckets.values()].filter((b) => b.account === account);
    return own.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  load(doc: StateDocument, now: Date): void {
    const next = new Map<string, Bucket>();
    for (const [account, acct] of Object.entries(doc.accounts)) {
      for (const [region, reg] of Object.entries(acct.regions ?? {})) {
        const buckets = reg.s3?.buckets ?? {};
        for (const [name, raw] of Object.entries(buckets)) {
          const where = `accounts.${account}.regions.${region}.s3.buckets.${name}`;
          if (!isValidBucketName(name)) {
            throw new SandboxInputError(`${where}: "${name}" is not a valid S3 bucket name`);
          }
          const seen = next.get(name);
          if (seen) {
            throw new SandboxInputError(
              `${where}: bucket "${name}" is also listed in account ${seen.account} ` +
                `region ${seen.region}; bucket names are global, keep one`,
            );
          }
          next.set(name, { name, account, region, ...parseBucket(raw, where, now) });
        }
      }
    }
    this.#buckets = next;
  }

  save(doc: StateDocument): void {
    for (const b of this.#buckets.values()) {
      const account = (doc.accounts[b.account] ??= { regions: {} });
      const region = (account.regions[b.region] ??= {});
      const s3 = (region.s3 ??= { buckets: {} });
      s3.buckets[b.name] = {
        createdAt: b.createdAt,
        encryption: structuredClone(b.encryption),
        publicAccessBlock: b.publicAccessBlock ? { ...b.publicAccessBlock } : null,
        versioning: b.versioning,
        ...(b.tags ? { tags: { ...b.tags } } : {}),
        ...(b.policy ? { policy: b.policy } : {}),
      };
    }
  }
}

function parseBucket(raw: unknown, where: string, now: Date): BucketState {
  if (!isObject(raw)) throw new SandboxInputError(`${where} must be an object`);
  const createdAt = raw.createdAt ?? now.toISOString();
  if (typeof createdAt !== 'string' || Number.isNaN(Date.parse(createdAt))) {
    throw new SandboxInputError(
      `${where}.createdAt must be an ISO 8601 time, got ${JSON.stringify(createdAt)}`,
    );
  }
  const versioning = raw.versioning ?? null;
  if (versioning !== null && versioning !== 'Enabled' && versioning !== 'Suspended') {
    throw new SandboxInputError(
      `${where}.versioning must be "Enabled", "Suspended" or null, ` +
        `got ${JSON.stringify(versioning)}`,
    );
  }
  return {
    createdAt: new Date(createdAt).toISOString(),
    encryption: parseEncryption(raw.encryption ?? null, `${where}.encryption`),
    publicAccessBlock: parsePab(raw.publicAccessBlock ?? null, `${where}.publicAccessBlock`),
    versioning,
    ...parseTags(raw.tags, `${where}.tags`),
    ...parseBucketPolicy(raw.policy, `${where}.policy`),
  };
}

/** A policy as JSON text, or as the document itself for a hand-written state file. */
function parseBucketPolicy(raw: unknown, where: string): { policy?: string } {
  if (raw === undefined || raw === null) return {};
  const text = typeof raw === 'string' ? raw : isObject(raw) ? JSON.stringify(raw) : null;
  if (text === null) {
    throw new SandboxInputError(`${where} must be a policy document or its JSON text`);
  }
  try {
    parsePolicy(text);
  } catch (error) {
    throw new SandboxInputError(
      `${where} is not a valid bucket policy: ${(error as Error).message}`,
    );
  }
  return { policy: text };
}

function parseTags(raw: unknown, where: string): { tags?: Record<string, string> } {
  if (raw === undefined || raw === null) return {};
  if (!isObject(raw) || Object.values(raw).some((v) => typeof v !== 'string')) {
    throw new SandboxInputError(`${where} must be an object of string values`);
  }
  return { tags: { ...(raw as Record<string, string>) } };
}

function parseEncryption(raw: unknown, where: string): EncryptionConfiguration | null {
  if (raw === null) return null;
  if (!isObject(raw) || !Array.isArray(raw.Rules) || raw.Rules.length === 0) {
    throw new SandboxInputError(`${where} must be null or { "Rules": [ ... ] } with one rule`);
  }
  const Rules = raw.Rules.map((rule: unknown, i: number) => {
    const at = `${where}.Rules[${i}]`;
    const apply = isObject(rule) ? rule.ApplyServerSideEncryptionByDefault : undefined;
    if (!isObject(rule) || !isObject(apply)) {
      throw new SandboxInputError(`${at} needs ApplyServerSideEncryptionByDefault`);
    }
    const algorithm = apply.SSEAlgorithm;
    if (!SSE_ALGORITHMS.includes(algorithm as (typeof SSE_ALGORITHMS)[number])) {
      throw new SandboxInputError(
        `${at}.ApplyServerSideEncryptionByDefault.SSEAlgorithm must be one of ` +
          `${SSE_ALGORITHMS.join(', ')}, got ${JSON.stringify(algorithm)}`,
      );
    }
    const key = apply.KMSMasterKeyID;
    if (key !== undefined && typeof key !== 'string') {
      throw new SandboxInputError(
        `${at}.ApplyServerSideEncryptionByDefault.KMSMasterKeyID must be a string`,
      );
    }
    const bucketKey = rule.BucketKeyEnabled ?? false;
    if (typeof bucketKey !== 'boolean') {
      throw new SandboxInputError(`${at}.BucketKeyEnabled must be true or false`);
    }
    return {
      ApplyServerSideEncryptionByDefault: {
        SSEAlgorithm: algorithm as string,
        ...(key !== undefined ? { KMSMasterKeyID: key } : {}),
      },
      BucketKeyEnabled: bucketKey,
    };
  });
  return { Rules };
}

function parsePab(raw: unknown, where: string): PublicAccessBlockConfiguration | null {
  if (raw === null) return null;
  if (!isObject(raw)) throw new SandboxInputError(`${where} must be null or an object`);
  const out = {} as PublicAccessBlockConfiguration;
  for (const flag of PAB_FLAGS) {
    const value = raw[flag] ?? false;
    if (typeof value !== 'boolean') {
      throw new SandboxInputError(
        `${where}.${flag} must be true or false, got ${JSON.stringify(value)}`,
      );
    }
    out[flag] = value;
  }
  return out;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
