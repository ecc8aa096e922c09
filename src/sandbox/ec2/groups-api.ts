import { list } from '../query/xml.ts';
import { ec2Error } from './errors.ts';
import { applyFilters, type FilterFields, paginate, readFilters } from './filters.ts';
import { newId, type SecurityGroup, VPC_ID } from './model.ts';
import {
  checkDryRun,
  checkGroupId,
  type Ec2Operation,
  groupById,
  groupByName,
  record,
  tagsFor,
  tagSpecsJson,
  targetGroup,
} from './request.ts';
import { groupArn, groupXml, tagSet } from './xml.ts';

/** A new group allows all outbound IPv4 traffic, as on AWS. */
const DEFAULT_EGRESS = { protocol: '-1', fromPort: null, toPort: null } as const;

export const createSecurityGroup: Ec2Operation = (deps, region, p, raw) => {
  const name = p.str('GroupName');
  if (!name) throw ec2Error.missingParameter('GroupName');
  const description = p.str('GroupDescription');
  if (description === undefined) throw ec2Error.missingParameter('GroupDescription');
  if (name.length > 255 || description.length > 255) {
    throw ec2Error.invalidParameter('Group names and descriptions are limited to 255 characters');
  }
  if (/^sg-/i.test(name))
    throw ec2Error.invalidParameter('Group names may not be in the format sg-*');
  if (name === 'default') throw ec2Error.groupReserved(name);
  const vpcId = p.str('VpcId') ?? region.defaultVpcId;
  if (!VPC_ID.test(vpcId)) throw ec2Error.vpcNotFound(vpcId);
  const taken = [...region.groups.values()].some((g) => g.name === name && g.vpcId === vpcId);
  if (taken) throw ec2Error.groupDuplicate(name, vpcId);
  const tags = tagsFor(raw, 'security-group');
  checkDryRun(p);

  const group: SecurityGroup = {
    id: newId('sg'),
    name,
    description,
    vpcId,
    ownerId: region.account,
    tags,
    rules: [],
  };
  group.rules.push({
    id: newId('sgr'),
    egress: true,
    ...DEFAULT_EGRESS,
    source: { kind: 'ipv4', cidr: '0.0.0.0/0' },
    description: null,
  });
  region.groups.set(group.id, group);
  const specs = tagSpecsJson(raw);
  record(deps, region, 'CreateSecurityGroup', group.id, {
    GroupName: name,
    Description: description,
    ...(p.str('VpcId') ? { VpcId: vpcId } : {}),
    ...(specs.length ? { TagSpecifications: specs } : {}),
  });
  return {
    groupId: group.id,
    securityGroupArn: groupArn(region, group),
    tagSet: tags.length ? tagSet(tags) : undefined,
  };
};

const GROUP_FILTERS: FilterFields<SecurityGroup> = {
  'group-id': (g) => [g.id],
  'group-name': (g) => [g.name],
  'vpc-id': (g) => [g.vpcId],
  'owner-id': (g) => [g.ownerId],
  description: (g) => [g.description],
  'ip-permission.cidr': (g) => sources(g, false, (s) => (s.kind === 'ipv4' ? s.cidr : null)),
  'ip-permission.ipv6-cidr': (g) => sources(g, false, (s) => (s.kind === 'ipv6' ? s.cidr : null)),
  'ip-permission.prefix-list-id': (g) =>
    sources(g, false, (s) => (s.kind === 'prefixList' ? s.id : null)),
  'ip-permission.group-id': (g) =>
    sources(g, false, (s) => (s.kind === 'group' ? s.groupId : null)),
  'ip-permission.protocol': (g) => ingress(g).map((r) => r.protocol),
  'ip-permission.from-port': (g) => ingress(g).map((r) => String(r.fromPort ?? -1)),
  'ip-permission.to-port': (g) => ingress(g).map((r) => String(r.toPort ?? -1)),
  'egress.ip-permission.cidr': (g) => sources(g, true, (s) => (s.kind === 'ipv4' ? s.cidr : null)),
};

const ingress = (g: SecurityGroup) => g.rules.filter((r) => !r.egress);

function sources(
  g: SecurityGroup,
  egress: boolean,
  pickValue: (s: SecurityGroup['rules'][number]['source']) => string | null,
): string[] {
  return g.rules
    .filter((r) => r.egress === egress)
    .map((r) => pickValue(r.source))
    .filter((v): v is string => v !== null);
}

export const describeSecurityGroups: Ec2Operation = (deps, region, p, raw) => {
  const ids = p.strings('GroupId');
  const names = p.strings('GroupName');
  const filters = readFilters(raw);
  let groups = [...region.groups.values()];
  if (ids.length > 0) {
    ids.forEach(checkGroupId);
    const wanted = new Set(ids.map((id) => groupById(region, id).id));
    groups = groups.filter((g) => wanted.has(g.id));
  }
  if (names.length > 0) {
    const wanted = new Set(names.map((name) => groupByName(region, name).id));
    groups = groups.filter((g) => wanted.has(g.id));
  }
  const matched = applyFilters(groups, filters, GROUP_FILTERS, (g) => g.tags);
  const { page, nextToken } = paginate(matched, p.int('MaxResults'), p.str('NextToken'));
  return {
    securityGroupInfo: list(
      'item',
      page.map((g) => groupXml(region, g)),
    ),
    nextToken,
  };
};

export const deleteSecurityGroup: Ec2Operation = (deps, region, p) => {
  const group = targetGroup(p, region);
  if (group.name === 'default') throw ec2Error.cannotDeleteDefault(group.id);
  const usedByInstance = [...region.instances.values()].some(
    (i) => i.state !== 'terminated' && i.groupIds.includes(group.id),
  );
  const referenced = [...region.groups.values()].some(
    (g) =>
      g.id !== group.id &&
      g.rules.some((r) => r.source.kind === 'group' && r.source.groupId === group.id),
  );
  if (usedByInstance || referenced) throw ec2Error.dependencyViolation(group.id);
  checkDryRun(p);
  region.groups.delete(group.id);
  const named = p.str('GroupId') ? { GroupId: group.id } : { GroupName: group.name };
  record(deps, region, 'DeleteSecurityGroup', group.id, named);
  return { return: true, groupId: group.id };
};
