import { DEFAULT_SENSITIVE_PORTS } from '../checks/settings.ts';
import type { DriftType } from '../domain/finding.ts';
import type { Severity } from '../domain/status.ts';
import type { RawChange } from './diff.ts';

export interface Classification {
  driftType: DriftType;
  severity: Severity;
}

/** What the drift rules judge by beyond the change itself: the checks' settings they share. */
export interface DriftSettings {
  /** TCP ports that must not be open to the internet (the `sensitivePorts` check setting). */
  sensitivePorts: readonly number[];
}

export const DEFAULT_DRIFT_SETTINGS: DriftSettings = Object.freeze({
  sensitivePorts: DEFAULT_SENSITIVE_PORTS,
});

/**
 * One row of the drift table (docs/drift.md mirrors it). `at` is the change's key path with
 * array identities left out (`ingress`, `containers.resources.limits.cpu`), matched whole.
 */
interface Rule {
  types: readonly string[] | '*';
  at: RegExp;
  /** Further condition on the values; the row applies when it holds. */
  when?: (change: RawChange, settings: DriftSettings) => boolean;
  driftType: DriftType;
  severity: Severity;
}

const WORLD = new Set(['0.0.0.0/0', '::/0']);

const obj = (value: unknown): Record<string, unknown> =>
  typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : {};

/** A rule element that the live configuration added and that opens to the whole internet. */
function openedToWorld(change: RawChange): Record<string, unknown> | null {
  if (change.before !== null) return null;
  const rule = obj(change.after);
  return WORLD.has(String(rule.cidrIpv4)) || WORLD.has(String(rule.cidrIpv6)) ? rule : null;
}

/** True when the rule lets every protocol, or every TCP port, in. */
export function allTraffic(rule: {
  protocol?: unknown;
  fromPort?: unknown;
  toPort?: unknown;
}): boolean {
  if (rule.protocol === '-1') return true;
  return rule.protocol === 'tcp' && rule.fromPort === 0 && rule.toPort === 65535;
}

function coversSensitivePort(rule: Record<string, unknown>, sensitive: readonly number[]): boolean {
  if (allTraffic(rule)) return true;
  const from = Number(rule.fromPort);
  const to = Number(rule.toPort);
  const tcp = rule.protocol === 'tcp' || rule.protocol === '6';
  return tcp && sensitive.some((p) => p >= from && p <= to);
}

const weakened = (c: RawChange) => c.before === true && c.after !== true;
const turnedOn = (c: RawChange) => c.before !== true && c.after === true;
const turnedOff = weakened;
const removed = (c: RawChange) => c.before !== null && c.after === null;
const publicGrantee = (c: RawChange) =>
  c.before === null && /AllUsers|AuthenticatedUsers/.test(String(obj(c.after).grantee));

const S3 = ['AwsS3Bucket'];
const SG = ['AwsEc2SecurityGroup'];
const EC2 = ['AwsEc2Instance'];
const IAM = ['AwsIamUser', 'AwsIamAccessKey'];
const RDS = ['AwsRdsDbInstance'];
const WORKLOADS = ['KubernetesDeployment', 'KubernetesStatefulSet', 'KubernetesDaemonSet'];
const NAMESPACE = ['KubernetesNamespace'];

