import { list, type XmlValue } from '../query/xml.ts';
import type { Ec2Region, Instance, SecurityGroup, Tag } from './model.ts';
import { STATE_CODES } from './model.ts';
import { type ListedPermission, listPermissions, type Rule } from './permissions.ts';

/** EC2's response elements: lowerCamel names, lists as repeated `<item>`. */

export const tagSet = (tags: readonly Tag[]) =>
  list(
    'item',
    tags.map((t) => ({ key: t.Key, value: t.Value })),
  );

export function permissionXml(p: ListedPermission): XmlValue {
  return {
    ipProtocol: p.IpProtocol,
    fromPort: p.FromPort,
    toPort: p.ToPort,
    groups: list(
      'item',
      p.UserIdGroupPairs.map((pair) => ({
        description: pair.Description,
        userId: pair.UserId,
        groupId: pair.GroupId,
        vpcId: pair.VpcId,
        vpcPeeringConnectionId: pair.VpcPeeringConnectionId,
        peeringStatus: pair.PeeringStatus,
      })),
    ),
    ipRanges: list(
      'item',
      p.IpRanges.map((r) => ({ cidrIp: r.CidrIp, description: r.Description })),
    ),
    ipv6Ranges: list(
      'item',
      p.Ipv6Ranges.map((r) => ({ cidrIpv6: r.CidrIpv6, description: r.Description })),
    ),
    prefixListIds: list(
      'item',
      p.PrefixListIds.map((r) => ({ prefixListId: r.PrefixListId, description: r.Description })),
    ),
  };
}

export const permissionsXml = (rules: readonly Rule[]) =>
  list('item', listPermissions(rules).map(permissionXml));

export function groupArn(region: Ec2Region, g: SecurityGroup): string {
  return `arn:aws:ec2:${region.region}:${g.ownerId}:security-group/${g.id}`;
}

export function groupXml(region: Ec2Region, g: SecurityGroup): XmlValue {
  return {
    ownerId: g.ownerId,
    groupId: g.id,
    groupName: g.name,
    groupDescription: g.description,
    vpcId: g.vpcId,
    securityGroupArn: groupArn(region, g),
    ipPermissions: permissionsXml(g.rules.filter((r) => !r.egress)),
    ipPermissionsEgress: permissionsXml(g.rules.filter((r) => r.egress)),
    tagSet: tagSet(g.tags),
  };
}

/** The direction, ports and address source of a rule, in the order EC2 lists them. */
function ruleTraffic(r: Rule) {
  const s = r.source;
  return {
    isEgress: r.egress,
    ipProtocol: r.protocol,
    fromPort: r.fromPort ?? -1,
    toPort: r.toPort ?? -1,
    cidrIpv4: s.kind === 'ipv4' ? s.cidr : undefined,
    cidrIpv6: s.kind === 'ipv6' ? s.cidr : undefined,
    prefixListId: s.kind === 'prefixList' ? s.id : undefined,
  };
}

/** A rule as DescribeSecurityGroupRules and AuthorizeSecurityGroup* report it. */
export function ruleXml(region: Ec2Region, g: SecurityGroup, r: Rule): XmlValue {
  const s = r.source;
  return {
    securityGroupRuleId: r.id,
    groupId: g.id,
    groupOwnerId: g.ownerId,
    ...ruleTraffic(r),
    referencedGroupInfo:
      s.kind === 'group'
        ? {
            groupId: s.groupId,
            userId: s.userId,
            vpcId: s.vpcId,
            vpcPeeringConnectionId: s.peeringId,
            peeringStatus: s.peeringStatus,
          }
        : undefined,
    description: r.description ?? undefined,
    securityGroupRuleArn: `arn:aws:ec2:${region.region}:${g.ownerId}:security-group-rule/${r.id}`,
    tagSet: list('item', []),
  };
}

/** A rule as RevokeSecurityGroup* reports what it removed. */
export function revokedXml(g: SecurityGroup, r: Rule): XmlValue {
  const s = r.source;
  return {
    securityGroupRuleId: r.id,
    groupId: g.id,
    ...ruleTraffic(r),
    referencedGroupId: s.kind === 'group' ? s.groupId : undefined,
    description: r.description ?? undefined,
  };
}

export const stateXml = (name: Instance['state']) => ({ code: STATE_CODES[name], name });

export function instanceXml(region: Ec2Region, i: Instance): XmlValue {
  return {
    instanceId: i.id,
    imageId: i.imageId,
    instanceState: stateXml(i.state),
    privateDnsName: `ip-${i.privateIpAddress.replaceAll('.', '-')}.ec2.internal`,
    dnsName: '',
    reason: i.state === 'terminated' ? 'User initiated' : '',
    amiLaunchIndex: 0,
    instanceType: i.instanceType,
    launchTime: i.launchTime,
    placement: { availabilityZone: `${region.region}a`, tenancy: 'default' },
    monitoring: { state: 'disabled' },
    subnetId: i.subnetId ?? undefined,
    vpcId: i.vpcId,
    privateIpAddress: i.privateIpAddress,
    groupSet: groupSet(region, i.groupIds),
    tagSet: tagSet(i.tags),
    architecture: 'x86_64',
    rootDeviceType: 'ebs',
    rootDeviceName: '/dev/xvda',
    virtualizationType: 'hvm',
    hypervisor: 'xen',
    clientToken: i.clientToken ?? undefined,
    ebsOptimized: false,
    enaSupport: true,
    sourceDestCheck: true,
  };
}

export function groupSet(region: Ec2Region, ids: readonly string[]) {
  return list(
    'item',
    ids.map((id) => ({ groupId: id, groupName: region.groups.get(id)?.name })),
  );
}
