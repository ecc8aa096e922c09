import {
  DescribeInstanceAttributeCommand,
  DescribeInstancesCommand,
  type DescribeInstancesCommandOutput,
  DescribeSecurityGroupsCommand,
  type Instance,
  type IpPermission,
  type SecurityGroup,
} from '@aws-sdk/client-ec2';
import {
  GetAccessKeyLastUsedCommand,
  ListAccessKeysCommand,
  ListAttachedUserPoliciesCommand,
  ListUserPoliciesCommand,
  ListUserTagsCommand,
  ListUsersCommand,
  type User,
} from '@aws-sdk/client-iam';
import { DescribeDBInstancesCommand, type DBInstance } from '@aws-sdk/client-rds';
import {
  GetBucketEncryptionCommand,
  GetBucketTaggingCommand,
  GetBucketVersioningCommand,
  GetPublicAccessBlockCommand,
  ListBucketsCommand,
} from '@aws-sdk/client-s3';
import { hasAwsCode, S3_ERROR } from '../catalog/s3/aws-errors.ts';
import type { CloudClients } from '../cloud/clients.ts';
import { errorCode, errorMessage, mapBounded, type ReadError, type ScanUnit } from './reads.ts';
import type {
  AccessKeySummary,
  DiscoveredResource,
  Ec2InstanceConfig,
  IamAccessKeyConfig,
  IamUserConfig,
  RdsDbInstanceConfig,
  S3BucketConfig,
  SecurityGroupConfig,
  SecurityGroupRule,
} from './types.ts';

/** What discovery of one unit found; `complete` is false when anything could not be read. */
export interface UnitResult {
  unit: ScanUnit;
  resources: DiscoveredResource[];
  errors: ReadError[];
  complete: boolean;
}

/** IAM and S3 listings are global; their units are named by this region. */
export const GLOBAL_REGION = 'global';
/** The region IAM resources are recorded in: IAM signs for it. */
export const IAM_REGION = 'us-east-1';

export const AWS_SERVICES = ['s3', 'ec2', 'iam', 'rds'] as const;
export type AwsService = (typeof AWS_SERVICES)[number];

/** The units an AWS account is scanned in: S3 and IAM once, EC2 and RDS per region. */
export function awsUnits(account: string, regions: readonly string[]): ScanUnit[] {
  const unit = (service: string, region: string): ScanUnit => ({
    provider: 'aws',
    account,
    region,
    service,
  });
  return [
    unit('s3', GLOBAL_REGION),
    unit('iam', GLOBAL_REGION),
    ...regions.flatMap((r) => [unit('ec2', r), unit('rds', r)]),
  ];
}

/** Detail reads in flight at once within one unit. */
const DETAIL_CONCURRENCY = 16;

const iso = (d: Date | undefined | null) => (d ? new Date(d).toISOString() : null);

/** A collector for one unit: errors found along the way and whether all was read. */
class Reading {
  readonly errors: ReadError[] = [];
  complete = true;
  readonly unit: ScanUnit;
  constructor(unit: ScanUnit) {
    this.unit = unit;
  }
  /** Records a failed read; a failed required read leaves the unit incomplete. */
  fail(operation: string, error: unknown, resourceId: string | null, required = true) {
    if (required) this.complete = false;
    this.errors.push({
      ...this.unit,
      operation,
      code: errorCode(error),
      message: errorMessage(error),
      resourceId,
    });
  }
  /** Runs an optional read: its failure is reported but the resource is still kept. */
  async optional<T>(operation: string, id: string, read: () => Promise<T>): Promise<T | null> {
    try {
      return await read();
    } catch (error) {
      this.fail(operation, error, id, false);
      return null;
    }
  }
  done(resources: (DiscoveredResource | null)[]): UnitResult {
    return {
      unit: this.unit,
      resources: resources.filter((r): r is DiscoveredResource => r !== null),
      errors: this.errors,
      complete: this.complete,
    };
  }
}

