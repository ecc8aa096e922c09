/**
 * What discovery reads from the clouds. Every resource has the same envelope; `config`
 * holds the resource's full configuration as read, as plain JSON, in the shape documented
 * per type below. Checks and drift detection read only these shapes, never the SDK's, so
 * a field named here is a promise: discovery fills it (null when the cloud has no value).
 */

export const AWS_RESOURCE_TYPES = [
  'AwsS3Bucket',
  'AwsEc2SecurityGroup',
  'AwsEc2Instance',
  'AwsIamUser',
  'AwsIamAccessKey',
  'AwsRdsDbInstance',
  'AwsAccount',
] as const;

export const KUBERNETES_RESOURCE_TYPES = [
  'KubernetesDeployment',
  'KubernetesStatefulSet',
  'KubernetesDaemonSet',
  'KubernetesNamespace',
] as const;

export const RESOURCE_TYPES = [...AWS_RESOURCE_TYPES, ...KUBERNETES_RESOURCE_TYPES] as const;
export type ResourceType = (typeof RESOURCE_TYPES)[number];

/**
 * One discovered resource.
 *
 * - `account`: the AWS account id, or the kubeconfig context name.
 * - `region`: the AWS region (`us-east-1` for IAM, which is global; a bucket's own region
 *   for S3), or the namespace of a namespaced Kubernetes object; a Namespace's own name for
 *   a Namespace, as `kubeResource` (src/findings/k8s/resource.ts) has it.
 * - `tags`: AWS tags; Kubernetes labels.
 * - `id`: the ARN for AWS resources; for an access key, which has no ARN,
 *   `arn:<partition>:iam::<account>:user/<path><userName>/accesskey/<AccessKeyId>` (a fix
 *   for a key takes `userName` and `accessKeyId` from its params, never from this id). For
 *   Kubernetes, `k8s://<context>/<namespace>/<Kind>/<name>` (empty namespace for cluster
 *   scoped kinds), exactly what `kubeResource` builds and the importers use.
 */
export interface DiscoveredResource {
  provider: 'aws' | 'kubernetes';
  account: string;
  region: string;
  type: string;
  id: string;
  name: string;
  tags: Record<string, string>;
  config: Record<string, unknown>;
  /**
   * What an optional read could not read this time: `tags`, or a key of `config`. Its
   * value here is no reading: a scan keeps the last known one, and drift leaves out what
   * it still has none of. Absent when all was read.
   */
  unread?: string[];
}

// ---------------------------------------------------------------------------------------
// AWS
// ---------------------------------------------------------------------------------------

/** AwsS3Bucket. */
export interface S3BucketConfig {
  name: string;
  region: string;
  /** ISO time. */
  created: string | null;
  /**
   * Default encryption; null when the bucket has none configured (S3 reports
   * ServerSideEncryptionConfigurationNotFoundError).
   */
  encryption: {
    rules: Array<{
      /** `AES256`, `aws:kms` or `aws:kms:dsse`. */
      sseAlgorithm: string;
      kmsMasterKeyId: string | null;
      bucketKeyEnabled: boolean;
    }>;
  } | null;
  /** The bucket's own public access block; null when none is set (NoSuchPublicAccessBlockConfiguration). */
  publicAccessBlock: {
    blockPublicAcls: boolean;
    ignorePublicAcls: boolean;
    blockPublicPolicy: boolean;
    restrictPublicBuckets: boolean;
  } | null;
  versioning: {
    /** `Enabled`, `Suspended`, or null when versioning was never enabled. */
    status: 'Enabled' | 'Suspended' | null;
    mfaDelete: 'Enabled' | 'Disabled' | null;
  };
  /**
   * GetBucketPolicyStatus: `isPublic` when the bucket policy grants access to anyone (S3's
   * own judgement of the policy); false when the bucket has no policy (NoSuchBucketPolicy).
   * Null only in configurations recorded before discovery read it, which drift leaves
   * uncompared.
   */
  policyStatus: { isPublic: boolean } | null;
  /** GetBucketAcl grants; null when it could not be read. */
  acl: {
    owner: string | null;
    grants: Array<{
      /** `CanonicalUser`, `Group` or `AmazonCustomerByEmail`. */
      granteeType: string;
      /** Canonical id, group URI or e-mail. */
      grantee: string | null;
      permission: string;
    }>;
  } | null;
}

/** One ingress or egress permission of a security group, flattened per source. */
export interface SecurityGroupRule {
  /** `-1` for all protocols, else `tcp`, `udp`, `icmp`, `icmpv6` or a number. */
  protocol: string;
  /** null for all ports (protocol `-1`). */
  fromPort: number | null;
  toPort: number | null;
  /** Exactly one of the four sources is set. */
  cidrIpv4: string | null;
  cidrIpv6: string | null;
  prefixListId: string | null;
  /** Another security group's id. */
  groupId: string | null;
  description: string | null;
}

