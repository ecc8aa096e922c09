import { isDeepStrictEqual } from 'node:util';
import type { PlannedCall, ResourceRef, Reversibility } from '../../domain/action.ts';
import { conflict, invalidInput } from '../../domain/errors.ts';
import type { Fix, FixContext, FixInput, State } from '../fix.ts';
import { ec2Call, runEc2Call } from './calls.ts';
import {
  groupIdOf,
  type IngressState,
  normalizePermissions,
  type Permission,
  parseIngressState,
  portLabel,
} from './ingress-state.ts';
import {
  callPermission,
  permissionKey,
  requestedBy,
  type Revocation,
  revocationsFor,
  targetLabel,
  targetOf,
  withoutRevoked,
} from './ingress-target.ts';
import { ec2Sdk } from '../sdk.ts';

const TYPE = 'ec2.revoke-open-ingress';

const NEW_IDS_NOTE =
  'the rules come back with the same protocol, ports, ranges and descriptions, but EC2 ' +
  'gives them new security group rule ids (sgr-...)';

export const revokeOpenIngress: Fix = {
  type: TYPE,
  resourceType: 'AwsEc2SecurityGroup',
  service: 'ec2',
  risk: 'medium',
  summary:
    'Revokes the ingress rules that open the ports a finding is about to the whole internet ' +
    '(0.0.0.0/0 and ::/0), leaving every other source in place.',
  permissions: [
    'ec2:DescribeSecurityGroups',
    'ec2:RevokeSecurityGroupIngress',
    'ec2:AuthorizeSecurityGroupIngress',
  ],

  title: (resource, params) =>
    `Revoke internet ingress to ${titleTarget(params)} on security group ${resource.name}`,

  async read(ctx: FixContext, resource: ResourceRef): Promise<IngressState> {
    return readGroup(ctx, resource);
  },

  isCompliant: (state, input) => plan(state, input).revocations.length === 0,

  target(state, input) {
    const { parsed, revocations } = plan(state, input);
    return withoutRevoked(parsed, revocations);
  },

  calls: (resource, state, input) => revokeCalls(resource, state, input),

  rollbackCalls(resource, snapshot, input) {
    const { revocations } = plan(snapshot, input, resource);
    return authorizeCalls(
      resource,
      revocations.map((r) => r.permission),
    );
  },

  reversibility: (): Reversibility => ({ level: 'full', note: NEW_IDS_NOTE }),

  warnings(state, input) {
    const { revocations } = plan(state, input);
    const target = targetLabel(targetOf(input));
    const warnings = [
      `Anyone on the internet who reaches this group's ${target} today (administrators, ` +
        'clients, partners, health checks) is refused once the change is in place.',
    ];
    for (const r of revocations) {
      const rule = `${portLabel(r.permission)} from ${openSources(r.permission)}`;
      if (r.beyond) {
        warnings.push(
          `${rule} covers ${target} and is revoked whole: it also closes ${r.beyond} ` +
            'to the internet.',
        );
      }
      if (r.kept.length) warnings.push(`${rule}: the other sources stay (${r.kept.join(', ')}).`);
    }
    return warnings;
  },

  async apply(ctx, resource, state) {
    const input = { params: ctx.params, options: ctx.options };
    const calls = revokeCalls(resource, state, input);
    if (calls.length === 0) return;
    const out = await runEc2Call(ctx, resource, calls[0] as PlannedCall);
    // In a default VPC EC2 revokes what matches and only reports the rest.
    const unknown = out.UnknownIpPermissions ?? [];
    if (unknown.length > 0) {
      throw conflict(
        `security group ${resource.name} no longer had ${unknown.length} of the planned rules ` +
          `(${JSON.stringify(unknown)}); the rules it did have were revoked. Review the group ` +
          'and plan again',
      );
    }
    const after = await readGroup(ctx, resource);
    const expected = revokeOpenIngress.target(state, input);
    if (!isDeepStrictEqual(after, expected)) {
      throw conflict(
        `after the revoke security group ${resource.name} is not what the plan said: expected ` +
          `ingress ${JSON.stringify((expected as IngressState).ingress)}, found ` +
          `${JSON.stringify(after.ingress)}; someone else may be changing it`,
      );
    }
  },

  /** Re-authorizes only the revoked rules not back already, so a forced rollback cannot collide. */
  async restore(ctx, resource, snapshot) {
    const input = { params: ctx.params, options: ctx.options };
    const { revocations } = plan(snapshot, input, resource);
    const live = await readGroup(ctx, resource);
    const missing = revocations
      .map((r) => missingFrom(live, r.permission))
      .filter((p): p is Permission => p !== null);
    for (const call of authorizeCalls(resource, missing)) await runEc2Call(ctx, resource, call);
  },

  isRestored(live, snapshot, input) {
    const { revocations } = plan(snapshot, input);
    const now = parseIngressState(live);
    return revocations.every((r) => missingFrom(now, r.permission) === null);
  },
};