/** Discovers one AWS unit. Never throws: every failure is in the result. */
export async function discoverAwsUnit(
  clients: CloudClients,
  unit: ScanUnit,
  regions: readonly string[],
): Promise<UnitResult> {
  const reading = new Reading(unit);
  try {
    switch (unit.service) {
      case 's3':
        return reading.done(await discoverS3(clients, reading, regions[0] ?? IAM_REGION));
      case 'iam':
        return reading.done(await discoverIam(clients, reading));
      case 'ec2':
        return reading.done(await discoverEc2(clients, reading));
      case 'rds':
        return reading.done(await discoverRds(clients, reading));
      default:
        throw new Error(`no discovery for service ${unit.service}`);
    }
  } catch (error) {
    reading.fail(listingOperation(unit.service), error, null);
    return reading.done([]);
  }
}

function listingOperation(service: string): string {
  return (
    { s3: 'ListBuckets', iam: 'ListUsers', ec2: 'DescribeInstances', rds: 'DescribeDBInstances' }[
      service
    ] ?? 'list'
  );
}

const tagMap = (tags: { Key?: string | undefined; Value?: string | undefined }[] | undefined) =>
  Object.fromEntries((tags ?? []).filter((t) => t.Key).map((t) => [t.Key, t.Value ?? '']));

// ----------------------------------------------------------------------------------- S3

async function discoverS3(
  clients: CloudClients,
  reading: Reading,
  listRegion: string,
): Promise<(DiscoveredResource | null)[]> {
  const account = reading.unit.account;
  const buckets: { name: string; region: string; created: string | null }[] = [];
  let token: string | undefined;
  do {
    const page = await clients
      .s3(listRegion)
      .send(new ListBucketsCommand({ MaxBuckets: 1000, ContinuationToken: token }));
    for (const b of page.Buckets ?? []) {
      if (!b.Name) continue;
      buckets.push({
        name: b.Name,
        region: b.BucketRegion || IAM_REGION,
        created: iso(b.CreationDate),
      });
    }
    token = page.ContinuationToken || undefined;
  } while (token);

  return mapBounded(buckets, DETAIL_CONCURRENCY, async (b) => {
    const id = `arn:aws:s3:::${b.name}`;
    const s3 = clients.s3(b.region);
    const required = async <T>(operation: string, missing: string, read: () => Promise<T>) => {
      try {
        return { ok: true as const, value: await read() };
      } catch (error) {
        if (hasAwsCode(error, missing)) return { ok: true as const, value: null };
        reading.fail(operation, error, id);
        return { ok: false as const };
      }
    };
    const [encryption, block, versioning] = await Promise.all([
      required('GetBucketEncryption', S3_ERROR.noEncryption, () =>
        s3.send(new GetBucketEncryptionCommand({ Bucket: b.name, ExpectedBucketOwner: account })),
      ),
      required('GetPublicAccessBlock', S3_ERROR.noPublicAccessBlock, () =>
        s3.send(new GetPublicAccessBlockCommand({ Bucket: b.name, ExpectedBucketOwner: account })),
      ),
      required('GetBucketVersioning', '-', () =>
        s3.send(new GetBucketVersioningCommand({ Bucket: b.name, ExpectedBucketOwner: account })),
      ),
    ]);
    // A bucket whose settings could not be read is left out, so no check judges a guess.
    if (!encryption.ok || !block.ok || !versioning.ok) return null;
    const tagging = await reading.optional('GetBucketTagging', id, async () => {
      try {
        return await s3.send(
          new GetBucketTaggingCommand({ Bucket: b.name, ExpectedBucketOwner: account }),
        );
      } catch (error) {
        if (hasAwsCode(error, 'NoSuchTagSet')) return { TagSet: [] };
        throw error;
      }
    });
    const rules = encryption.value?.ServerSideEncryptionConfiguration?.Rules;
    const pab = block.value?.PublicAccessBlockConfiguration;
    const config: S3BucketConfig = {
      name: b.name,
      region: b.region,
      created: b.created,
      encryption: rules
        ? {
            rules: rules.map((r) => ({
              sseAlgorithm: r.ApplyServerSideEncryptionByDefault?.SSEAlgorithm ?? '',
              kmsMasterKeyId: r.ApplyServerSideEncryptionByDefault?.KMSMasterKeyID ?? null,
              bucketKeyEnabled: r.BucketKeyEnabled ?? false,
            })),
          }
        : null,
      publicAccessBlock: pab
        ? {
            blockPublicAcls: pab.BlockPublicAcls ?? false,
            ignorePublicAcls: pab.IgnorePublicAcls ?? false,
            blockPublicPolicy: pab.BlockPublicPolicy ?? false,
            restrictPublicBuckets: pab.RestrictPublicBuckets ?? false,
          }
        : null,
      versioning: {
        status: (versioning.value?.Status as 'Enabled' | 'Suspended' | undefined) ?? null,
        mfaDelete: (versioning.value?.MFADelete as 'Enabled' | 'Disabled' | undefined) ?? null,
      },
      policyStatus: null,
      acl: null,
    };
    return {
      provider: 'aws',
      account,
      region: b.region,
      type: 'AwsS3Bucket',
      id,
      name: b.name,
      tags: tagMap(tagging?.TagSet),
      config: { ...config },
    };
  });
}