/** AwsEc2SecurityGroup. */
export interface SecurityGroupConfig {
  groupId: string;
  groupName: string;
  description: string;
  vpcId: string | null;
  ownerId: string;
  ingress: SecurityGroupRule[];
  egress: SecurityGroupRule[];
}

/** AwsEc2Instance. */
export interface Ec2InstanceConfig {
  instanceId: string;
  instanceType: string;
  /** `pending`, `running`, `stopping`, `stopped`, `shutting-down`, `terminated`. */
  state: string;
  /** DescribeInstanceAttribute disableApiTermination; null when it could not be read. */
  disableApiTermination: boolean | null;
  securityGroups: Array<{ groupId: string; groupName: string | null }>;
  vpcId: string | null;
  subnetId: string | null;
  imageId: string | null;
  /** ISO time. */
  launchTime: string | null;
  privateIpAddress: string | null;
  publicIpAddress: string | null;
  /** The instance profile ARN, if any. */
  iamInstanceProfile: string | null;
  /** IMDS: `required` means IMDSv2 only. */
  metadataHttpTokens: 'optional' | 'required' | null;
}

/** One access key as IAM lists it, with its last use. */
export interface AccessKeySummary {
  accessKeyId: string;
  /** `Active` or `Inactive`. */
  status: string;
  /** ISO time. */
  created: string | null;
  /** ISO time of last use; null when never used (or not reported). */
  lastUsed: string | null;
  lastUsedService: string | null;
  lastUsedRegion: string | null;
}

/** AwsIamUser. */
export interface IamUserConfig {
  userName: string;
  userId: string;
  arn: string;
  path: string;
  /** ISO time. */
  created: string | null;
  /** ISO time; null when the password was never used or the user has none. */
  passwordLastUsed: string | null;
  /** ListAttachedUserPolicies; null when it could not be read. */
  attachedPolicies: Array<{ policyName: string; policyArn: string }> | null;
  /** ListUserPolicies (inline policy names); null when it could not be read. */
  inlinePolicies: string[] | null;
  accessKeys: AccessKeySummary[];
}

/** AwsIamAccessKey. */
export interface IamAccessKeyConfig extends AccessKeySummary {
  userName: string;
  userArn: string;
}

/** AwsAccount: the account itself, as IAM GetAccountSummary describes it. */
export interface AwsAccountConfig {
  accountId: string;
  /** SummaryMap `AccountAccessKeysPresent`: the root user has access keys. */
  accountAccessKeysPresent: boolean;
}

/** AwsRdsDbInstance. */
export interface RdsDbInstanceConfig {
  dbInstanceIdentifier: string;
  dbInstanceArn: string;
  dbInstanceClass: string;
  engine: string;
  engineVersion: string | null;
  /** `available`, `stopped`, `modifying`, ... */
  status: string;
  multiAZ: boolean;
  backupRetentionPeriod: number;
  storageEncrypted: boolean;
  kmsKeyId: string | null;
  publiclyAccessible: boolean;
  deletionProtection: boolean;
  autoMinorVersionUpgrade: boolean;
  /** Set when the instance belongs to an Aurora cluster. */
  dbClusterIdentifier: string | null;
  vpcSecurityGroupIds: string[];
}

// ---------------------------------------------------------------------------------------
// Kubernetes
// ---------------------------------------------------------------------------------------

/** One container of a workload's pod template, as the API returned it. */
export interface KubeContainerConfig {
  name: string;
  image: string;
  /** True for an entry of `initContainers`. */
  init: boolean;
  /** The container's `resources` as written ({} when absent). */
  resources: {
    requests?: Record<string, string>;
    limits?: Record<string, string>;
  };
  /** The container's `securityContext`, or null when absent. */
  securityContext: Record<string, unknown> | null;
}

/** KubernetesDeployment, KubernetesStatefulSet, KubernetesDaemonSet. */
export interface KubeWorkloadConfig {
  kind: 'Deployment' | 'StatefulSet' | 'DaemonSet';
  namespace: string;
  name: string;
  uid: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  /** null for a DaemonSet. */
  replicas: number | null;
  /** The pod template's `securityContext`, or null when absent. */
  podSecurityContext: Record<string, unknown> | null;
  serviceAccountName: string | null;
  hostNetwork: boolean;
  hostPID: boolean;
  hostIPC: boolean;
  containers: KubeContainerConfig[];
}

/** KubernetesNamespace. */
export interface KubeNamespaceConfig {
  name: string;
  uid: string;
  /** Every label, including `pod-security.kubernetes.io/{enforce,audit,warn}[-version]`. */
  labels: Record<string, string>;
  annotations: Record<string, string>;
  /** `Active` or `Terminating`. */
  phase: string | null;
}
