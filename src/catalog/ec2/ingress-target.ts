import { invalidInput } from '../../domain/errors.ts';
import type { FixInput } from '../fix.ts';
import {
  type IngressState,
  OPEN_IPV4,
  OPEN_IPV6,
  type Permission,
  type Range4,
  type Range6,
} from './ingress-state.ts';

/**
 * Which open ingress the finding is about, from the mapping's parameters:
 * `{ ports: [22] }` (TCP ports, and any rule for all traffic), `{ allPorts: true }`
 * (rules that open every port), `{ allBut: 'authorized' }` (everything open except the
 * operator's authorized TCP ports, as Security Hub's EC2.18 judges it). No parameters
 * mean the last: a finding that names no ports is about all of them.
 */
export type IngressTarget =
  | { kind: 'ports'; ports: number[] }
  | { kind: 'allPorts' }
  | { kind: 'allBut'; authorized: number[] };

const SHAPES = '{ "ports": [22] }, { "allPorts": true } or { "allBut": "authorized" }';

type Requested = { kind: 'ports'; ports: number[] } | { kind: 'allPorts' } | { kind: 'allBut' };

/** What the parameters ask for, before the operator's options are known. */
export function requestedBy(params: Record<string, unknown>): Requested {
  const keys = Object.keys(params);
  if (keys.length === 0 || (keys.length === 1 && params.allBut === 'authorized')) {
    return { kind: 'allBut' };
  }
  const ports = params.ports;
  if (keys.length === 1 && params.allPorts === true) return { kind: 'allPorts' };
  const valid =
    keys.length === 1 &&
    Array.isArray(ports) &&
    ports.length > 0 &&
    ports.every((p) => Number.isInteger(p) && (p as number) >= 0 && (p as number) <= 65535);
  if (!valid) {
    throw invalidInput(
      `ec2.revoke-open-ingress takes ${SHAPES} as parameters, got ${JSON.stringify(params)}`,
    );
  }
  return { kind: 'ports', ports: [...new Set(ports as number[])].sort((a, b) => a - b) };
}

export function targetOf(input: FixInput): IngressTarget {
  const requested = requestedBy(input.params);
  if (requested.kind !== 'allBut') return requested;
  const authorized = [...new Set(input.options.ec2AuthorizedPorts)].sort((a, b) => a - b);
  return { kind: 'allBut', authorized };
}

/** The target in words, for titles and messages. */
export function targetLabel(target: IngressTarget | Requested): string {
  switch (target.kind) {
    case 'ports':
      return target.ports.length === 1 ? `port ${target.ports[0]}` : `ports ${list(target.ports)}`;
    case 'allPorts':
      return 'all ports';
    case 'allBut':
      if (!('authorized' in target)) return 'unauthorized ports';
      return target.authorized.length
        ? `ports other than ${list(target.authorized)}`
        : 'every port';
  }
}

const list = (ports: readonly number[]) => ports.join(', ');

type Family = 'tcp' | 'udp' | 'all' | 'other';

function familyOf(p: Permission): Family {
  if (p.IpProtocol === '-1') return 'all';
  if (p.IpProtocol === 'tcp' || p.IpProtocol === 'udp') return p.IpProtocol;
  return 'other';
}

interface Coverage {
  targeted: boolean;
  /** What revoking the whole rule closes beyond what the finding is about, or null. */
  beyond: string | null;
}

const NOT_TARGETED: Coverage = { targeted: false, beyond: null };

/**
 * Whether a permission opens what the target is about, and what else revoking it
 * closes: a rule is revoked whole, never split into narrower ranges.
 */
export function coverage(p: Permission, target: IngressTarget): Coverage {
  const family = familyOf(p);
  const from = p.FromPort ?? 0;
  const to = p.ToPort ?? 65535;
  switch (target.kind) {
    case 'ports': {
      if (family === 'all') return { targeted: true, beyond: 'every other port and protocol' };
      if (family !== 'tcp') return NOT_TARGETED;
      const hit = target.ports.filter((port) => port >= from && port <= to);
      if (hit.length === 0) return NOT_TARGETED;
      const rest = gaps(from, to, hit);
      return {
        targeted: true,
        beyond: rest.length ? `TCP ${portsWord(rest)} ${rest.join(', ')}` : null,
      };
    }
    case 'allPorts': {
      const everyPort = (family === 'tcp' || family === 'udp') && from === 0 && to === 65535;
      return family === 'all' || everyPort ? { targeted: true, beyond: null } : NOT_TARGETED;
    }
    case 'allBut': {
      const inRange = target.authorized.filter((port) => port >= from && port <= to);
      if (family === 'all') {
        return {
          targeted: true,
          beyond: inRange.length
            ? `the authorized TCP ${portsWord(inRange)} ${list(inRange)}`
            : null,
        };
      }
      // Authorized ports are TCP ports, as EC2.18's authorizedTcpPorts; UDP has none.
      if (family === 'udp') return { targeted: true, beyond: null };
      if (family !== 'tcp') return NOT_TARGETED;
      if (inRange.length === to - from + 1) return NOT_TARGETED;
      return {
        targeted: true,
        beyond: inRange.length ? `the authorized TCP ${portsWord(inRange)} ${list(inRange)}` : null,
      };
    }
  }
}