// ---------------------------------------------------------------------------------- EC2

function rules(perms: IpPermission[] | undefined): SecurityGroupRule[] {
  const out: SecurityGroupRule[] = [];
  for (const p of perms ?? []) {
    const base = {
      protocol: p.IpProtocol ?? '-1',
      fromPort: p.IpProtocol === '-1' ? null : (p.FromPort ?? null),
      toPort: p.IpProtocol === '-1' ? null : (p.ToPort ?? null),
    };
    const none = { cidrIpv4: null, cidrIpv6: null, prefixListId: null, groupId: null };
    const sources: [
      keyof typeof none,
      { value: string | undefined; note: string | undefined }[],
    ][] = [
      ['cidrIpv4', (p.IpRanges ?? []).map((r) => ({ value: r.CidrIp, note: r.Description }))],
      ['cidrIpv6', (p.Ipv6Ranges ?? []).map((r) => ({ value: r.CidrIpv6, note: r.Description }))],
      [
        'prefixListId',
        (p.PrefixListIds ?? []).map((r) => ({ value: r.PrefixListId, note: r.Description })),
      ],
      [
        'groupId',
        (p.UserIdGroupPairs ?? []).map((r) => ({ value: r.GroupId, note: r.Description })),
      ],
    ];
    for (const [field, entries] of sources) {
      for (const { value, note } of entries) {
        out.push({ ...base, ...none, [field]: value ?? null, description: note ?? null });
      }
    }
  }
  return out;
}

