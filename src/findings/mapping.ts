import type { NormalizedFinding } from '../domain/finding.ts';
import { KUBERNETES_ROWS } from './k8s/mapping-rows.ts';

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

const IAM_KEY_TYPES = ['AwsIamAccessKey', 'AwsIamUser'];
const ROTATE_KEY = 'iam.rotate-access-key';
const UNUSED_KEY = 'iam.deactivate-unused-access-key';

/**
 * IAM key checks, on both resource types: Prowler has stated each of them over time. The
 * user and key named in ASFF details, when present, go to the fix with the threshold.
 */
const iamRows = (
  origin: string,
  fixType: string,
  checkId: string,
  base: Record<string, unknown>,
): CheckMapping[] =>
  IAM_KEY_TYPES.map((resourceType) => ({
    origin,
    checkId,
    resourceType,
    fixType,
    params: (finding: NormalizedFinding) => ({ ...base, ...iamNames(finding.details) }),
  }));

function iamNames(details: Record<string, unknown> | undefined): Record<string, unknown> {
  const pick = (o: unknown, k: string) =>
    typeof o === 'object' && o !== null ? (o as Record<string, unknown>)[k] : undefined;
  const key = details?.AwsIamAccessKey;
  // A key's principal may be the root or a role, whose names are no user names.
  const type = pick(key, 'PrincipalType');
  const byPrincipal = type === undefined || type === 'IAMUser';
  const principal = byPrincipal ? pick(key, 'PrincipalName') : undefined;
  const userName = pick(details?.AwsIamUser, 'UserName') ?? principal ?? pick(key, 'UserName');
  const accessKeyId = pick(key, 'AccessKeyId');
  return {
    ...(typeof userName === 'string' && userName ? { userName } : {}),
    ...(typeof accessKeyId === 'string' && accessKeyId ? { accessKeyId } : {}),
  };
}

const rows = (
  origin: string,
  resourceType: string,
  fixType: string,
  checkIds: string[],
): CheckMapping[] => checkIds.map((checkId) => ({ origin, checkId, resourceType, fixType }));

const RDS_INSTANCE = 'AwsRdsDbInstance';

/*
 * RDS: RDS.5 Multi-AZ, RDS.11 automated backups (Security Hub's default minimum is 7
 * days, which the fix raises the retention to), RDS.3 encryption at rest, which the CIS
 * benchmarks from 1.4.0 number 2.3.1.
 */
const RDS_ROWS: CheckMapping[] = [
  ...rows('prowler', RDS_INSTANCE, 'rds.enable-multi-az', ['rds_instance_multi_az']),
  ...rows('securityhub', RDS_INSTANCE, 'rds.enable-multi-az', ['RDS.5']),
  ...rows('prowler', RDS_INSTANCE, 'rds.enable-automated-backups', ['rds_instance_backup_enabled']),
  {
    origin: 'securityhub',
    checkId: 'RDS.11',
    resourceType: RDS_INSTANCE,
    fixType: 'rds.enable-automated-backups',
    params: { minimumDays: 7 },
  },
  ...rows('prowler', RDS_INSTANCE, 'rds.enable-storage-encryption', [
    'rds_instance_storage_encrypted',
  ]),
  ...rows('securityhub', RDS_INSTANCE, 'rds.enable-storage-encryption', [
    'RDS.3',
    'CIS 1.4.0 2.3.1',
    'CIS 3.0.0 2.3.1',
  ]),
];

const SECURITY_GROUP = 'AwsEc2SecurityGroup';
const REVOKE_INGRESS = 'ec2.revoke-open-ingress';

/** Security Hub EC2.19's high-risk ports: its restricted-common-ports rule's list. */
export const EC2_19_PORTS: readonly number[] = Object.freeze([
  20, 21, 22, 23, 25, 110, 135, 143, 445, 1433, 1434, 3000, 3306, 3389, 4333, 5000, 5432, 5500,
  5601, 8080, 8088, 8888, 9200, 9300,
]);

/** Prowler's default `ec2_high_risk_ports`, checked by its high-risk-ports check. */
export const PROWLER_HIGH_RISK_PORTS: readonly number[] = Object.freeze([
  25, 110, 135, 143, 445, 3000, 4333, 5000, 5500, 8080, 8088,
]);