function plan(state: State, input: FixInput, resource: ResourceRef | null = null) {
  const parsed = parseIngressState(state, resource);
  return { parsed, revocations: revocationsFor(parsed, targetOf(input)) };
}

/** One call for every rule, so EC2 revokes them all or (outside a default VPC) none. */
function revokeCalls(resource: ResourceRef, state: State, input: FixInput): PlannedCall[] {
  const { parsed, revocations } = plan(state, input, resource);
  if (revocations.length === 0) return [];
  return [
    ec2Call('RevokeSecurityGroupIngress', {
      GroupId: parsed.groupId,
      IpPermissions: revocations.map((r: Revocation) => callPermission(r.permission)),
    }),
  ];
}

function authorizeCalls(resource: ResourceRef, permissions: readonly Permission[]): PlannedCall[] {
  if (permissions.length === 0) return [];
  return [
    ec2Call('AuthorizeSecurityGroupIngress', {
      GroupId: groupIdOf(resource),
      IpPermissions: permissions.map(callPermission),
    }),
  ];
}

/**
 * The part of a revoked permission that `state` lacks, with descriptions; null when all
 * of it is there, description included.
 */
function missingFrom(state: IngressState, revoked: Permission): Permission | null {
  const live = state.ingress.find((p) => permissionKey(p) === permissionKey(revoked));
  const has = (list: readonly object[], entry: object) =>
    list.some((e) => isDeepStrictEqual(e, entry));
  const IpRanges = revoked.IpRanges.filter((r) => !live || !has(live.IpRanges, r));
  const Ipv6Ranges = revoked.Ipv6Ranges.filter((r) => !live || !has(live.Ipv6Ranges, r));
  if (IpRanges.length + Ipv6Ranges.length === 0) return null;
  return { ...revoked, IpRanges, Ipv6Ranges };
}

async function readGroup(ctx: FixContext, resource: ResourceRef): Promise<IngressState> {
  const { DescribeSecurityGroupsCommand } = await ec2Sdk();
  const groupId = groupIdOf(resource);
  const client = ctx.clients.ec2(resource.region);
  const out = await client.send(new DescribeSecurityGroupsCommand({ GroupIds: [groupId] }));
  const group = out.SecurityGroups?.find((g) => g.GroupId === groupId);
  if (!group) {
    throw invalidInput(
      `DescribeSecurityGroups answered without security group ${groupId}; nothing was changed`,
    );
  }
  return {
    groupId,
    groupName: group.GroupName ?? '',
    vpcId: group.VpcId ?? null,
    ingress: normalizePermissions(JSON.parse(JSON.stringify(group.IpPermissions ?? []))),
  };
}

function openSources(p: Permission): string {
  return [...p.IpRanges.map((r) => r.CidrIp), ...p.Ipv6Ranges.map((r) => r.CidrIpv6)].join(' and ');
}

/** The title is made before any read, from the finding's parameters alone. */
function titleTarget(params: Record<string, unknown>): string {
  try {
    return targetLabel(requestedBy(params));
  } catch {
    return 'open ports';
  }
}
