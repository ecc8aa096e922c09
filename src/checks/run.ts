import type { FindingReport, Remedy } from '../domain/finding.ts';
import type { Severity } from '../domain/status.ts';
import type {
  AwsAccountConfig,
  DiscoveredResource,
  Ec2InstanceConfig,
  IamAccessKeyConfig,
  KubeNamespaceConfig,
  KubeWorkloadConfig,
  RdsDbInstanceConfig,
  S3BucketConfig,
  SecurityGroupConfig,
  SecurityGroupRule,
} from '../inventory/types.ts';
import { allTraffic } from '../drift/rules.ts';
import { findingResource } from './resource.ts';
import { DEFAULT_CHECK_SETTINGS, type CheckSettings } from './settings.ts';

export const CHECKS_ORIGIN = 'infraudit-checks';

/** What one check says about one resource. */
interface Verdict {
  failed: boolean;
  /** What was seen, kept as the finding's evidence. */
  evidence?: Record<string, unknown>;
  /** The fix's parameters when they depend on what was seen. */
  params?: Record<string, unknown>;
  /** A title naming the particulars, when failed. */
  detail?: string;
}

/** One built-in check; docs/checks.md lists them all. */
export interface Check {
  id: string;
  resourceTypes: readonly string[];
  title: string;
  description: string;
  severity: Severity;
  /**
   * The catalog fix that makes the resource pass; null for a recommendation only a person
   * can act on (its failed report carries no remedy).
   */
  fixType: string | null;
  /** undefined when the check does not apply to this resource as it is. */
  evaluate(resource: DiscoveredResource, settings: CheckSettings, now: Date): Verdict | undefined;
}

const WORLD_V4 = '0.0.0.0/0';
const WORLD_V6 = '::/0';
const DAY_MS = 86_400_000;
const POD_SECURITY_ENFORCE = 'pod-security.kubernetes.io/enforce';

const WORKLOAD_TYPES = ['KubernetesDeployment', 'KubernetesStatefulSet', 'KubernetesDaemonSet'];

/** The sensitive ports an internet-open rule lets in. */
function openSensitivePorts(rule: SecurityGroupRule, sensitive: readonly number[]): number[] {
  if (rule.cidrIpv4 !== WORLD_V4 && rule.cidrIpv6 !== WORLD_V6) return [];
  if (rule.protocol === '-1') return [...sensitive];
  if (rule.protocol !== 'tcp' && rule.protocol !== '6') return [];
  const from = rule.fromPort ?? 0;
  const to = rule.toPort ?? 65535;
  return sensitive.filter((p) => p >= from && p <= to);
}

function ageDays(iso: string | null, now: Date): number | null {
  if (!iso) return null;
  const at = Date.parse(iso);
  return Number.isNaN(at) ? null : Math.floor((now.getTime() - at) / DAY_MS);
}

const list = (items: readonly (string | number)[]) => items.join(', ');

/**
 * A resource whose fix refuses by design passes, with the reason as evidence: a failure
 * could lead to no action, and a finding an earlier scan opened for it resolves.
 */
const outOfReach = (reason: string, seen: Record<string, unknown>): Verdict => ({
  failed: false,
  evidence: { ...seen, notFixable: reason },
});

/** Multi-AZ, backups and storage encryption of an Aurora member are the cluster's. */
function auroraMember(config: RdsDbInstanceConfig): Verdict | undefined {
  if (!config.dbClusterIdentifier) return undefined;
  return outOfReach(
    `a member of Aurora cluster ${config.dbClusterIdentifier}, which owns this setting`,
    { dbClusterIdentifier: config.dbClusterIdentifier },
  );
}

/** IAM refuses everyone but the root user itself a change to the root user's keys. */
/**
 * The verdict of an access key check before its age matters: an inactive key passes, and the
 * root user's key is out of reach; undefined for a key the check judges by age.
 */
function keyVerdict(config: IamAccessKeyConfig): Verdict | undefined {
  if (config.status !== 'Active') return { failed: false };
  if (!config.userArn?.endsWith(':root')) return undefined;
  return outOfReach("the account root user's key, which only the root user can change", {
    userArn: config.userArn,
  });
}

