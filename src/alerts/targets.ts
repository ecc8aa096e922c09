import { lookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';
import { invalidInput } from '../domain/errors.ts';

/**
 * Addresses an alert must never reach: link-local ranges, where every cloud serves its
 * instance metadata (credentials included), and the metadata addresses outside them.
 * An IPv4-mapped IPv6 address is checked against the IPv4 ranges too.
 */
const FORBIDDEN = new BlockList();
FORBIDDEN.addSubnet('169.254.0.0', 16, 'ipv4');
FORBIDDEN.addAddress('100.100.100.200', 'ipv4');
FORBIDDEN.addSubnet('fe80::', 10, 'ipv6');
FORBIDDEN.addAddress('fd00:ec2::254', 'ipv6');

/** Names the clouds give their metadata services, resolvable only from inside them. */
const FORBIDDEN_NAMES = new Set([
  'metadata',
  'metadata.google.internal',
  'metadata.goog',
  'instance-data',
  'instance-data.ec2.internal',
]);

/** A host as a URL parser would see it: lower case, no brackets or final dot, and an IPv4
 * address in any of its spellings (`2852039166`, `0xa9.254.0251.254`) in dotted form. */
export function canonicalHost(host: string): string {
  let name = host.trim().toLowerCase();
  if (name.startsWith('[') && name.endsWith(']')) name = name.slice(1, -1);
  if (isIP(name) !== 6) {
    try {
      name = new URL(`http://${name}/`).hostname;
    } catch {
      // Not a host a URL could hold; the send fails on its own.
    }
  }
  return name.replace(/\.+$/, '');
}

/** Whether an address (IPv4 or IPv6 text) is link-local or a cloud metadata address. */
export function isForbiddenAddress(address: string): boolean {
  const bare = address.replace(/^\[|\]$/g, '').replace(/%.*$/, '');
  const family = isIP(bare);
  if (family === 0) return false;
  return FORBIDDEN.check(bare, family === 4 ? 'ipv4' : 'ipv6');
}

/** Whether a host (a name or an address) is one alerts must not go to, before resolving it. */
export function isForbiddenHost(host: string): boolean {
  const name = canonicalHost(host);
  return FORBIDDEN_NAMES.has(name) || isForbiddenAddress(name);
}

/** Refuses a channel whose `field` names a forbidden host, with a 400 naming the field. */
export function checkHost(field: 'url' | 'host', host: string): void {
  if (isForbiddenHost(host)) {
    throw invalidInput(
      `the channel ${field} points at a link-local or cloud metadata address ` +
        `(${canonicalHost(host)}); alerts are never sent there`,
      { fields: [field] },
    );
  }
}

export type Resolve = (host: string) => Promise<string[]>;

const resolveAll: Resolve = async (host) =>
  (await lookup(host, { all: true, verbatim: true })).map((a) => a.address);

/**
 * Why a send to `host` is refused, or undefined: the name is forbidden, or it resolves to
 * a forbidden address now (a channel stored before the check, or a name whose records
 * changed). A name that does not resolve is left to the send, which then fails to connect.
 */
export async function refusedTarget(
  host: string,
  resolve: Resolve = resolveAll,
): Promise<string | undefined> {
  const name = canonicalHost(host);
  const refusal = (address: string) =>
    `refused: the channel target ${address === name ? '' : `${name} `}resolves to the ` +
    `link-local or cloud metadata address ${address}`;
  if (isForbiddenHost(name)) return refusal(name);
  let addresses: string[];
  try {
    addresses = isIP(name) ? [name] : await resolve(name);
  } catch {
    return undefined;
  }
  const bad = addresses.find(isForbiddenAddress);
  return bad ? refusal(bad) : undefined;
}