/** Prowler's security group checks, each about the TCP ports its name gives. */
const PROWLER_PORT_CHECKS: Readonly<Record<string, readonly number[]>> = {
  tcp_port_22: [22],
  tcp_port_3389: [3389],
  tcp_ftp_port_20_21: [20, 21],
  tcp_port_telnet_23: [23],
  tcp_port_mysql_3306: [3306],
  tcp_port_postgres_5432: [5432],
  tcp_port_redis_6379: [6379],
  tcp_port_sql_server_1433_1434: [1433, 1434],
  tcp_port_oracle_1521_2483: [1521, 2483],
  tcp_port_kafka_9092: [9092],
  tcp_port_memcached_11211: [11211],
  tcp_port_cassandra_7199_9160_8888: [7199, 9160, 8888],
  tcp_port_elasticsearch_kibana_9200_9300_5601: [9200, 9300, 5601],
  port_mongodb_27017_27018: [27017, 27018],
  high_risk_tcp_ports: PROWLER_HIGH_RISK_PORTS,
};

const ingressRow = (origin: string, checkId: string, params: Record<string, unknown>) => ({
  origin,
  checkId,
  resourceType: SECURITY_GROUP,
  fixType: REVOKE_INGRESS,
  params,
});

/*
 * Open ingress: EC2.13 (= CIS 1.2.0 4.1 = PCI.EC2.5) is port 22, EC2.14 (= CIS 1.2.0 4.2)
 * port 3389, EC2.19 its high-risk list, EC2.18 everything but the operator's authorized
 * ports. CIS rules are mapped only with the benchmark version the finding names.
 */
const EC2_ROWS: CheckMapping[] = [
  ...Object.entries(PROWLER_PORT_CHECKS).map(([suffix, ports]) =>
    ingressRow('prowler', `ec2_securitygroup_allow_ingress_from_internet_to_${suffix}`, {
      ports: [...ports],
    }),
  ),
  ingressRow('prowler', 'ec2_securitygroup_allow_ingress_from_internet_to_all_ports', {
    allPorts: true,
  }),
  ...['EC2.13', 'PCI.EC2.5', 'CIS 1.2.0 4.1'].map((id) =>
    ingressRow('securityhub', id, { ports: [22] }),
  ),
  ...['EC2.14', 'CIS 1.2.0 4.2'].map((id) => ingressRow('securityhub', id, { ports: [3389] })),
  ingressRow('securityhub', 'EC2.19', { ports: [...EC2_19_PORTS] }),
  ingressRow('securityhub', 'EC2.18', { allBut: 'authorized' }),
];

/*
 * Security Hub ids: the consolidated control ids, plus the PCI DSS v3.2.1 ids that old
 * standard-specific findings carry without a SecurityControlId (PCI.S3.1 is public
 * write = S3.3, PCI.S3.2 public read = S3.2, PCI.S3.4 encryption = S3.4). S3.1 and
 * PCI.S3.6 are the account-level block and have no bucket fix. CIS rules appear only
 * qualified with their benchmark version (`CIS 1.2.0 4.1`), as the ASFF reader names
 * them: a bare number means different checks in different versions.
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
  // IAM.3 = CIS 1.2.0 1.4 = CIS 1.4.0/3.0.0 1.14; IAM.8 = CIS 1.2.0 1.3 (90 days);
  // IAM.22 = CIS 1.4.0/3.0.0 1.12 (45 days).
  ...iamRows('prowler', ROTATE_KEY, 'iam_rotate_access_key_90_days', { maxAgeDays: 90 }),
  ...['IAM.3', 'CIS 1.2.0 1.4', 'CIS 1.4.0 1.14', 'CIS 3.0.0 1.14'].flatMap((id) =>
    iamRows('securityhub', ROTATE_KEY, id, { maxAgeDays: 90 }),
  ),
  ...iamRows('prowler', UNUSED_KEY, 'iam_user_accesskey_unused', { unusedDays: 45 }),
  ...['IAM.8', 'CIS 1.2.0 1.3'].flatMap((id) =>
    iamRows('securityhub', UNUSED_KEY, id, { unusedDays: 90 }),
  ),
  ...['IAM.22', 'CIS 1.4.0 1.12', 'CIS 3.0.0 1.12'].flatMap((id) =>
    iamRows('securityhub', UNUSED_KEY, id, { unusedDays: 45 }),
  ),
  ...EC2_ROWS,
  ...RDS_ROWS,
  ...KUBERNETES_ROWS,
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
