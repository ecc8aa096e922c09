import { isIPv4, isIPv6 } from 'node:net';

/**
 * Security group rules. EC2 stores one rule per (direction, protocol, ports, source);
 * its API speaks of IpPermissions, which group the sources of rules that share
 * protocol and ports. This module converts between the two.
 */

export type Source =
  | { kind: 'ipv4'; cidr: string }
  | { kind: 'ipv6'; cidr: string }
  | { kind: 'prefixList'; id: string }
  | {
      kind: 'group';
      groupId: string;
      userId: string;
      vpcId?: string;
      peeringId?: string;
      peeringStatus?: string;
    };

export interface Rule {
  /** `sgr-...` */
  id: string;
  egress: boolean;
  /** `tcp`, `udp`, `icmp`, `icmpv6`, `-1` or another protocol number. */
  protocol: string;
  /** Absent for protocols without ports (`-1`, protocol numbers); ICMP type and code. */
  fromPort: number | null;
  toPort: number | null;
  source: Source;
  description: string | null;
}

/** A rule before it has an id. */
export type RuleSpec = Omit<Rule, 'id'>;

interface Described {
  Description?: string;
}
export interface GroupPairJson extends Described {
  GroupId?: string;
  GroupName?: string;
  UserId?: string;
  VpcId?: string;
  VpcPeeringConnectionId?: string;
  PeeringStatus?: string;
}

/** An IpPermission as the SDK states it; the shape of requests, responses and state files. */
export interface IpPermissionJson {
  IpProtocol: string;
  FromPort?: number;
  ToPort?: number;
  IpRanges?: ({ CidrIp: string } & Described)[];
  Ipv6Ranges?: ({ CidrIpv6: string } & Described)[];
  PrefixListIds?: ({ PrefixListId: string } & Described)[];
  UserIdGroupPairs?: GroupPairJson[];
}

const PROTOCOL_NAMES: Record<string, string> = {
  '6': 'tcp',
  '17': 'udp',
  '1': 'icmp',
  '58': 'icmpv6',
};
const PORTED = new Set(['tcp', 'udp']);
const ICMP = new Set(['icmp', 'icmpv6']);
const PREFIX_LIST_ID = /^pl-[0-9a-f]{8,17}$/;
const DESCRIPTION = /^[a-zA-Z0-9. _\-:/()#,@[\]+=&;{}!$*]*$/;

/** How a caller reports a value it cannot accept, in its own error type. */
export type Invalid = (message: string) => Error;

export interface RuleContext {
  egress: boolean;
  invalid: Invalid;
  /** Refuses descriptions outside EC2's character set (the API does; state files may not). */
  strictDescriptions: boolean;
  /** Turns a pair naming a group into its id, or refuses it. */
  resolvePair(pair: GroupPairJson): { groupId: string; userId: string };
}

export function normalizeProtocol(raw: string, invalid: Invalid): string {
  const value = raw.trim().toLowerCase();
  if (value === '-1' || PORTED.has(value) || ICMP.has(value)) return value;
  if (/^\d{1,3}$/.test(value) && Number(value) <= 255) return PROTOCOL_NAMES[value] ?? value;
  throw invalid(`Invalid value '${raw}' for IP protocol. Unknown protocol.`);
}

/** The rules one IpPermission stands for, checked as EC2 checks them. */
export function rulesOf(perm: IpPermissionJson, ctx: RuleContext): RuleSpec[] {
  const protocol = normalizeProtocol(String(perm.IpProtocol ?? ''), ctx.invalid);
  const [fromPort, toPort] = portsOf(protocol, perm.FromPort, perm.ToPort, ctx.invalid);
  const base = { egress: ctx.egress, protocol, fromPort, toPort };
  const rules: RuleSpec[] = [];
  const add = (source: Source, description: unknown) =>
    rules.push({ ...base, source, description: descriptionOf(description, ctx) });
  for (const range of perm.IpRanges ?? []) {
    add({ kind: 'ipv4', cidr: cidr4(range.CidrIp, ctx.invalid) }, range.Description);
  }
  for (const range of perm.Ipv6Ranges ?? []) {
    add({ kind: 'ipv6', cidr: cidr6(range.CidrIpv6, ctx.invalid) }, range.Description);
  }
  for (const list of perm.PrefixListIds ?? []) {
    if (!PREFIX_LIST_ID.test(String(list.PrefixListId))) {
      throw ctx.invalid(`The prefix list ID '${list.PrefixListId}' is malformed`);
    }
    add({ kind: 'prefixList', id: list.PrefixListId }, list.Description);
  }
  for (const pair of perm.UserIdGroupPairs ?? []) {
    const { groupId, userId } = ctx.resolvePair(pair);
    add(
      {
        kind: 'group',
        groupId,
        userId,
        ...(pair.VpcId ? { vpcId: pair.VpcId } : {}),
        ...(pair.VpcPeeringConnectionId ? { peeringId: pair.VpcPeeringConnectionId } : {}),
        ...(pair.PeeringStatus ? { peeringStatus: pair.PeeringStatus } : {}),
      },
      pair.Description,
    );
  }
  if (rules.length === 0) {
    throw ctx.invalid(
      'Each IpPermission needs a source: IpRanges, Ipv6Ranges, PrefixListIds or UserIdGroupPairs',
    );
  }
  return rules;
}

function portsOf(
  protocol: string,
  from: unknown,
  to: unknown,
  invalid: Invalid,
): [number | null, number | null] {
  if (PORTED.has(protocol)) {
    if (from === undefined || to === undefined) {
      throw invalid(
        'Invalid value for portRange. Must specify both from and to ports with TCP/UDP.',
      );
    }
    const [f, t] = [port(from, 0, 65535, invalid), port(to, 0, 65535, invalid)];
    if (f > t) throw invalid(`Invalid TCP/UDP port range: from port ${f} is above to port ${t}`);
    return [f, t];
  }
  if (ICMP.has(protocol)) {
    if (from === undefined && to === undefined && protocol === 'icmpv6') return [-1, -1];
    if (from === undefined || to === undefined) {
      throw invalid('Invalid value for portRange. Must specify both ICMP type and code.');
    }
    return [port(from, -1, 255, invalid), port(to, -1, 255, invalid)];
  }
  // EC2 ignores ports for every other protocol, and reports none.
  return [null, null];
}

function port(value: unknown, min: number, max: number, invalid: Invalid): number {
  const n = typeof value === 'string' && /^-?\d+$/.test(value) ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < min || n > max) {
    throw invalid(`Invalid value '${String(value)}' for port: must be from ${min} to ${max}`);
  }
  return n;
}

