import type { ParamReader, QueryParams, QueryValue } from '../query/form.ts';
import type { XmlValue } from '../query/xml.ts';
import type { SandboxRequest, ServiceContext } from '../types.ts';
import { ec2Error } from './errors.ts';
import { type Ec2Region, type Ec2Store, GROUP_ID, type SecurityGroup, type Tag } from './model.ts';
import type { GroupPairJson, IpPermissionJson } from './permissions.ts';

/** What every EC2 operation works with. */
export interface Ec2Deps {
  store: Ec2Store;
  ctx: ServiceContext;
}

/** An EC2 operation, given the caller's account in the region the request was signed for. */
export type Ec2Operation = (
  deps: Ec2Deps,
  region: Ec2Region,
  p: ParamReader,
  raw: QueryParams,
) => XmlValue;

/** The caller's account in the region the request was signed for. */
export function regionOf(deps: Ec2Deps, req: SandboxRequest): Ec2Region {
  return deps.store.region(req.account, req.signer?.region || 'us-east-1');
}

/** Answers DryRunOperation once the request has been checked, as EC2 does. */
export function checkDryRun(p: ParamReader): void {
  if (p.bool('DryRun')) throw ec2Error.dryRun();
}

export function record(
  deps: Ec2Deps,
  region: Ec2Region,
  operation: string,
  resource: string,
  params: Record<string, unknown>,
): void {
  deps.ctx.record({
    service: 'ec2',
    operation,
    resource,
    account: region.account,
    region: region.region,
    params,
  });
}

export function checkGroupId(id: string): string {
  if (!GROUP_ID.test(id)) throw ec2Error.groupIdMalformed(id);
  return id;
}

export function groupById(region: Ec2Region, id: string): SecurityGroup {
  const group = region.groups.get(checkGroupId(id));
  if (!group) throw ec2Error.groupNotFound(id);
  return group;
}

/** A group named by name: EC2 resolves names only in the default VPC. */
export function groupByName(region: Ec2Region, name: string): SecurityGroup {
  const group = [...region.groups.values()].find(
    (g) => g.name === name && g.vpcId === region.defaultVpcId,
  );
  if (!group) throw ec2Error.groupNameNotFound(name, region.defaultVpcId);
  return group;
}

/** The group a call names with `GroupId` or, in the default VPC, `GroupName`. */
export function targetGroup(p: ParamReader, region: Ec2Region): SecurityGroup {
  const id = p.str('GroupId');
  if (id) return groupById(region, id);
  const name = p.str('GroupName');
  if (name) return groupByName(region, name);
  throw ec2Error.missingParameter('GroupId');
}

type Tree = { [key: string]: QueryValue };

function isTree(value: QueryValue | undefined): value is Tree {
  return typeof value === 'object' && !Array.isArray(value);
}

function items(value: QueryValue | undefined, name: string): Tree[] {
  if (value === undefined) return [];
  if (!Array.isArray(value) || !value.every(isTree)) {
    throw ec2Error.invalidParameter(`${name} must be a list of structures`);
  }
  return value as Tree[];
}

function str(tree: Tree, key: string, at: string): string | undefined {
  const value = tree[key];
  if (value === undefined) return undefined;
  if (typeof value !== 'string')
    throw ec2Error.invalidParameter(`${at}.${key} must be a single value`);
  return value;
}

function int(tree: Tree, key: string, at: string): number | undefined {
  const value = str(tree, key, at);
  if (value === undefined) return undefined;
  if (!/^-?\d+$/.test(value))
    throw ec2Error.invalidParameter(`Invalid value '${value}' for ${key}`);
  return Number(value);
}

/** Copies the named string fields that are present; the SDK omits the rest. */
function pick<K extends string>(
  tree: Tree,
  keys: readonly K[],
  at: string,
): Partial<Record<K, string>> {
  const out: Partial<Record<K, string>> = {};
  for (const key of keys) {
    const value = str(tree, key, at);
    if (value !== undefined) out[key] = value;
  }
  return out;
}

/**
 * The request's IpPermissions in the SDK's own terms (`UserIdGroupPairs`, numeric
 * ports), holding only what the caller sent; the wire calls the pairs `Groups`.
 */
