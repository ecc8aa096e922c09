import type { DiscoveredResource } from '../inventory/types.ts';

const WORKLOADS = ['KubernetesDeployment', 'KubernetesStatefulSet', 'KubernetesDaemonSet'];

/**
 * The configuration keys (docs in src/inventory/types.ts) each catalog fix changes on each
 * type of resource it can change, applying or rolling back. A fix that changes nothing on a
 * type (the encrypted copy of `rds.enable-storage-encryption` is a new instance) has none.
 */
const TOUCHES: Record<string, Record<string, readonly string[]>> = {
  's3.enable-default-encryption': { AwsS3Bucket: ['encryption'] },
  's3.block-public-access': { AwsS3Bucket: ['publicAccessBlock'] },
  's3.enable-versioning': { AwsS3Bucket: ['versioning'] },
  'ec2.revoke-open-ingress': { AwsEc2SecurityGroup: ['ingress'] },
  'ec2.enable-termination-protection': { AwsEc2Instance: ['disableApiTermination'] },
  'iam.rotate-access-key': { AwsIamUser: ['accessKeys'], AwsIamAccessKey: ['status'] },
  'iam.deactivate-unused-access-key': { AwsIamUser: ['accessKeys'], AwsIamAccessKey: ['status'] },
  'rds.enable-multi-az': { AwsRdsDbInstance: ['multiAZ'] },
  'rds.enable-automated-backups': { AwsRdsDbInstance: ['backupRetentionPeriod'] },
  'rds.enable-storage-encryption': {},
  'k8s.set-resource-limits': Object.fromEntries(WORKLOADS.map((t) => [t, ['containers']])),
  'k8s.enforce-pod-security': { KubernetesNamespace: ['labels'] },
};

/** A baseline's content: what drift compares against. */
export interface BaselineState {
  config: Record<string, unknown>;
  tags: Record<string, string>;
}

/** An action that changed a resource (or put it back) after its baseline was captured. */
export interface SettledAction {
  id: string;
  type: string;
  /** `completed`, or `rolled_back`: the fix was undone and its snapshot restored. */
  status: string;
  /**
   * Of a rolled-back action: the baseline the resource had before the fix, when a baseline
   * taken since recorded what the fix did. Absent when none did, so nothing is to undo.
   */
  before?: BaselineState;
}

/**
 * The baseline after the product's own actions, oldest first. A completed action: the keys
 * it changes are taken from the live configuration, so what it did is no drift and anything
 * else still is. An action of a type the table does not know moves the whole configuration.
 * A rolled-back action never makes the live state the reference: the rollback restored what
 * the resource had before the fix, which may be the very drift the fix removed; the keys it
 * changes go back to the baseline of before the fix, so a restored drift is drift again.
 */
export function followActions(
  baseline: BaselineState,
  live: DiscoveredResource,
  actions: SettledAction[],
): BaselineState {
  let config = { ...baseline.config };
  let tags = baseline.tags;
  for (const action of actions) {
    const source = action.status === 'rolled_back' ? action.before : live;
    if (!source) continue;
    const byType = TOUCHES[action.type];
    if (!byType) {
      config = { ...source.config };
      tags = source.tags;
      continue;
    }
    for (const key of byType[live.type] ?? []) {
      if (key in source.config) config[key] = source.config[key];
      else delete config[key];
    }
  }
  return { config, tags };
}

const KEY_MARK = '/accesskey/';
const KEY_RESOURCE_PREFIX = 'AWS::IAM::AccessKey:';

/**
 * The resource ids an action may name when it changes this resource. IAM keys and their
 * user change together: an action names the user's ARN, the key's own id, or the key bare
 * as scanners write it, and either way both the user's key list and the key move.
 */
export function actionResourceIds(resource: DiscoveredResource): string[] {
  const keyIds = (ids: string[]) => ids.flatMap((id) => [id, `${KEY_RESOURCE_PREFIX}${id}`]);
  if (resource.type === 'AwsIamAccessKey') {
    const at = resource.id.indexOf(KEY_MARK);
    const keyId = String(resource.config.accessKeyId ?? '');
    return [resource.id, ...(at > 0 ? [resource.id.slice(0, at)] : []), ...keyIds([keyId])];
  }
  if (resource.type === 'AwsIamUser') {
    const keys = Array.isArray(resource.config.accessKeys) ? resource.config.accessKeys : [];
    const ids = keys
      .map((k) => (k as { accessKeyId?: unknown }).accessKeyId)
      .filter((id): id is string => typeof id === 'string');
    return [resource.id, ...ids.map((id) => `${resource.id}${KEY_MARK}${id}`), ...keyIds(ids)];
  }
  return [resource.id];
}
