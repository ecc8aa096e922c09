import {
  DescribeInstanceAttributeCommand,
  DescribeInstancesCommand,
  type DescribeInstancesCommandOutput,
  DescribeSecurityGroupsCommand,
  type Instance,
  type IpPermission,
  type SecurityGroup,
} from '@aws-sdk/client-ec2';
import type { CloudClients } from '../../cloud/clients.ts';
import { mapBounded } from '../reads.ts';
import type {
  DiscoveredResource,
  Ec2InstanceConfig,
  SecurityGroupConfig,
  SecurityGroupRule,
} from '../types.ts';
import { DETAIL_CONCURRENCY, iso, type Reading, tagMap } from './reading.ts';

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

async function describeGroups(
  clients: CloudClients,
  region: string,
  groupIds?: string[],
): Promise<SecurityGroup[]> {
  const ec2 = clients.ec2(region);
  const groups: SecurityGroup[] = [];
  let token: string | undefined;
  do {
    const page = await ec2.send(
      groupIds
        ? new DescribeSecurityGroupsCommand({ GroupIds: groupIds })
        : new DescribeSecurityGroupsCommand({ MaxResults: 1000, NextToken: token }),
    );
    groups.push(...(page.SecurityGroups ?? []));
    token = page.NextToken || undefined;
  } while (token);
  return groups;
}

async function describeInstances(
  clients: CloudClients,
  region: string,
  instanceIds?: string[],
): Promise<Instance[]> {
  const ec2 = clients.ec2(region);
  const instances: Instance[] = [];
  let token: string | undefined;
  do {
    const page: DescribeInstancesCommandOutput = await ec2.send(
      instanceIds
        ? new DescribeInstancesCommand({ InstanceIds: instanceIds })
        : new DescribeInstancesCommand({ MaxResults: 1000, NextToken: token }),
    );
    for (const r of page.Reservations ?? []) instances.push(...(r.Instances ?? []));
    token = page.NextToken || undefined;
  } while (token);
  return instances;
}

function groupResource(reading: Reading, g: SecurityGroup): DiscoveredResource {
  const { account, region } = reading.unit;
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
}

async function instanceResource(
  clients: CloudClients,
  reading: Reading,
  i: Instance,
): Promise<DiscoveredResource | null> {
  const { account, region } = reading.unit;
  const id = `arn:aws:ec2:${region}:${account}:instance/${i.InstanceId}`;
  let disableApiTermination: boolean | null;
  try {
    const attr = await clients.ec2(region).send(
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
  return {
    provider: 'aws',
    account,
    region,
    type: 'AwsEc2Instance',
    id,
    name: i.InstanceId as string,
    tags: tagMap(i.Tags),
    config: { ...config },
  };
}

const present = (i: Instance) => Boolean(i.InstanceId) && i.State?.Name !== 'terminated';

/** Every security group and instance of the unit's region. */
export async function discoverEc2(
  clients: CloudClients,
  reading: Reading,
): Promise<(DiscoveredResource | null)[]> {
  const groups = await describeGroups(clients, reading.unit.region);
  let instances: Instance[] = [];
  try {
    instances = await describeInstances(clients, reading.unit.region);
  } catch (error) {
    reading.fail('DescribeInstances', error, null);
  }
  const sgResources = groups.filter((g) => g.GroupId).map((g) => groupResource(reading, g));
  const instanceResources = await mapBounded(instances.filter(present), DETAIL_CONCURRENCY, (i) =>
    instanceResource(clients, reading, i),
  );
  return [...sgResources, ...instanceResources];
}

/** One security group by id; EC2 answers InvalidGroup.NotFound for one that does not exist. */
export async function discoverSecurityGroup(
  clients: CloudClients,
  reading: Reading,
  groupId: string,
): Promise<DiscoveredResource | null> {
  const [group] = await describeGroups(clients, reading.unit.region, [groupId]);
  return group?.GroupId ? groupResource(reading, group) : null;
}

/** One instance by id; null once it is terminated. */
export async function discoverInstance(
  clients: CloudClients,
  reading: Reading,
  instanceId: string,
): Promise<DiscoveredResource | null> {
  const [instance] = await describeInstances(clients, reading.unit.region, [instanceId]);
  return instance && present(instance) ? instanceResource(clients, reading, instance) : null;
}