export const CHECKS: readonly Check[] = [
  {
    id: 'ec2-open-sensitive-port',
    resourceTypes: ['AwsEc2SecurityGroup'],
    title: 'Security group allows internet ingress to sensitive ports',
    description:
      'An ingress rule lets 0.0.0.0/0 or ::/0 reach a port from the sensitive ports setting ' +
      '(remote administration, file sharing, databases, caches, queues).',
    severity: 'high',
    fixType: 'ec2.revoke-open-ingress',
    evaluate(resource, settings) {
      const config = resource.config as unknown as SecurityGroupConfig;
      const rules = (config.ingress ?? []).filter(
        (rule) => openSensitivePorts(rule, settings.sensitivePorts).length > 0,
      );
      const ports = [
        ...new Set(rules.flatMap((rule) => openSensitivePorts(rule, settings.sensitivePorts))),
      ].sort((a, b) => a - b);
      // The ports list also reaches all-traffic rules and ranges covering them, so it is
      // the parameter either way; only the title says a rule opens everything.
      const everything = rules.some(allTraffic);
      return {
        failed: rules.length > 0,
        evidence: { openRules: rules, ports },
        params: { ports },
        detail: everything
          ? 'every port open to the internet'
          : `${ports.length === 1 ? 'port' : 'ports'} ${list(ports)} open to the internet`,
      };
    },
  },
  {
    id: 'iam-access-key-rotation',
    resourceTypes: ['AwsIamAccessKey'],
    title: 'Access key older than the rotation age',
    description: 'An active access key was created more than keyRotationDays days ago.',
    severity: 'medium',
    fixType: 'iam.rotate-access-key',
    evaluate(resource, settings, now) {
      const config = resource.config as unknown as IamAccessKeyConfig;
      const verdict = keyVerdict(config);
      if (verdict) return verdict;
      const age = ageDays(config.created, now);
      if (age === null) return undefined;
      return {
        failed: age > settings.keyRotationDays,
        evidence: { created: config.created, ageDays: age, maxAgeDays: settings.keyRotationDays },
        params: {
          maxAgeDays: settings.keyRotationDays,
          userName: config.userName,
          accessKeyId: config.accessKeyId,
        },
        detail: `key ${config.accessKeyId} of ${config.userName} is ${age} days old`,
      };
    },
  },
  {
    id: 'iam-access-key-unused',
    resourceTypes: ['AwsIamAccessKey'],
    title: 'Active access key unused past the allowed days',
    description:
      'An active access key has not been used for keyUnusedDays days, or was never used and ' +
      'is older than that.',
    severity: 'medium',
    fixType: 'iam.deactivate-unused-access-key',
    evaluate(resource, settings, now) {
      const config = resource.config as unknown as IamAccessKeyConfig;
      const verdict = keyVerdict(config);
      if (verdict) return verdict;
      const idle = ageDays(config.lastUsed ?? config.created, now);
      if (idle === null) return undefined;
      return {
        failed: idle > settings.keyUnusedDays,
        evidence: {
          created: config.created,
          lastUsed: config.lastUsed,
          idleDays: idle,
          unusedDays: settings.keyUnusedDays,
        },
        params: {
          unusedDays: settings.keyUnusedDays,
          userName: config.userName,
          accessKeyId: config.accessKeyId,
        },
        detail: config.lastUsed
          ? `key ${config.accessKeyId} of ${config.userName} unused for ${idle} days`
          : `key ${config.accessKeyId} of ${config.userName} never used in ${idle} days`,
      };
    },
  },
  {
    id: 'rds-multi-az',
    resourceTypes: ['AwsRdsDbInstance'],
    title: 'Database instance runs in a single Availability Zone',
    description: 'The instance is not Multi-AZ, so a zone outage takes it down.',
    severity: 'medium',
    fixType: 'rds.enable-multi-az',
    evaluate(resource) {
      const config = resource.config as unknown as RdsDbInstanceConfig;
      const member = auroraMember(config);
      if (member) return member;
      if (config.engine === 'sqlserver-ex') {
        return outOfReach('SQL Server Express Edition has no Multi-AZ deployment', {
          engine: config.engine,
        });
      }
      return { failed: config.multiAZ !== true, evidence: { multiAZ: config.multiAZ } };
    },
  },
  {
    id: 'rds-automated-backups',
    resourceTypes: ['AwsRdsDbInstance'],
    title: 'Database instance has automated backups off',
    description: 'The backup retention period is 0 days: no automated backups are kept.',
    severity: 'high',
    fixType: 'rds.enable-automated-backups',
    evaluate(resource) {
      const config = resource.config as unknown as RdsDbInstanceConfig;
      const member = auroraMember(config);
      if (member) return member;
      const retention = Number(config.backupRetentionPeriod ?? 0);
      return { failed: retention < 1, evidence: { backupRetentionPeriod: retention } };
    },
  },
  {
    id: 'rds-storage-encrypted',
    resourceTypes: ['AwsRdsDbInstance'],
    title: 'Database instance storage is not encrypted',
    description: 'The instance stores its data unencrypted at rest.',
    severity: 'high',
    fixType: 'rds.enable-storage-encryption',
    evaluate(resource) {
      const config = resource.config as unknown as RdsDbInstanceConfig;
      const member = auroraMember(config);
      if (member) return member;
      return {
        failed: config.storageEncrypted !== true,
        evidence: { storageEncrypted: config.storageEncrypted },
      };
    },
  },
  {
    id: 'ec2-termination-protection',
    resourceTypes: ['AwsEc2Instance'],
    title: 'Instance has termination protection off',
    description: 'The instance can be terminated through the API without a further step.',
    severity: 'low',
    fixType: 'ec2.enable-termination-protection',
    evaluate(resource) {
      const state = (resource.config as Partial<Ec2InstanceConfig>).state;
      if (state === 'terminated' || state === 'shutting-down') {
        return outOfReach(`the instance is ${state}, and EC2 changes no attribute of it`, {
          state,
        });
      }
      const value = resource.config.disableApiTermination;
      if (value === null || value === undefined) return undefined;
      return { failed: value !== true, evidence: { disableApiTermination: value } };
    },
  },
  {
    id: 'k8s-workload-resources',
    resourceTypes: WORKLOAD_TYPES,
    title: 'Workload containers without CPU and memory requests and limits',
    description:
      'A container (init containers included) lacks a CPU or memory request or limit, so one ' +
      'pod can starve its neighbours.',
    severity: 'medium',
    fixType: 'k8s.set-resource-limits',
    evaluate(resource) {
      const config = resource.config as unknown as KubeWorkloadConfig;
      const missing: Record<string, string[]> = {};
      for (const container of config.containers ?? []) {
        const gaps: string[] = [];
        for (const kind of ['requests', 'limits'] as const) {
          for (const name of ['cpu', 'memory']) {
            if (!container.resources?.[kind]?.[name]) gaps.push(`${kind}.${name}`);
          }
        }
        if (gaps.length) missing[container.name] = gaps;
      }
      const names = Object.keys(missing);
      return {
        failed: names.length > 0,
        evidence: { missing },
        detail: `containers ${list(names)} lack requests or limits`,
      };
    },
  },
  {
    id: 'k8s-namespace-pod-security',
    resourceTypes: ['KubernetesNamespace'],
    title: 'Namespace without a Pod Security Admission enforce label',
    description: `The namespace has no ${POD_SECURITY_ENFORCE} label, so any pod is admitted.`,
    severity: 'medium',
    fixType: 'k8s.enforce-pod-security',
    evaluate(resource, settings) {
      const config = resource.config as unknown as KubeNamespaceConfig;
      if (settings.podSecurityExemptNamespaces.includes(config.name ?? resource.name)) {
        return undefined;
      }
      const level = config.labels?.[POD_SECURITY_ENFORCE];
      return { failed: !level, evidence: { enforce: level ?? null } };
    },
  },
  {
    id: 's3-default-encryption',
    resourceTypes: ['AwsS3Bucket'],
    title: 'Bucket has no default encryption',
    description: 'New objects are stored unencrypted unless each upload asks otherwise.',
    severity: 'medium',
    fixType: 's3.enable-default-encryption',
    evaluate(resource) {
      const config = resource.config as unknown as S3BucketConfig;
      const rules = config.encryption?.rules ?? [];
      return { failed: rules.length === 0, evidence: { encryption: config.encryption } };
    },
  },
  {
    id: 's3-public-access-block',
    resourceTypes: ['AwsS3Bucket'],
    title: 'Bucket public access block is off or incomplete',
    description:
      'Not all four settings of the bucket public access block are on, so an ACL or policy ' +
      'can make the bucket public.',
    severity: 'high',
    fixType: 's3.block-public-access',
    evaluate(resource) {
      const config = resource.config as unknown as S3BucketConfig;
      const block = config.publicAccessBlock;
      const off = block
        ? Object.entries(block)
            .filter(([, on]) => on !== true)
            .map(([name]) => name)
        : ['blockPublicAcls', 'ignorePublicAcls', 'blockPublicPolicy', 'restrictPublicBuckets'];
      return {
        failed: off.length > 0,
        evidence: { publicAccessBlock: block },
        detail: block ? `${list(off)} off` : 'no public access block',
      };
    },
  },
  {
    id: 's3-bucket-policy-public',
    resourceTypes: ['AwsS3Bucket'],
    title: 'Bucket is public through its bucket policy',
    description:
      'The bucket policy grants access to anyone (S3 reports the bucket public through its ' +
      'policy). Whether that is intended, and which statement to narrow, is for a person to ' +
      'decide: no fix changes a bucket policy.',
    severity: 'critical',
    fixType: null,
    evaluate(resource) {
      const config = resource.config as unknown as S3BucketConfig;
      const isPublic = config.policyStatus?.isPublic === true;
      return { failed: isPublic, evidence: { policyStatus: config.policyStatus ?? null } };
    },
  },
  {
    id: 'iam-root-access-keys',
    resourceTypes: ['AwsAccount'],
    title: 'Account root user has access keys',
    description:
      'The root user, which no policy can restrict, has access keys (IAM GetAccountSummary ' +
      'AccountAccessKeysPresent). Only the root user can delete them: sign in as root, ' +
      'delete the keys and use IAM users or roles instead.',
    severity: 'critical',
    fixType: null,
    evaluate(resource) {
      const config = resource.config as unknown as AwsAccountConfig;
      return {
        failed: config.accountAccessKeysPresent === true,
        evidence: { accountAccessKeysPresent: config.accountAccessKeysPresent },
      };
    },
  },
  {
    id: 's3-versioning',
    resourceTypes: ['AwsS3Bucket'],
    title: 'Bucket versioning is not enabled',
    description: 'Overwritten or deleted objects cannot be recovered.',
    severity: 'low',
    fixType: 's3.enable-versioning',
    evaluate(resource) {
      const config = resource.config as unknown as S3BucketConfig;
      const status = config.versioning?.status ?? null;
      return { failed: status !== 'Enabled', evidence: { versioning: status } };
    },
  },
];

