import { invalidInput } from './errors.ts';

/**
 * Operator choices that shape what some fixes do. They are stored with the settings,
 * changed through the API and CLI, and copied into each plan when it is made, so an
 * action runs with the options its approver saw.
 */
export interface FixOptions {
  /** Ports that stay open to the internet when a finding is about "all but the authorized". */
  ec2AuthorizedPorts: number[];
  /** RDS changes now, or at the next maintenance window. */
  rdsApplyImmediately: boolean;
  /** Automated backup retention set by `rds.enable-automated-backups`, 1 to 35 days. */
  rdsBackupRetentionDays: number;
  /** KMS key for the encrypted copy made by `rds.enable-storage-encryption`. */
  rdsKmsKeyId: string;
  /** Requests and limits given to containers that have none (Kubernetes quantities). */
  k8sCpuRequest: string;
  k8sMemoryRequest: string;
  k8sCpuLimit: string;
  k8sMemoryLimit: string;
  /** Pod Security Admission level enforced by `k8s.enforce-pod-security`. */
  k8sPodSecurityLevel: 'privileged' | 'baseline' | 'restricted';
  /** Pod Security Standards version, `latest` or `v1.N`. */
  k8sPodSecurityVersion: string;
}

export const DEFAULT_FIX_OPTIONS: FixOptions = Object.freeze({
  ec2AuthorizedPorts: [80, 443],
  rdsApplyImmediately: false,
  rdsBackupRetentionDays: 7,
  rdsKmsKeyId: 'alias/aws/rds',
  k8sCpuRequest: '100m',
  k8sMemoryRequest: '128Mi',
  k8sCpuLimit: '500m',
  k8sMemoryLimit: '512Mi',
  k8sPodSecurityLevel: 'baseline',
  k8sPodSecurityVersion: 'latest',
}) as FixOptions;

const QUANTITY = /^([0-9]+(\.[0-9]+)?)(m|k|M|G|T|Ki|Mi|Gi|Ti)?$/;

type Check = (value: unknown) => string | null;

const CHECKS: Record<keyof FixOptions, Check> = {
  ec2AuthorizedPorts: (v) =>
    Array.isArray(v) &&
    v.every((p) => Number.isInteger(p) && p >= 0 && p <= 65535) &&
    new Set(v).size === v.length
      ? null
      : 'a list of distinct port numbers from 0 to 65535',
  rdsApplyImmediately: (v) => (typeof v === 'boolean' ? null : 'true or false'),
  rdsBackupRetentionDays: (v) =>
    Number.isInteger(v) && (v as number) >= 1 && (v as number) <= 35
      ? null
      : 'a whole number of days from 1 to 35',
  rdsKmsKeyId: (v) =>
    typeof v === 'string' && v.trim().length > 0 ? null : 'a KMS key id, ARN or alias',
  k8sCpuRequest: quantity,
  k8sMemoryRequest: quantity,
  k8sCpuLimit: quantity,
  k8sMemoryLimit: quantity,
  k8sPodSecurityLevel: (v) =>
    v === 'privileged' || v === 'baseline' || v === 'restricted'
      ? null
      : 'one of privileged, baseline, restricted',
  k8sPodSecurityVersion: (v) =>
    typeof v === 'string' && /^(latest|v1\.[0-9]+)$/.test(v) ? null : '"latest" or v1.N',
};

function quantity(v: unknown): string | null {
  return typeof v === 'string' && QUANTITY.test(v)
    ? null
    : 'a Kubernetes quantity such as 250m or 256Mi';
}

/** What is wrong with one option's value, as "must be ..." would end; null when it is fine. */
export function fixOptionProblem(key: keyof FixOptions, value: unknown): string | null {
  return CHECKS[key](value);
}

/** Validates a partial change; anything wrong refuses the whole patch. */
export function parseFixOptionsPatch(input: unknown): Partial<FixOptions> {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw invalidInput('fix options must be a JSON object');
  }
  const keys = Object.keys(CHECKS);
  const patch: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(input)) {
    const check = CHECKS[key as keyof FixOptions];
    if (!check)
      throw invalidInput(`unknown fix option "${key}"; known options are ${keys.join(', ')}`);
    const problem = check(value);
    if (problem) {
      throw invalidInput(`fix option "${key}" must be ${problem}, got ${JSON.stringify(value)}`, {
        option: key,
      });
    }
    patch[key] = value;
  }
  if (Object.keys(patch).length === 0) throw invalidInput('no fix options given to change');
  return patch as Partial<FixOptions>;
}