async function discoverEc2(
  clients: CloudClients,
  reading: Reading,
): Promise<(DiscoveredResource | null)[]> {
  const { account, region } = reading.unit;
  const ec2 = clients.ec2(region);
  const groups: SecurityGroup[] = [];
  let token: string | undefined;
  do {
    const page = await ec2.send(
      new DescribeSecurityGroupsCommand({ MaxResults: 1000, NextToken: token }),
    );
    groups.push(...(page.SecurityGroups ?? []));
    token = page.NextToken || undefined;
  } while (token);
  const instances: Instance[] = [];
  try {
    token = undefined;
    do {
      const page: DescribeInstancesCommandOutput = await ec2.send(
        new DescribeInstancesCommand({ MaxResults: 1000, NextToken: token }),
      );
      for (const r of page.Reservations ?? []) instances.push(...(r.Instances ?? []));
      token = page.NextToken || undefined;
    } while (token);
  } catch (error) {
    reading.fail('DescribeInstances', error, null);
  }

  const sgResources = groups
    .filter((g) => g.GroupId)
    .map((g): DiscoveredResource => {
      const config: SecurityGroupConfig = {
        groupId: g.GroupId as string,
        groupName: g.GroupName ?? '',
        description: g.Description ?? '',
        vpcId: g.VpcId ?? null,
        ownerId: g.OwnerId ?? account,
        ingress: rules(g.IpPermissions),
        egress: rules(g.IpPermissionsEgress),
      };
      return {
        provider: 'aws',
        account,
        region,
        type: 'AwsEc2SecurityGroup',
        id: `arn:aws:ec2:${region}:${account}:security-group/${g.GroupId}`,
        name: g.GroupId as string,
        tags: tagMap(g.Tags),
        config: { ...config },
      };
    });
  const live = instances.filter((i) => i.InstanceId && i.State?.Name !== 'terminated');
  const instanceResources = await mapBounded(live, DETAIL_CONCURRENCY, async (i) => {
    const id = `arn:aws:ec2:${region}:${account}:instance/${i.InstanceId}`;
    let disableApiTermination: boolean | null;
    try {
      const attr = await ec2.send(
        new DescribeInstanceAttributeCommand({
          InstanceId: i.InstanceId,
          Attribute: 'disableApiTermination',
        }),
      );
      disableApiTermination = attr.DisableApiTermination?.Value ?? false;
    } catch (error) {
      reading.fail('DescribeInstanceAttribute', error, id);
      return null;
    }
    const config: Ec2InstanceConfig = {
      instanceId: i.InstanceId as string,
      instanceType: i.InstanceType ?? '',
      state: i.State?.Name ?? '',
      disableApiTermination,
      securityGroups: (i.SecurityGroups ?? []).map((g) => ({
        groupId: g.GroupId ?? '',
        groupName: g.GroupName ?? null,
      })),
      vpcId: i.VpcId ?? null,
      subnetId: i.SubnetId ?? null,
      imageId: i.ImageId ?? null,
      launchTime: iso(i.LaunchTime),
      privateIpAddress: i.PrivateIpAddress ?? null,
      publicIpAddress: i.PublicIpAddress ?? null,
      iamInstanceProfile: i.IamInstanceProfile?.Arn ?? null,
      metadataHttpTokens: (i.MetadataOptions?.HttpTokens as 'optional' | 'required') ?? null,
    };
    const tags = tagMap(i.Tags);
    const resource: DiscoveredResource = {
      provider: 'aws',
      account,
      region,
      type: 'AwsEc2Instance',
      id,
      name: i.InstanceId as string,
      tags,
      config: { ...config },
    };
    return resource;
  });
  return [...sgResources, ...instanceResources];
}

// ---------------------------------------------------------------------------------- IAM

