import type { FindingReport, Remedy } from '../domain/finding.ts';
import { SEVERITIES, type Severity } from '../domain/status.ts';
import { findingResource } from '../checks/resource.ts';
import type { DiscoveredResource } from '../inventory/types.ts';
import { type DriftChange, diffConfig } from './diff.ts';
import { allTraffic, DEFAULT_DRIFT_SETTINGS, type DriftSettings } from './rules.ts';

export const DRIFT_ORIGIN = 'infraudit-drift';
export const DRIFT_CHECK_ID = 'configuration-drift';

/** A resource's configuration as captured at one point in time. */
export interface Baseline {
  id: string;
  resourceId: string;
  provider: 'aws' | 'kubernetes';
  account: string;
  region: string;
  type: string;
  name: string;
  /** 1 for the first capture, one more for each later capture of the same resource. */
  version: number;
  config: Record<string, unknown>;
  tags: Record<string, string>;
  capturedAt: string;
  capturedBy: string;
  /**
   * `discovered` (first scan), `captured` (on demand), `promoted` (after a planned change) or
   * `remediated` (after an action of the product changed it).
   */
  reason: BaselineReason;
  active: boolean;
}

export const BASELINE_REASONS = ['discovered', 'captured', 'promoted', 'remediated'] as const;
export type BaselineReason = (typeof BASELINE_REASONS)[number];

/**
 * What a diff compares: the configuration, and for AWS the tags beside it (Kubernetes
 * labels are part of the configuration already).
 */
export function comparable(
  provider: string,
  config: Record<string, unknown>,
  tags: Record<string, string>,
): Record<string, unknown> {
  return provider === 'aws' ? { ...config, tags } : config;
}

export function maxSeverity(severities: Severity[]): Severity {
  let rank = 0;
  for (const s of severities) rank = Math.max(rank, SEVERITIES.indexOf(s));
  return SEVERITIES[rank] ?? 'informational';
}

/**
 * The drift of one resource against its baseline; empty when the two agree. Severity is
 * judged by the settings in force now (the sensitive ports the checks use), so a port the
 * user has since called sensitive is judged so whenever it was opened.
 */
export function driftOf(
  resource: DiscoveredResource,
  baseline: Baseline,
  settings: DriftSettings = DEFAULT_DRIFT_SETTINGS,
): DriftChange[] {
  const before = comparable(baseline.provider, baseline.config, baseline.tags);
  const after = comparable(resource.provider, resource.config, resource.tags);
  // A failed read is no drift: what the scan could not read is left out on both sides.
  for (const key of resource.unread ?? []) {
    delete before[key];
    delete after[key];
  }
  return diffConfig(resource.type, before, after, settings);
}

/**
 * One drift report per resource that has an active baseline: failed with the changes when
 * the live configuration differs, passed when it agrees, so an earlier drift finding
 * resolves. Resources without a baseline are not reported: their first capture is the
 * baseline.
 */
export function detectDrift(
  resources: DiscoveredResource[],
  activeBaselines: Baseline[],
  settings: DriftSettings = DEFAULT_DRIFT_SETTINGS,
): FindingReport[] {
  const byResource = new Map(activeBaselines.filter((b) => b.active).map((b) => [b.resourceId, b]));
  const reports: FindingReport[] = [];
  for (const resource of resources) {
    const baseline = byResource.get(resource.id);
    if (!baseline) continue;
    reports.push(driftReport(resource, baseline, driftOf(resource, baseline, settings)));
  }
  return reports;
}

export function driftReport(
  resource: DiscoveredResource,
  baseline: Baseline,
  changes: DriftChange[],
): FindingReport {
  const severity = maxSeverity(changes.map((c) => c.severity));
  const top = changes.filter((c) => c.severity === severity);
  const driftType = top.some((c) => c.driftType === 'security')
    ? 'security'
    : top.some((c) => c.driftType === 'compliance')
      ? 'compliance'
      : 'configuration';
  const count = changes.length === 1 ? '1 change' : `${changes.length} changes`;
  return {
    kind: 'drift',
    origin: DRIFT_ORIGIN,
    key: `drift|${resource.id}`,
    checkId: DRIFT_CHECK_ID,
    title: `${resource.name} drifted from its baseline (${count})`,
    description:
      `The live configuration of ${resource.type} ${resource.name} differs from baseline ` +
      `version ${baseline.version}, captured ${baseline.capturedAt} by ${baseline.capturedBy}.`,
    severity: changes.length ? severity : 'informational',
    resource: findingResource(resource),
    state: changes.length ? 'failed' : 'passed',
    evidence: { baselineId: baseline.id, baselineVersion: baseline.version, changes },
    driftType,
    remedy: changes.length ? restoringRemedy(resource.type, baseline, changes) : null,
  };
}