function cidr4(value: unknown, invalid: Invalid): string {
  const [address, bits, extra] = String(value ?? '').split('/');
  const ok = extra === undefined && isIPv4(address ?? '') && prefix(bits, 32);
  if (!ok) throw invalid(`CIDR block ${String(value)} is malformed`);
  return String(value);
}

function cidr6(value: unknown, invalid: Invalid): string {
  const [address, bits, extra] = String(value ?? '').split('/');
  const ok = extra === undefined && isIPv6(address ?? '') && prefix(bits, 128);
  if (!ok) throw invalid(`CIDR block ${String(value)} is malformed`);
  return String(value);
}

function prefix(bits: string | undefined, max: number): boolean {
  return bits !== undefined && /^\d{1,3}$/.test(bits) && Number(bits) <= max;
}

function descriptionOf(value: unknown, ctx: RuleContext): string | null {
  if (value === undefined || value === null || value === '') return null;
  const text = String(value);
  if (text.length > 255 || (ctx.strictDescriptions && !DESCRIPTION.test(text))) {
    throw ctx.invalid(
      'Invalid rule description. Valid descriptions are strings less than 256 characters ' +
        'from the following set:  a-zA-Z0-9. _-:/()#,@[]+=&;{}!$*',
    );
  }
  return text;
}

/** What makes two rules the same rule; the description is not part of it. */
export function ruleKey(rule: RuleSpec): string {
  return [
    rule.egress ? 'egress' : 'ingress',
    rule.protocol,
    rule.fromPort ?? '',
    rule.toPort ?? '',
    sourceKey(rule.source),
  ].join('|');
}

function sourceKey(source: Source): string {
  switch (source.kind) {
    case 'ipv4':
    case 'ipv6':
      return `${source.kind}:${source.cidr}`;
    case 'prefixList':
      return `pl:${source.id}`;
    case 'group':
      return `group:${source.userId}/${source.groupId}`;
  }
}

/** The rule as EC2 words it in a duplicate-rule error. */
export function ruleText(rule: RuleSpec): string {
  const peer =
    rule.source.kind === 'group'
      ? rule.source.groupId
      : rule.source.kind === 'prefixList'
        ? rule.source.id
        : rule.source.cidr;
  const protocol = rule.protocol === '-1' ? 'ALL' : rule.protocol.toUpperCase();
  const ports =
    rule.fromPort === null ? '' : `, from port: ${rule.fromPort}, to port: ${rule.toPort}`;
  return `peer: ${peer}, ${protocol}${ports}, ALLOW`;
}

export type ListedPermission = IpPermissionJson &
  Required<
    Pick<IpPermissionJson, 'IpRanges' | 'Ipv6Ranges' | 'PrefixListIds' | 'UserIdGroupPairs'>
  >;

/**
 * Rules grouped into IpPermissions the way DescribeSecurityGroups reports them: one per
 * protocol and port range, every source list present even when empty.
 */
export function listPermissions(rules: readonly Rule[]): ListedPermission[] {
  const byPorts = new Map<string, ListedPermission>();
  for (const rule of rules) {
    const key = `${rule.protocol}|${rule.fromPort ?? ''}|${rule.toPort ?? ''}`;
    let perm = byPorts.get(key);
    if (!perm) {
      perm = {
        IpProtocol: rule.protocol,
        ...(rule.fromPort === null
          ? {}
          : { FromPort: rule.fromPort, ToPort: rule.toPort as number }),
        IpRanges: [],
        Ipv6Ranges: [],
        PrefixListIds: [],
        UserIdGroupPairs: [],
      };
      byPorts.set(key, perm);
    }
    const described = rule.description === null ? {} : { Description: rule.description };
    const s = rule.source;
    if (s.kind === 'ipv4') perm.IpRanges.push({ CidrIp: s.cidr, ...described });
    else if (s.kind === 'ipv6') perm.Ipv6Ranges.push({ CidrIpv6: s.cidr, ...described });
    else if (s.kind === 'prefixList') perm.PrefixListIds.push({ PrefixListId: s.id, ...described });
    else {
      perm.UserIdGroupPairs.push({
        ...described,
        UserId: s.userId,
        GroupId: s.groupId,
        ...(s.vpcId ? { VpcId: s.vpcId } : {}),
        ...(s.peeringId ? { VpcPeeringConnectionId: s.peeringId } : {}),
        ...(s.peeringStatus ? { PeeringStatus: s.peeringStatus } : {}),
      });
    }
  }
  return [...byPorts.values()];
}