async function discoverIam(
  clients: CloudClients,
  reading: Reading,
): Promise<(DiscoveredResource | null)[]> {
  const { account } = reading.unit;
  const iam = clients.iam();
  const users: User[] = [];
  let marker: string | undefined;
  do {
    const page = await iam.send(new ListUsersCommand({ MaxItems: 1000, Marker: marker }));
    users.push(...(page.Users ?? []));
    marker = page.IsTruncated ? page.Marker : undefined;
  } while (marker);

  const perUser = await mapBounded(users, DETAIL_CONCURRENCY, async (u) => {
    const userName = u.UserName ?? '';
    const arn = u.Arn ?? `arn:aws:iam::${account}:user${u.Path ?? '/'}${userName}`;
    let keys: AccessKeySummary[];
    try {
      const listed = await iam.send(new ListAccessKeysCommand({ UserName: userName }));
      keys = await Promise.all(
        (listed.AccessKeyMetadata ?? []).map(async (k) => {
          const used = await iam.send(
            new GetAccessKeyLastUsedCommand({ AccessKeyId: k.AccessKeyId }),
          );
          const last = used.AccessKeyLastUsed;
          return {
            accessKeyId: k.AccessKeyId ?? '',
            status: k.Status ?? '',
            created: iso(k.CreateDate),
            lastUsed: iso(last?.LastUsedDate),
            lastUsedService:
              last?.ServiceName && last.ServiceName !== 'N/A' ? last.ServiceName : null,
            lastUsedRegion: last?.Region && last.Region !== 'N/A' ? last.Region : null,
          };
        }),
      );
    } catch (error) {
      reading.fail('ListAccessKeys', error, arn);
      return [];
    }
    const [tags, attached, inline] = await Promise.all([
      reading.optional('ListUserTags', arn, () =>
        iam.send(new ListUserTagsCommand({ UserName: userName })),
      ),
      reading.optional('ListAttachedUserPolicies', arn, () =>
        iam.send(new ListAttachedUserPoliciesCommand({ UserName: userName })),
      ),
      reading.optional('ListUserPolicies', arn, () =>
        iam.send(new ListUserPoliciesCommand({ UserName: userName })),
      ),
    ]);
    const userConfig: IamUserConfig = {
      userName,
      userId: u.UserId ?? '',
      arn,
      path: u.Path ?? '/',
      created: iso(u.CreateDate),
      passwordLastUsed: iso(u.PasswordLastUsed),
      attachedPolicies: attached
        ? (attached.AttachedPolicies ?? []).map((p) => ({
            policyName: p.PolicyName ?? '',
            policyArn: p.PolicyArn ?? '',
          }))
        : null,
      inlinePolicies: inline ? (inline.PolicyNames ?? []) : null,
      accessKeys: keys,
    };
    const userTags = tagMap(tags?.Tags);
    const user: DiscoveredResource = {
      provider: 'aws',
      account,
      region: IAM_REGION,
      type: 'AwsIamUser',
      id: arn,
      name: userName,
      tags: userTags,
      config: { ...userConfig },
    };
    const keyResources = keys.map((k): DiscoveredResource => {
      const keyConfig: IamAccessKeyConfig = { ...k, userName, userArn: arn };
      return {
        provider: 'aws',
        account,
        region: IAM_REGION,
        type: 'AwsIamAccessKey',
        id: `${arn}/accesskey/${k.accessKeyId}`,
        name: k.accessKeyId,
        tags: userTags,
        config: { ...keyConfig },
      };
    });
    return [user, ...keyResources];
  });
  return perUser.flat();
}

// ---------------------------------------------------------------------------------- RDS

async function discoverRds(
  clients: CloudClients,
  reading: Reading,
): Promise<(DiscoveredResource | null)[]> {
  const { account, region } = reading.unit;
  const rds = clients.rds(region);
  const instances: DBInstance[] = [];
  let marker: string | undefined;
  do {
    const page = await rds.send(
      new DescribeDBInstancesCommand({ MaxRecords: 100, Marker: marker }),
    );
    instances.push(...(page.DBInstances ?? []));
    marker = page.Marker || undefined;
  } while (marker);
  return instances
    .filter((d) => d.DBInstanceIdentifier)
    .map((d): DiscoveredResource => {
      const name = d.DBInstanceIdentifier as string;
      const arn = d.DBInstanceArn ?? `arn:aws:rds:${region}:${account}:db:${name}`;
      const config: RdsDbInstanceConfig = {
        dbInstanceIdentifier: name,
        dbInstanceArn: arn,
        dbInstanceClass: d.DBInstanceClass ?? '',
        engine: d.Engine ?? '',
        engineVersion: d.EngineVersion ?? null,
        status: d.DBInstanceStatus ?? '',
        multiAZ: d.MultiAZ ?? false,
        backupRetentionPeriod: d.BackupRetentionPeriod ?? 0,
        storageEncrypted: d.StorageEncrypted ?? false,
        kmsKeyId: d.KmsKeyId ?? null,
        publiclyAccessible: d.PubliclyAccessible ?? false,
        deletionProtection: d.DeletionProtection ?? false,
        autoMinorVersionUpgrade: d.AutoMinorVersionUpgrade ?? false,
        dbClusterIdentifier: d.DBClusterIdentifier ?? null,
        vpcSecurityGroupIds: (d.VpcSecurityGroups ?? [])
          .map((g) => g.VpcSecurityGroupId ?? '')
          .filter(Boolean),
      };
      return {
        provider: 'aws',
        account,
        region,
        type: 'AwsRdsDbInstance',
        id: arn,
        name,
        tags: tagMap(d.TagList),
        config: { ...config },
      };
    });
}