/** First matching row wins; a change no row matches is a low configuration drift. */
export const DRIFT_RULES: readonly Rule[] = [
  // S3
  {
    types: S3,
    at: /^publicAccessBlock\.\w+$/,
    when: weakened,
    driftType: 'security',
    severity: 'critical',
  },
  { types: S3, at: /^publicAccessBlock\.\w+$/, driftType: 'security', severity: 'low' },
  {
    types: S3,
    at: /^policyStatus\.isPublic$/,
    when: turnedOn,
    driftType: 'security',
    severity: 'critical',
  },
  {
    types: S3,
    at: /^acl\.grants$/,
    when: publicGrantee,
    driftType: 'security',
    severity: 'critical',
  },
  { types: S3, at: /^acl\./, driftType: 'security', severity: 'medium' },
  {
    types: S3,
    at: /^encryption\.rules$/,
    when: removed,
    driftType: 'compliance',
    severity: 'high',
  },
  { types: S3, at: /^encryption\./, driftType: 'compliance', severity: 'medium' },
  {
    types: S3,
    at: /^versioning\.(status|mfaDelete)$/,
    when: (c) => c.before === 'Enabled',
    driftType: 'compliance',
    severity: 'medium',
  },
  // Security groups
  {
    types: SG,
    at: /^ingress$/,
    when: (c) => openedToWorld(c) !== null && allTraffic(openedToWorld(c)!),
    driftType: 'security',
    severity: 'critical',
  },
  {
    types: SG,
    at: /^ingress$/,
    when: (c, settings) =>
      openedToWorld(c) !== null && coversSensitivePort(openedToWorld(c)!, settings.sensitivePorts),
    driftType: 'security',
    severity: 'high',
  },
  {
    types: SG,
    at: /^ingress$/,
    when: (c) => openedToWorld(c) !== null,
    driftType: 'security',
    severity: 'medium',
  },
  {
    types: SG,
    at: /^(ingress|egress)$/,
    when: (c) => c.before === null,
    driftType: 'security',
    severity: 'low',
  },
  { types: SG, at: /^(ingress|egress)$/, driftType: 'security', severity: 'low' },
  // EC2 instances
  { types: EC2, at: /^instanceType$/, driftType: 'configuration', severity: 'medium' },
  { types: EC2, at: /^imageId$/, driftType: 'configuration', severity: 'medium' },
  {
    types: EC2,
    at: /^metadataHttpTokens$/,
    when: (c) => c.before === 'required',
    driftType: 'security',
    severity: 'high',
  },
  {
    types: EC2,
    at: /^(securityGroups|iamInstanceProfile)$/,
    driftType: 'security',
    severity: 'medium',
  },
  {
    types: EC2,
    at: /^disableApiTermination$/,
    when: turnedOff,
    driftType: 'configuration',
    severity: 'low',
  },
  // IAM
  {
    types: IAM,
    at: /^attachedPolicies$/,
    when: (c) => c.before === null && /AdministratorAccess$/.test(String(obj(c.after).policyArn)),
    driftType: 'security',
    severity: 'high',
  },
  {
    types: IAM,
    at: /^(attachedPolicies|inlinePolicies)$/,
    when: (c) => c.before === null,
    driftType: 'security',
    severity: 'medium',
  },
  {
    types: IAM,
    at: /^accessKeys$/,
    when: (c) => c.before === null,
    driftType: 'security',
    severity: 'medium',
  },
  {
    types: IAM,
    at: /^(accessKeys\.)?status$/,
    when: (c) => c.after === 'Active',
    driftType: 'security',
    severity: 'medium',
  },
  {
    types: IAM,
    at: /^(attachedPolicies|inlinePolicies|accessKeys)/,
    driftType: 'security',
    severity: 'low',
  },
  // The account
  {
    types: ['AwsAccount'],
    at: /^accountAccessKeysPresent$/,
    when: turnedOn,
    driftType: 'security',
    severity: 'critical',
  },
  // RDS
  {
    types: RDS,
    at: /^publiclyAccessible$/,
    when: turnedOn,
    driftType: 'security',
    severity: 'critical',
  },
  {
    types: RDS,
    at: /^storageEncrypted$/,
    when: turnedOff,
    driftType: 'compliance',
    severity: 'high',
  },
  {
    types: RDS,
    at: /^backupRetentionPeriod$/,
    when: (c) => Number(c.before) > 0 && Number(c.after) === 0,
    driftType: 'compliance',
    severity: 'high',
  },
  {
    types: RDS,
    at: /^backupRetentionPeriod$/,
    when: (c) => Number(c.after) < Number(c.before),
    driftType: 'compliance',
    severity: 'medium',
  },
  { types: RDS, at: /^multiAZ$/, when: turnedOff, driftType: 'compliance', severity: 'medium' },
  {
    types: RDS,
    at: /^deletionProtection$/,
    when: turnedOff,
    driftType: 'security',
    severity: 'medium',
  },
  { types: RDS, at: /^vpcSecurityGroupIds$/, driftType: 'security', severity: 'medium' },
  { types: RDS, at: /^dbInstanceClass$/, driftType: 'configuration', severity: 'medium' },
  // Kubernetes workloads
  {
    types: WORKLOADS,
    at: /^containers\.securityContext\.privileged$/,
    when: turnedOn,
    driftType: 'security',
    severity: 'critical',
  },
  {
    types: WORKLOADS,
    at: /^host(Network|PID|IPC)$/,
    when: turnedOn,
    driftType: 'security',
    severity: 'high',
  },
  {
    types: WORKLOADS,
    at: /^(containers\.securityContext|podSecurityContext|serviceAccountName)/,
    driftType: 'security',
    severity: 'medium',
  },
  {
    types: WORKLOADS,
    at: /^containers\.resources\.(limits|requests)/,
    when: (c) => c.before !== null && c.after === null,
    driftType: 'compliance',
    severity: 'medium',
  },
  { types: WORKLOADS, at: /^containers\.image$/, driftType: 'configuration', severity: 'medium' },
  {
    types: WORKLOADS,
    at: /^containers$/,
    when: (c) => c.before === null,
    driftType: 'configuration',
    severity: 'medium',
  },
  // Namespaces
  {
    types: NAMESPACE,
    at: /^labels\.pod-security\.kubernetes\.io\/enforce$/,
    when: (c) => c.after === null || levelRank(c.after) < levelRank(c.before),
    driftType: 'compliance',
    severity: 'high',
  },
  {
    types: NAMESPACE,
    at: /^labels\.pod-security\.kubernetes\.io\//,
    driftType: 'compliance',
    severity: 'low',
  },
  // Tags, labels and annotations anywhere
  {
    types: '*',
    at: /^(tags|labels|annotations)(\.|$)/,
    driftType: 'configuration',
    severity: 'low',
  },
];

function levelRank(level: unknown): number {
  return ['privileged', 'baseline', 'restricted'].indexOf(String(level));
}

/** The change's key path without array identities, as the rules match it. */
export function keyPathOf(change: RawChange): string {
  return change.segments.join('.');
}

export function classify(
  type: string,
  change: RawChange,
  settings: DriftSettings = DEFAULT_DRIFT_SETTINGS,
): Classification {
  const at = keyPathOf(change);
  for (const rule of DRIFT_RULES) {
    if (rule.types !== '*' && !rule.types.includes(type)) continue;
    if (!rule.at.test(at)) continue;
    if (rule.when && !rule.when(change, settings)) continue;
    return { driftType: rule.driftType, severity: rule.severity };
  }
  return { driftType: 'configuration', severity: 'low' };
}
