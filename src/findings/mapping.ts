import type { NormalizedFinding } from '../domain/finding.ts';

/**
 * Which catalog fix answers which scanner check. One row per (origin, check, resource
 * type): a check maps to a fix only for the resource type that fix acts on, so a check
 * that also fires on accounts or access points stays unsupported there.
 */
export interface CheckMapping {
  /** `source.origin` of the finding: `prowler` or `securityhub`. */
  origin: string;
  /** `source.checkId`: a Prowler check id or a Security Hub control id. */
  checkId: string;
  /** The Security Hub resource type the fix acts on. */
  resourceType: string;
  /** Catalog fix type. */
  fixType: string;
  /** What the fix is asked to do for this check, e.g. `{ ports: [22] }`. */
  params?: Record<string, unknown> | ((finding: NormalizedFinding) => Record<string, unknown>);
}

/** The fix a finding calls for, and what the fix is asked to do. */
export interface FixRequest {
  type: string;
  params: Record<string, unknown>;
}

const S3_BUCKET = 'AwsS3Bucket';
const ENCRYPTION = 's3.enable-default-encryption';
const PUBLIC_ACCESS = 's3.block-public-access';
const VERSIONING = 's3.enable-versioning';

const rows = (
  origin: string,
  resourceType: string,
  fixType: string,
  checkIds: string[],
): CheckMapping[] => checkIds.map((checkId) => ({ origin, checkId, resourceType, fixType }));

/*
 * Security Hub ids: the consolidated control ids, plus the PCI DSS v3.2.1 ids that old
 * standard-specific findings carry without a SecurityControlId (PCI.S3.1 is public
 * write = S3.3, PCI.S3.2 public read = S3.2, PCI.S3.4 encryption = S3.4). S3.1 and
 * PCI.S3.6 are the account-level block and have no bucket fix. CIS numbers are left
 * out: they differ between benchmark versions, and CIS findings carry the
 * consolidated id too.
 */
export const CHECK_MAPPINGS: readonly CheckMapping[] = Object.freeze([
  ...rows('prowler', S3_BUCKET, ENCRYPTION, ['s3_bucket_default_encryption']),
  ...rows('securityhub', S3_BUCKET, ENCRYPTION, ['S3.4', 'PCI.S3.4']),
  ...rows('prowler', S3_BUCKET, PUBLIC_ACCESS, [
    's3_bucket_level_public_access_block',
    's3_bucket_public_access',
  ]),
  ...rows('securityhub', S3_BUCKET, PUBLIC_ACCESS, [
    'S3.8',
    'S3.2',
    'S3.3',
    'PCI.S3.1',
    'PCI.S3.2',
  ]),
  ...rows('prowler', S3_BUCKET, VERSIONING, ['s3_bucket_object_versioning']),
  ...rows('securityhub', S3_BUCKET, VERSIONING, ['S3.14']),
]);

const BY_CHECK = new Map<string, CheckMapping[]>();
for (const row of CHECK_MAPPINGS) {
  const key = `${row.origin}\u0000${row.checkId}`;
  BY_CHECK.set(key, [...(BY_CHECK.get(key) ?? []), row]);
}

/** Every check id some fix answers, Prowler's and Security Hub's. */
export const SUPPORTED_CHECK_IDS: readonly string[] = Object.freeze([
  ...new Set(CHECK_MAPPINGS.map((row) => row.checkId)),
]);

/**
 * The catalog fix for a finding's check on its resource, or undefined when none
 * applies. Says nothing about the finding's status: callers decide what to do with
 * passed findings.
 */
export function fixTypeFor(finding: NormalizedFinding): string | undefined {
  return fixRequestFor(finding)?.type;
}

/** Like `fixTypeFor`, with the parameters the check implies. */
export function fixRequestFor(finding: NormalizedFinding): FixRequest | undefined {
  const candidates = BY_CHECK.get(`${finding.source.origin}\u0000${finding.source.checkId}`);
  const row = candidates?.find((r) => r.resourceType === finding.resource.type);
  if (!row) return undefined;
  const params = typeof row.params === 'function' ? row.params(finding) : (row.params ?? {});
  return { type: row.fixType, params };
}