const portsWord = (items: readonly unknown[]) =>
  items.length === 1 && !String(items[0]).includes('-') ? 'port' : 'ports';

/** The parts of [from, to] not in `hit` (sorted), as `a` or `a-b`. */
function gaps(from: number, to: number, hit: readonly number[]): string[] {
  const out: string[] = [];
  let start = from;
  for (const port of hit) {
    if (port > start) out.push(span(start, port - 1));
    start = port + 1;
  }
  if (start <= to) out.push(span(start, to));
  return out;
}

const span = (a: number, b: number) => (a === b ? `${a}` : `${a}-${b}`);

/** One rule the fix revokes: the open part of a permission, and what the reviewer must know. */
export interface Revocation {
  /** Protocol, ports and only the open ranges, with their descriptions. */
  permission: Permission;
  beyond: string | null;
  /** The sources of the same permission that stay. */
  kept: string[];
}

const isOpen4 = (r: Range4) => r.CidrIp === OPEN_IPV4;
const isOpen6 = (r: Range6) => r.CidrIpv6 === OPEN_IPV6;

export function revocationsFor(state: IngressState, target: IngressTarget): Revocation[] {
  const out: Revocation[] = [];
  for (const p of state.ingress) {
    const open4 = p.IpRanges.filter(isOpen4);
    const open6 = p.Ipv6Ranges.filter(isOpen6);
    if (open4.length + open6.length === 0) continue;
    const { targeted, beyond } = coverage(p, target);
    if (!targeted) continue;
    out.push({
      permission: {
        IpProtocol: p.IpProtocol,
        ...(p.FromPort === undefined ? {} : { FromPort: p.FromPort, ToPort: p.ToPort as number }),
        IpRanges: open4,
        Ipv6Ranges: open6,
        PrefixListIds: [],
        UserIdGroupPairs: [],
      },
      beyond,
      kept: [
        ...p.IpRanges.filter((r) => !isOpen4(r)).map((r) => r.CidrIp),
        ...p.Ipv6Ranges.filter((r) => !isOpen6(r)).map((r) => r.CidrIpv6),
        ...p.PrefixListIds.map((r) => `prefix list ${r.PrefixListId}`),
        ...p.UserIdGroupPairs.map((r) => `group ${r.GroupId ?? r.GroupName ?? '?'}`),
      ],
    });
  }
  return out;
}

/** The ingress once the revocations are made: open ranges gone, empty permissions dropped. */
export function withoutRevoked(
  state: IngressState,
  revocations: readonly Revocation[],
): IngressState {
  const revoked = new Set(revocations.map((r) => permissionKey(r.permission)));
  const ingress = state.ingress
    .map((p) =>
      revoked.has(permissionKey(p))
        ? {
            ...p,
            IpRanges: p.IpRanges.filter((r) => !isOpen4(r)),
            Ipv6Ranges: p.Ipv6Ranges.filter((r) => !isOpen6(r)),
          }
        : p,
    )
    .filter(
      (p) =>
        p.IpRanges.length +
          p.Ipv6Ranges.length +
          p.PrefixListIds.length +
          p.UserIdGroupPairs.length >
        0,
    );
  return { ...state, ingress };
}

/** Protocol and ports: what identifies a permission within a group's ingress. */
export function permissionKey(p: Pick<Permission, 'IpProtocol' | 'FromPort' | 'ToPort'>): string {
  return `${p.IpProtocol}|${p.FromPort ?? ''}|${p.ToPort ?? ''}`;
}

/** A permission as the SDK takes it in a call: empty lists left out. */
export function callPermission(p: Permission): Record<string, unknown> {
  return {
    IpProtocol: p.IpProtocol,
    ...(p.FromPort === undefined ? {} : { FromPort: p.FromPort, ToPort: p.ToPort }),
    ...(p.IpRanges.length ? { IpRanges: p.IpRanges.map((r) => ({ ...r })) } : {}),
    ...(p.Ipv6Ranges.length ? { Ipv6Ranges: p.Ipv6Ranges.map((r) => ({ ...r })) } : {}),
  };
}
