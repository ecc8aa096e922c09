/**
 * Whether a bucket policy makes its bucket public, as S3 judges it for GetBucketPolicyStatus
 * and BlockPublicPolicy ("The meaning of public" in the S3 user guide): a statement that
 * allows a wildcard principal is public unless a condition pins it to fixed, non-wildcard
 * values of a key that narrows who can reach it (a source address, VPC, account, ARN or
 * organization).
 */
export function isPublicPolicy(policy: unknown): boolean {
  const statements = asList(record(policy).Statement);
  return statements.some((s) => {
    const statement = record(s);
    if (statement.Effect !== 'Allow') return false;
    if (statement.NotPrincipal !== undefined) return true;
    if (!wildcardPrincipal(statement.Principal)) return false;
    return !narrowedByCondition(statement.Condition);
  });
}

/** Condition keys whose fixed values narrow a wildcard principal to known callers. */
const NARROWING_KEYS = new Set(
  [
    'aws:SourceArn',
    'aws:SourceVpc',
    'aws:SourceVpce',
    'aws:SourceAccount',
    'aws:SourceOwner',
    'aws:SourceOrgID',
    'aws:PrincipalAccount',
    'aws:PrincipalArn',
    'aws:PrincipalOrgID',
    'aws:userid',
    's3:DataAccessPointArn',
    's3:DataAccessPointAccount',
  ].map((k) => k.toLowerCase()),
);

const SOURCE_IP = 'aws:sourceip';

function wildcardPrincipal(principal: unknown): boolean {
  if (principal === '*') return true;
  const aws = record(principal).AWS;
  return asList(aws).some((p) => p === '*');
}

function narrowedByCondition(condition: unknown): boolean {
  for (const [operator, keys] of Object.entries(record(condition))) {
    // A condition that matches when a key is absent or any value matches narrows nothing.
    if (/IfExists$/.test(operator) || /^ForAnyValue:/i.test(operator)) continue;
    for (const [key, raw] of Object.entries(record(keys))) {
      const values = asList(raw).map(String);
      if (values.length === 0) continue;
      const lower = key.toLowerCase();
      if (lower === SOURCE_IP && /IpAddress$/.test(operator) && !/^Not/.test(operator)) {
        if (values.every((v) => !/\/0$/.test(v))) return true;
        continue;
      }
      if (!NARROWING_KEYS.has(lower)) continue;
      if (/^(StringEquals|StringEqualsIgnoreCase|ArnEquals|StringLike|ArnLike)$/.test(operator)) {
        if (values.every((v) => !/[*?]/.test(v))) return true;
      }
    }
  }
  return false;
}

function record(value: unknown): Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : {};
}

function asList(value: unknown): unknown[] {
  if (value === undefined || value === null) return [];
  return Array.isArray(value) ? value : [value];
}