export function permissionsFromForm(raw: QueryParams): IpPermissionJson[] {
  return items(raw.IpPermissions, 'IpPermissions').map((perm, i) => {
    const at = `IpPermissions.${i + 1}`;
    const protocol = str(perm, 'IpProtocol', at);
    if (protocol === undefined) throw ec2Error.missingParameter(`${at}.IpProtocol`);
    const from = int(perm, 'FromPort', at);
    const to = int(perm, 'ToPort', at);
    const out: IpPermissionJson = {
      IpProtocol: protocol,
      ...(from === undefined ? {} : { FromPort: from }),
      ...(to === undefined ? {} : { ToPort: to }),
    };
    const ranges = items(perm.IpRanges, `${at}.IpRanges`).map((r, j) =>
      pick(r, ['CidrIp', 'Description'], `${at}.IpRanges.${j + 1}`),
    );
    const ranges6 = items(perm.Ipv6Ranges, `${at}.Ipv6Ranges`).map((r, j) =>
      pick(r, ['CidrIpv6', 'Description'], `${at}.Ipv6Ranges.${j + 1}`),
    );
    const lists = items(perm.PrefixListIds, `${at}.PrefixListIds`).map((r, j) =>
      pick(r, ['PrefixListId', 'Description'], `${at}.PrefixListIds.${j + 1}`),
    );
    const pairs = items(perm.Groups, `${at}.Groups`).map((r, j): GroupPairJson =>
      pick(
        r,
        ['Description', 'UserId', 'GroupName', 'GroupId', 'VpcId', 'VpcPeeringConnectionId'],
        `${at}.Groups.${j + 1}`,
      ),
    );
    if (ranges.length) out.IpRanges = ranges as IpPermissionJson['IpRanges'];
    if (ranges6.length) out.Ipv6Ranges = ranges6 as IpPermissionJson['Ipv6Ranges'];
    if (lists.length) out.PrefixListIds = lists as IpPermissionJson['PrefixListIds'];
    if (pairs.length) out.UserIdGroupPairs = pairs;
    return out;
  });
}

/** The older single-rule form: `IpProtocol`, `FromPort`, `ToPort` and `CidrIp`. */
export function legacyPermission(p: ParamReader): IpPermissionJson | null {
  const cidr = p.str('CidrIp');
  const source = p.str('SourceSecurityGroupName');
  if (cidr === undefined && source === undefined) return null;
  const from = p.int('FromPort');
  const to = p.int('ToPort');
  const owner = p.str('SourceSecurityGroupOwnerId');
  return {
    IpProtocol: p.str('IpProtocol') ?? '-1',
    ...(from === undefined ? {} : { FromPort: from }),
    ...(to === undefined ? {} : { ToPort: to }),
    ...(cidr === undefined ? {} : { IpRanges: [{ CidrIp: cidr }] }),
    ...(source === undefined
      ? {}
      : { UserIdGroupPairs: [{ GroupName: source, ...(owner ? { UserId: owner } : {}) }] }),
  };
}

/** Tags from `TagSpecification.N` for one resource type. */
export function tagsFor(raw: QueryParams, resourceType: string): Tag[] {
  const tags: Tag[] = [];
  items(raw.TagSpecification, 'TagSpecification').forEach((spec, i) => {
    const at = `TagSpecification.${i + 1}`;
    if (str(spec, 'ResourceType', at) !== resourceType) return;
    items(spec.Tag, `${at}.Tag`).forEach((tag, j) => {
      const key = str(tag, 'Key', `${at}.Tag.${j + 1}`);
      if (!key) throw ec2Error.invalidParameter(`${at}.Tag.${j + 1}.Key is required`);
      tags.push({ Key: key, Value: str(tag, 'Value', `${at}.Tag.${j + 1}`) ?? '' });
    });
  });
  return tags;
}

/** TagSpecifications as the SDK input states them, for the mutation log. */
export function tagSpecsJson(raw: QueryParams): Record<string, unknown>[] {
  return items(raw.TagSpecification, 'TagSpecification').map((spec, i) => ({
    ...pick(spec, ['ResourceType'], `TagSpecification.${i + 1}`),
    Tags: items(spec.Tag, 'Tag').map((t, j) => pick(t, ['Key', 'Value'], `Tag.${j + 1}`)),
  }));
}