export interface CheckOptions {
  settings?: CheckSettings;
  /** The time ages are judged at. */
  now?: Date;
}

/**
 * Every built-in check on every resource it applies to: a failed report for each problem
 * and a passed one for each resource that is in order, so a problem fixed since the last
 * scan resolves. Pure: the same resources and options give the same reports.
 */
export function runChecks(
  resources: DiscoveredResource[],
  options: CheckOptions = {},
): FindingReport[] {
  const settings = options.settings ?? DEFAULT_CHECK_SETTINGS;
  const now = options.now ?? new Date();
  const reports: FindingReport[] = [];
  for (const resource of resources) {
    for (const check of CHECKS) {
      if (!check.resourceTypes.includes(resource.type)) continue;
      const verdict = check.evaluate(resource, settings, now);
      if (verdict) reports.push(reportOf(check, resource, verdict));
    }
  }
  return reports;
}

function reportOf(check: Check, resource: DiscoveredResource, verdict: Verdict): FindingReport {
  const remedy: Remedy | null = check.fixType
    ? { type: check.fixType, params: verdict.params ?? {} }
    : null;
  return {
    kind: 'recommendation',
    origin: CHECKS_ORIGIN,
    key: `${check.id}|${resource.id}`,
    checkId: check.id,
    title:
      verdict.failed && verdict.detail
        ? `${check.title}: ${resource.name} (${verdict.detail})`
        : `${check.title}: ${resource.name}`,
    description: check.description,
    severity: check.severity,
    resource: findingResource(resource),
    state: verdict.failed ? 'failed' : 'passed',
    evidence: verdict.evidence ?? null,
    remedy: verdict.failed ? remedy : null,
  };
}
