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

/** An action that changed a resource after its baseline was captured. */
export interface SettledAction {
  id: string;
  type: string;
  status: string;
}

/**
 * The baseline after the product's own actions: the old one with the keys those actions
 * change taken from the live configuration, so what they did is no drift and anything else
 * still is. An action of a type the table does not know moves the whole configuration.
 */
export function followActions(
  baseline: { config: Record<string, unknown>; tags: Record<string, string> },
  live: DiscoveredResource,
  actions: SettledAction[],
): { config: Record<string, unknown>; tags: Record<string, string> } {
  const keys = new Set<string>();
  for (const action of actions) {
    const byType = TOUCHES[action.type];
    if (!byType) return { config: live.config, tags: live.tags };
    for (const key of byType[live.type] ?? []) keys.add(key);
  }
  const config = { ...baseline.config };
  for (const key of keys) {
    if (key in live.config) config[key] = live.config[key];
    else delete config[key];
  }
  return { config, tags: baseline.tags };
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