/**
 * The catalog fix that puts the baseline back for the most severe change that has one.
 * A fix qualifies only when what it sets is what the baseline had: enabling encryption
 * restores a baseline that was encrypted, never one that was not.
 */
export function restoringRemedy(
  type: string,
  baseline: Baseline,
  changes: DriftChange[],
): Remedy | null {
  const ordered = [...changes].sort(
    (a, b) => SEVERITIES.indexOf(b.severity) - SEVERITIES.indexOf(a.severity),
  );
  for (const change of ordered) {
    const remedy = remedyFor(type, baseline.config, change);
    if (remedy) return remedy;
  }
  return null;
}

const obj = (value: unknown): Record<string, unknown> =>
  typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : {};

/** The most ports a port list remedy names; a wider range is revoked as "all ports". */
const MAX_LISTED_PORTS = 64;

function remedyFor(
  type: string,
  baseline: Record<string, unknown>,
  change: DriftChange,
): Remedy | null {
  const fix = (fixType: string, params: Record<string, unknown> = {}) => ({
    type: fixType,
    params,
  });
  const p = change.path;
  switch (type) {
    case 'AwsS3Bucket': {
      const block = obj(baseline.publicAccessBlock);
      const fullBlock = [
        'blockPublicAcls',
        'ignorePublicAcls',
        'blockPublicPolicy',
        'restrictPublicBuckets',
      ];
      if (p.startsWith('publicAccessBlock.') && fullBlock.every((k) => block[k] === true)) {
        return fix('s3.block-public-access');
      }
      if (p.startsWith('encryption') && baseline.encryption && change.after === null) {
        return fix('s3.enable-default-encryption');
      }
      if (p === 'versioning.status' && obj(baseline.versioning).status === 'Enabled') {
        return fix('s3.enable-versioning');
      }
      return null;
    }
    case 'AwsEc2SecurityGroup': {
      if (!p.startsWith('ingress[') || change.before !== null) return null;
      const rule = obj(change.after);
      const world = rule.cidrIpv4 === '0.0.0.0/0' || rule.cidrIpv6 === '::/0';
      if (!world) return null;
      if (allTraffic(rule)) return fix('ec2.revoke-open-ingress', { allPorts: true });
      const from = Number(rule.fromPort);
      const to = Number(rule.toPort);
      if (rule.protocol !== 'tcp' || !(to >= from) || to - from >= MAX_LISTED_PORTS) return null;
      const ports = Array.from({ length: to - from + 1 }, (_, i) => from + i);
      return fix('ec2.revoke-open-ingress', { ports });
    }
    case 'AwsEc2Instance':
      return p === 'disableApiTermination' && baseline.disableApiTermination === true
        ? fix('ec2.enable-termination-protection')
        : null;
    case 'AwsRdsDbInstance': {
      if (p === 'multiAZ' && baseline.multiAZ === true) return fix('rds.enable-multi-az');
      const retention = Number(baseline.backupRetentionPeriod);
      if (p === 'backupRetentionPeriod' && retention > 0 && Number(change.after) < retention) {
        return fix('rds.enable-automated-backups', { minimumDays: retention });
      }
      if (p === 'storageEncrypted' && baseline.storageEncrypted === true) {
        return fix('rds.enable-storage-encryption');
      }
      return null;
    }
    case 'KubernetesDeployment':
    case 'KubernetesStatefulSet':
    case 'KubernetesDaemonSet':
      return /^containers\[[^\]]+\]\.resources/.test(p) && change.after === null
        ? fix('k8s.set-resource-limits')
        : null;
    case 'KubernetesNamespace':
      return p === 'labels["pod-security.kubernetes.io/enforce"]' && change.after === null
        ? fix('k8s.enforce-pod-security')
        : null;
    default:
      return null;
  }
}
