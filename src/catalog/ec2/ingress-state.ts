import type { ResourceRef } from '../../domain/action.ts';
import { invalidInput } from '../../domain/errors.ts';
import type { State } from '../fix.ts';

/**
 * A security group's ingress as the fix sees it: DescribeSecurityGroups' IpPermissions,
 * normalised so two reads of the same rules compare equal (one permission per protocol
 * and port range, every source list present, everything sorted).
 */

export interface Range4 {
  CidrIp: string;
  Description?: string;
}
export interface Range6 {
  CidrIpv6: string;
  Description?: string;
}
export interface PrefixList {
  PrefixListId: string;
  Description?: string;
}
/** A group reference, kept as EC2 reported it; the fix never changes one. */
export type GroupPair = Record<string, string>;

export interface Permission {
  IpProtocol: string;
  FromPort?: number;
  ToPort?: number;
  IpRanges: Range4[];
  Ipv6Ranges: Range6[];
  PrefixListIds: PrefixList[];
  UserIdGroupPairs: GroupPair[];
}

export interface IngressState extends State {
  groupId: string;
  groupName: string;
  vpcId: string | null;
  ingress: Permission[];
}

export const OPEN_IPV4 = '0.0.0.0/0';
export const OPEN_IPV6 = '::/0';

const TYPE = 'ec2.revoke-open-ingress';
const PROTOCOL_NAMES: Record<string, string> = {
  '6': 'tcp',
  '17': 'udp',
  '1': 'icmp',
  '58': 'icmpv6',
};

export function badState(field: string, value: unknown, expected: string) {
  return invalidInput(
    `${TYPE}: state field "${field}" must be ${expected}, got ${JSON.stringify(value)}; ` +
      'the state was not produced by this fix, so it cannot be used',
  );
}

/**
 * The group id of a resource: its name, which scanners set to the id, or else the end
 * of its ARN (`...:security-group/sg-...`).
 */
export function groupIdOf(resource: ResourceRef): string {
  const id = [resource.name, /:security-group\/(sg-[0-9a-f]+)$/.exec(resource.id)?.[1]].find(
    (candidate) => candidate !== undefined && /^sg-[0-9a-f]{8,17}$/.test(candidate),
  );
  if (!id) {
    throw invalidInput(
      `${TYPE} acts on security groups named by id (sg-...), but the resource is named ` +
        `"${resource.name}" (${resource.id}); import the finding with the group's ARN or id`,
    );
  }
  return id;
}

export function parseIngressState(state: State, resource: ResourceRef | null = null): IngressState {
  const { groupId, groupName, vpcId, ingress } = state;
  if (typeof groupId !== 'string' || groupId === '')
    throw badState('groupId', groupId, 'a group id');
  if (resource && groupIdOf(resource) !== groupId) {
    throw invalidInput(
      `${TYPE}: the state describes security group ${groupId} but the action is for ` +
        `${groupIdOf(resource)}; nothing was changed`,
    );
  }
  if (typeof groupName !== 'string') throw badState('groupName', groupName, 'a string');
  if (vpcId !== null && typeof vpcId !== 'string')
    throw badState('vpcId', vpcId, 'a VPC id or null');
  if (!Array.isArray(ingress)) throw badState('ingress', ingress, 'a list of IpPermissions');
  return { groupId, groupName, vpcId: vpcId ?? null, ingress: normalizePermissions(ingress) };
}

/**
 * IpPermissions in one canonical form. Accepts what EC2 and its SDKs return: protocol
 * numbers or names, absent lists, ports absent for protocol -1, empty descriptions.
 */
export function normalizePermissions(raw: readonly unknown[]): Permission[] {
  const byPorts = new Map<string, Permission>();
  raw.forEach((item, i) => {
    const at = `ingress[${i}]`;
    if (!isRecord(item)) throw badState(at, item, 'an IpPermission');
    const protocol = protocolOf(item.IpProtocol, `${at}.IpProtocol`);
    const ports = protocol === '-1' ? {} : portsOf(item, at);
    const key = `${protocol}|${ports.FromPort ?? ''}|${ports.ToPort ?? ''}`;
    const perm = byPorts.get(key) ?? {
      IpProtocol: protocol,
      ...ports,
      IpRanges: [],
      Ipv6Ranges: [],
      PrefixListIds: [],
      UserIdGroupPairs: [],
    };
    byPorts.set(key, perm);
    perm.IpRanges.push(...sources(item.IpRanges, 'CidrIp', `${at}.IpRanges`).map(asRange4));
    perm.Ipv6Ranges.push(...sources(item.Ipv6Ranges, 'CidrIpv6', `${at}.Ipv6Ranges`).map(asRange6));
    perm.PrefixListIds.push(
      ...sources(item.PrefixListIds, 'PrefixListId', `${at}.PrefixListIds`).map(asPrefixList),
    );
    perm.UserIdGroupPairs.push(...pairs(item.UserIdGroupPairs, `${at}.UserIdGroupPairs`));
  });
  const perms = [...byPorts.values()];
  for (const p of perms) {
    p.IpRanges.sort(by((r) => r.CidrIp));
    p.Ipv6Ranges.sort(by((r) => r.CidrIpv6));
    p.PrefixListIds.sort(by((r) => r.PrefixListId));
    p.UserIdGroupPairs.sort(by((r) => `${r.UserId ?? ''}/${r.GroupId ?? ''}`));
  }
  return perms.sort(by((p) => `${p.IpProtocol}|${pad(p.FromPort)}|${pad(p.ToPort)}`));
}

function protocolOf(value: unknown, at: string): string {
  if (typeof value !== 'string' || value.trim() === '') throw badState(at, value, 'a protocol');
  const lower = value.trim().toLowerCase();
  return PROTOCOL_NAMES[lower] ?? lower;
}

function portsOf(
  item: Record<string, unknown>,
  at: string,
): { FromPort?: number; ToPort?: number } {
  const port = (key: 'FromPort' | 'ToPort') => {
    const v = item[key];
    if (v === undefined || v === null) return undefined;
    const n = typeof v === 'string' && /^-?\d+$/.test(v) ? Number(v) : v;
    if (typeof n !== 'number' || !Number.isInteger(n)) throw badState(`${at}.${key}`, v, 'a port');
    return n;
  };
  const from = port('FromPort');
  const to = port('ToPort');
  return {
    ...(from === undefined ? {} : { FromPort: from }),
    ...(to === undefined ? {} : { ToPort: to }),
  };
}

function sources(value: unknown, key: string, at: string): Record<string, string>[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw badState(at, value, 'a list');
  return value.map((entry, i) => {
    if (!isRecord(entry) || typeof entry[key] !== 'string') {
      throw badState(`${at}[${i}]`, entry, `an entry with ${key}`);
    }
    const described = typeof entry.Description === 'string' && entry.Description !== '';
    return {
      [key]: entry[key] as string,
      ...(described ? { Description: entry.Description as string } : {}),
    };
  });
}

const asRange4 = (r: Record<string, string>) => r as unknown as Range4;
const asRange6 = (r: Record<string, string>) => r as unknown as Range6;
const asPrefixList = (r: Record<string, string>) => r as unknown as PrefixList;

function pairs(value: unknown, at: string): GroupPair[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw badState(at, value, 'a list');
  return value.map((entry, i) => {
    if (!isRecord(entry)) throw badState(`${at}[${i}]`, entry, 'a group pair');
    const out: GroupPair = {};
    for (const [k, v] of Object.entries(entry)) if (typeof v === 'string' && v !== '') out[k] = v;
    return out;
  });
}

function pad(n: number | undefined): string {
  return n === undefined ? '' : String(n + 1).padStart(6, '0');
}

function by<T>(key: (item: T) => string) {
  return (a: T, b: T) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0);
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** `tcp 22`, `tcp 0-65535`, `all traffic`, `icmp`: a rule's protocol and ports in words. */
export function portLabel(p: Pick<Permission, 'IpProtocol' | 'FromPort' | 'ToPort'>): string {
  if (p.IpProtocol === '-1') return 'all traffic';
  if (p.FromPort === undefined) return p.IpProtocol;
  if (p.IpProtocol === 'icmp' || p.IpProtocol === 'icmpv6') return p.IpProtocol;
  return p.FromPort === p.ToPort
    ? `${p.IpProtocol} ${p.FromPort}`
    : `${p.IpProtocol} ${p.FromPort}-${p.ToPort}`;
}
