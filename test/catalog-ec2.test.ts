import { isDeepStrictEqual } from 'node:util';
import {
  AuthorizeSecurityGroupIngressCommand,
  CreateSecurityGroupCommand,
  DescribeInstanceAttributeCommand,
  DescribeSecurityGroupsCommand,
  EC2Client,
  type EC2ServiceException,
  type IpPermission,
  ModifyInstanceAttributeCommand,
  RevokeSecurityGroupIngressCommand,
  RunInstancesCommand,
  TerminateInstancesCommand,
} from '@aws-sdk/client-ec2';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { enableTerminationProtection } from '../src/catalog/ec2/enable-termination-protection.ts';
import { revokeOpenIngress } from '../src/catalog/ec2/revoke-open-ingress.ts';
import type { FixContext, FixInput } from '../src/catalog/fix.ts';
import { createCatalog } from '../src/catalog/index.ts';
import { type CloudClients, createCloudClients } from '../src/cloud/clients.ts';
import type { ResourceRef } from '../src/domain/action.ts';
import { AppError } from '../src/domain/errors.ts';
import type { NormalizedFinding } from '../src/domain/finding.ts';
import { DEFAULT_FIX_OPTIONS } from '../src/domain/fix-options.ts';
import { createEngine } from '../src/engine/engine.ts';
import { contextWithoutLease } from '../src/engine/fix-context.ts';
import { fixRequestFor } from '../src/findings/mapping.ts';
import { type Sandbox, startSandbox } from '../src/sandbox/index.ts';
import { newAction } from '../src/service/new-action.ts';
import { createTestDatabase } from './helpers/databases.ts';
import { appliedSince, failure as failureOf, lastSeq } from './helpers/world.ts';

const REGION = 'us-east-1';
const ACCOUNT = '111122223333';
const VPC = 'vpc-0123456789abcdef0';

let sandbox: Sandbox;
let clients: CloudClients;
let ec2: EC2Client;

const cloud = (maxAttempts = 4) => ({
  defaultRegion: REGION,
  endpoint: sandbox.url,
  credentials: { accessKeyId: 'AKIACATALOGEC2', secretAccessKey: 'catalog-secret' },
  maxAttempts,
});

const input = (params: Record<string, unknown>, options = DEFAULT_FIX_OPTIONS): FixInput => ({
  params,
  options,
});

function context(params: Record<string, unknown>, options = DEFAULT_FIX_OPTIONS): FixContext {
  return contextWithoutLease(clients, pino({ level: 'silent' }), input(params, options));
}

const groupRef = (id: string): ResourceRef => ({
  provider: 'aws',
  account: ACCOUNT,
  region: REGION,
  type: 'AwsEc2SecurityGroup',
  id: `arn:aws:ec2:${REGION}:${ACCOUNT}:security-group/${id}`,
  name: id,
});

const instanceRef = (id: string): ResourceRef => ({
  provider: 'aws',
  account: ACCOUNT,
  region: REGION,
  type: 'AwsEc2Instance',
  id: `arn:aws:ec2:${REGION}:${ACCOUNT}:instance/${id}`,
  name: id,
});

/** The error a call fails with. */
const failure = (call: Promise<unknown>) => failureOf<EC2ServiceException & AppError>(call);

async function group(ingress: IpPermission[], vpcId: string | null = VPC): Promise<string> {
  const out = await ec2.send(
    new CreateSecurityGroupCommand({
      GroupName: `g-${Math.random().toString(36).slice(2, 10)}`,
      Description: 'test group',
      ...(vpcId ? { VpcId: vpcId } : {}),
    }),
  );
  const id = out.GroupId as string;
  const resolved = JSON.parse(JSON.stringify(ingress).replaceAll('SELF', id)) as IpPermission[];
  if (resolved.length) {
    await ec2.send(
      new AuthorizeSecurityGroupIngressCommand({ GroupId: id, IpPermissions: resolved }),
    );
  }
  return id;
}

async function liveIngress(id: string) {
  const out = await ec2.send(new DescribeSecurityGroupsCommand({ GroupIds: [id] }));
  return out.SecurityGroups?.[0]?.IpPermissions ?? [];
}

/**
 * IpPermissions in a fixed order. EC2 promises no order, and re-authorized rules are
 * listed after the others, so a restored group is compared rule for rule.
 */
function canonical(perms: IpPermission[]) {
  const sorted = <T>(list: T[] | undefined) =>
    [...(list ?? [])].sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
  return perms
    .map((p) => ({
      ...p,
      IpRanges: sorted(p.IpRanges),
      Ipv6Ranges: sorted(p.Ipv6Ranges),
      PrefixListIds: sorted(p.PrefixListIds),
      UserIdGroupPairs: sorted(p.UserIdGroupPairs),
    }))
    .sort((a, b) =>
      JSON.stringify([a.IpProtocol, a.FromPort, a.ToPort]).localeCompare(
        JSON.stringify([b.IpProtocol, b.FromPort, b.ToPort]),
      ),
    );
}

const tcp = (from: number, rest: Omit<IpPermission, 'IpProtocol'>, to = from): IpPermission => ({
  IpProtocol: 'tcp',
  FromPort: from,
  ToPort: to,
  ...rest,
});
const open4 = (Description?: string) => ({
  CidrIp: '0.0.0.0/0',
  ...(Description ? { Description } : {}),
});
const open6 = (Description?: string) => ({
  CidrIpv6: '::/0',
  ...(Description ? { Description } : {}),
});

beforeEach(async () => {
  sandbox = await startSandbox({ seed: 'empty' });
  clients = createCloudClients(cloud());
  ec2 = new EC2Client({ region: REGION, ...cloud() });
});

afterEach(async () => {
  ec2.destroy();
  clients.destroy();
  await sandbox.close();
});

describe('ec2.revoke-open-ingress', () => {
  const fix = revokeOpenIngress;

  /** Applies the fix and rolls it back, checking every step against the plan. */
  async function roundTrip(
    id: string,
    params: Record<string, unknown>,
    options = DEFAULT_FIX_OPTIONS,
  ) {
    const ctx = context(params, options);
    const resource = groupRef(id);
    const before = await liveIngress(id);
    const state = await fix.read(ctx, resource);
    const fixInput = input(params, options);
    expect(fix.isCompliant(state, fixInput)).toBe(false);
    const calls = fix.calls(resource, state, fixInput);
    const rollbackCalls = fix.rollbackCalls(resource, state, fixInput);
    const snapshot = structuredClone(state);

    const seq = lastSeq(sandbox);
    await fix.apply(ctx, resource, state);
    expect(appliedSince(sandbox, seq)).toEqual(calls);
    const after = await fix.read(ctx, resource);
    expect(after).toEqual(fix.target(snapshot, fixInput));
    expect(fix.isCompliant(after, fixInput)).toBe(true);
    const applied = await liveIngress(id);

    const restoreSeq = lastSeq(sandbox);
    await fix.restore(ctx, resource, snapshot);
    expect(appliedSince(sandbox, restoreSeq)).toEqual(rollbackCalls);
    expect(canonical(await liveIngress(id))).toEqual(canonical(before));
    const restored = await fix.read(ctx, resource);
    expect(restored).toEqual(snapshot);
    expect(fix.isRestored(restored, snapshot, fixInput)).toBe(true);
    return { state, calls, rollbackCalls, applied, warnings: fix.warnings(state, fixInput) };
  }

  it('revokes the open part of the port 22 rules, whole ranges too, and restores', async () => {
    const id = await group([
      tcp(22, {
        IpRanges: [open4('vendor access'), { CidrIp: '10.0.0.0/8', Description: 'vpn' }],
        Ipv6Ranges: [open6()],
        UserIdGroupPairs: [{ GroupId: 'SELF', Description: 'cluster peers' }],
        PrefixListIds: [{ PrefixListId: 'pl-63a5400b' }],
      }),
      tcp(20, { IpRanges: [open4()] }, 30),
      tcp(443, { IpRanges: [open4()] }),
      { IpProtocol: 'udp', FromPort: 22, ToPort: 22, IpRanges: [open4()] },
      { IpProtocol: '-1', IpRanges: [{ CidrIp: '10.1.0.0/16' }] },
    ]);
    const { calls, rollbackCalls, applied, warnings } = await roundTrip(id, { ports: [22] });

    const revoked = [
      { IpProtocol: 'tcp', FromPort: 20, ToPort: 30, IpRanges: [{ CidrIp: '0.0.0.0/0' }] },
      {
        IpProtocol: 'tcp',
        FromPort: 22,
        ToPort: 22,
        IpRanges: [{ CidrIp: '0.0.0.0/0', Description: 'vendor access' }],
        Ipv6Ranges: [{ CidrIpv6: '::/0' }],
      },
    ];
    expect(calls).toEqual([
      {
        service: 'ec2',
        operation: 'RevokeSecurityGroupIngress',
        parameters: { GroupId: id, IpPermissions: revoked },
      },
    ]);
    expect(rollbackCalls).toEqual([
      {
        service: 'ec2',
        operation: 'AuthorizeSecurityGroupIngress',
        parameters: { GroupId: id, IpPermissions: revoked },
      },
    ]);
    expect(applied).toEqual([
      expect.objectContaining({
        IpProtocol: 'tcp',
        FromPort: 22,
        IpRanges: [{ CidrIp: '10.0.0.0/8', Description: 'vpn' }],
        Ipv6Ranges: [],
        PrefixListIds: [{ PrefixListId: 'pl-63a5400b' }],
        UserIdGroupPairs: [{ UserId: ACCOUNT, GroupId: id, Description: 'cluster peers' }],
      }),
      expect.objectContaining({
        IpProtocol: 'tcp',
        FromPort: 443,
        IpRanges: [{ CidrIp: '0.0.0.0/0' }],
      }),
      expect.objectContaining({ IpProtocol: 'udp', FromPort: 22 }),
      expect.objectContaining({ IpProtocol: '-1', IpRanges: [{ CidrIp: '10.1.0.0/16' }] }),
    ]);
    expect(warnings).toContain(
      'tcp 20-30 from 0.0.0.0/0 covers port 22 and is revoked whole: it also closes TCP ports ' +
        '20-21, 23-30 to the internet.',
    );
    expect(warnings).toContain(
      'tcp 22 from 0.0.0.0/0 and ::/0: the other sources stay (10.0.0.0/8, prefix list ' +
        `pl-63a5400b, group ${id}).`,
    );
  });

  it('counts a rule for all traffic as every port, and says what else it closes', async () => {
    const id = await group([
      { IpProtocol: '-1', IpRanges: [open4('legacy')], UserIdGroupPairs: [{ GroupId: 'SELF' }] },
    ]);
    const { calls, warnings } = await roundTrip(id, { ports: [3389] });
    expect(calls[0]?.parameters.IpPermissions).toEqual([
      { IpProtocol: '-1', IpRanges: [{ CidrIp: '0.0.0.0/0', Description: 'legacy' }] },
    ]);
    expect(warnings).toContain(
      'all traffic from 0.0.0.0/0 covers port 3389 and is revoked whole: it also closes every ' +
        'other port and protocol to the internet.',
    );
  });

  it('for EC2.18 revokes all open but the authorized TCP ports, as configured', async () => {
    const id = await group([
      tcp(80, { IpRanges: [open4()] }),
      tcp(443, { IpRanges: [open4()], Ipv6Ranges: [open6()] }),
      tcp(8080, { IpRanges: [open4('staging')] }),
      tcp(80, { IpRanges: [open4()] }, 443),
      { IpProtocol: 'udp', FromPort: 53, ToPort: 53, IpRanges: [open4()] },
      { IpProtocol: 'icmp', FromPort: -1, ToPort: -1, IpRanges: [open4()] },
      { IpProtocol: '-1', Ipv6Ranges: [open6()] },
    ]);
    const { calls, warnings } = await roundTrip(id, { allBut: 'authorized' });
    expect(calls[0]?.parameters.IpPermissions).toEqual([
      { IpProtocol: '-1', Ipv6Ranges: [{ CidrIpv6: '::/0' }] },
      { IpProtocol: 'tcp', FromPort: 80, ToPort: 443, IpRanges: [{ CidrIp: '0.0.0.0/0' }] },
      {
        IpProtocol: 'tcp',
        FromPort: 8080,
        ToPort: 8080,
        IpRanges: [{ CidrIp: '0.0.0.0/0', Description: 'staging' }],
      },
      { IpProtocol: 'udp', FromPort: 53, ToPort: 53, IpRanges: [{ CidrIp: '0.0.0.0/0' }] },
    ]);
    expect(warnings).toContain(
      'tcp 80-443 from 0.0.0.0/0 covers ports other than 80, 443 and is revoked whole: it also ' +
        'closes the authorized TCP ports 80, 443 to the internet.',
    );

    const wider = { ...DEFAULT_FIX_OPTIONS, ec2AuthorizedPorts: [80, 443, 8080] };
    const state = await fix.read(context({}), groupRef(id));
    const ports = fix.calls(groupRef(id), state, input({}, wider))[0]?.parameters.IpPermissions as {
      FromPort?: number;
    }[];
    expect(ports.map((p) => p.FromPort)).toEqual([undefined, 80, 53]);
  });

  it("for Prowler's all-ports check revokes only the rules that open every port", async () => {
    const id = await group([
      { IpProtocol: '-1', IpRanges: [open4()] },
      tcp(0, { Ipv6Ranges: [open6()] }, 65535),
      tcp(22, { IpRanges: [open4()] }),
    ]);
    const { calls } = await roundTrip(id, { allPorts: true });
    expect((calls[0]?.parameters.IpPermissions as IpPermission[]).map((p) => p.IpProtocol)).toEqual(
      ['-1', 'tcp'],
    );
    expect((await liveIngress(id)).length).toBe(3);
  });

  it('leaves a group with nothing open to the internet alone', async () => {
    const id = await group([
      tcp(22, { IpRanges: [{ CidrIp: '10.0.0.0/8' }], UserIdGroupPairs: [{ GroupId: 'SELF' }] }),
      tcp(8080, { IpRanges: [open4()] }),
    ]);
    const ctx = context({ ports: [22] });
    const state = await fix.read(ctx, groupRef(id));
    expect(fix.isCompliant(state, input({ ports: [22] }))).toBe(true);
    expect(fix.calls(groupRef(id), state, input({ ports: [22] }))).toEqual([]);
    expect(fix.target(state, input({ ports: [22] }))).toEqual(state);
    const seq = lastSeq(sandbox);
    await fix.apply(ctx, groupRef(id), state);
    expect(appliedSince(sandbox, seq)).toEqual([]);
  });

  /** Reads group `id` for ports 22 and 3389, lets someone else revoke 3389, then applies. */
  async function applyAfterRdpRevoked(id: string) {
    const ctx = context({ ports: [22, 3389] });
    const state = await fix.read(ctx, groupRef(id));
    await ec2.send(
      new RevokeSecurityGroupIngressCommand({
        GroupId: id,
        IpPermissions: [tcp(3389, { IpRanges: [open4()] })],
      }),
    );
    return failure(fix.apply(ctx, groupRef(id), state));
  }

  it('fails with InvalidPermission.NotFound when a planned rule went away', async () => {
    const id = await group([tcp(22, { IpRanges: [open4()] }), tcp(3389, { IpRanges: [open4()] })]);
    const err = await applyAfterRdpRevoked(id);
    expect(err.name).toBe('InvalidPermission.NotFound');
    expect(err.$metadata.httpStatusCode).toBe(400);
    expect(await liveIngress(id)).toEqual([expect.objectContaining({ FromPort: 22 })]);
  });

  it('in a default VPC says which planned rules EC2 no longer knew', async () => {
    const id = await group(
      [tcp(22, { IpRanges: [open4()] }), tcp(3389, { IpRanges: [open4()] })],
      null,
    );
    const err = await applyAfterRdpRevoked(id);
    expect(err).toBeInstanceOf(AppError);
    expect(err.code).toBe('conflict');
    expect(err.message).toMatch(
      new RegExp(`security group ${id} no longer had 1 of the planned rules`),
    );
    expect(err.message).toContain('3389');
  });

  it('verifies that exactly the planned rules are gone and nothing else changed', async () => {
    const id = await group([tcp(22, { IpRanges: [open4()] })]);
    const ctx = context({ ports: [22] });
    const state = await fix.read(ctx, groupRef(id));
    sandbox.injectFault({
      service: 'ec2',
      operation: 'DescribeSecurityGroups',
      kind: 'latency',
      ms: 400,
    });
    const applying = fix.apply(ctx, groupRef(id), state);
    const until = Date.now() + 5_000;
    while (!sandbox.mutations().some((m) => m.operation === 'RevokeSecurityGroupIngress')) {
      if (Date.now() > until) throw new Error('the revoke never arrived');
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    await ec2.send(
      new AuthorizeSecurityGroupIngressCommand({
        GroupId: id,
        IpPermissions: [tcp(5432, { IpRanges: [{ CidrIp: '10.9.0.0/16' }] })],
      }),
    );
    const err = await failure(applying);
    expect(err.code).toBe('conflict');
    expect(err.message).toContain(
      `after the revoke security group ${id} is not what the plan said`,
    );
  });

  it('retries a throttled revoke and makes it once', async () => {
    const id = await group([tcp(22, { IpRanges: [open4()] })]);
    const ctx = context({ ports: [22] });
    const state = await fix.read(ctx, groupRef(id));
    sandbox.injectFault({
      service: 'ec2',
      operation: 'RevokeSecurityGroupIngress',
      kind: 'throttle',
      count: 2,
    });
    const seq = lastSeq(sandbox);
    await fix.apply(ctx, groupRef(id), state);
    expect(appliedSince(sandbox, seq).map((c) => c.operation)).toEqual([
      'RevokeSecurityGroupIngress',
    ]);
    expect(await liveIngress(id)).toEqual([]);
  });

  it('re-authorizes only what is missing when a rollback is forced', async () => {
    const id = await group([
      tcp(22, { IpRanges: [open4('a')] }),
      tcp(23, { IpRanges: [open4('b')] }),
    ]);
    const ctx = context({ ports: [22, 23] });
    const snapshot = await fix.read(ctx, groupRef(id));
    await fix.apply(ctx, groupRef(id), snapshot);
    await ec2.send(
      new AuthorizeSecurityGroupIngressCommand({
        GroupId: id,
        IpPermissions: [tcp(23, { IpRanges: [open4('b')] })],
      }),
    );
    const live = await fix.read(ctx, groupRef(id));
    expect(isDeepStrictEqual(live, fix.target(snapshot, input({ ports: [22, 23] })))).toBe(false);
    expect(fix.isRestored(live, snapshot, input({ ports: [22, 23] }))).toBe(false);

    const seq = lastSeq(sandbox);
    await fix.restore(ctx, groupRef(id), snapshot);
    expect(appliedSince(sandbox, seq)).toEqual([
      {
        service: 'ec2',
        operation: 'AuthorizeSecurityGroupIngress',
        parameters: {
          GroupId: id,
          IpPermissions: [
            {
              IpProtocol: 'tcp',
              FromPort: 22,
              ToPort: 22,
              IpRanges: [{ CidrIp: '0.0.0.0/0', Description: 'a' }],
            },
          ],
        },
      },
    ]);
    expect(await fix.read(ctx, groupRef(id))).toEqual(snapshot);
  });

  it('propagates InvalidGroup.NotFound from the read', async () => {
    const err = await failure(fix.read(context({ ports: [22] }), groupRef('sg-0123456789abcdef0')));
    expect(err.name).toBe('InvalidGroup.NotFound');
  });

  it('refuses parameters it does not understand, and a snapshot of another group', async () => {
    const id = await group([tcp(22, { IpRanges: [open4()] })]);
    const state = await fix.read(context({}), groupRef(id));
    for (const params of [
      { ports: [] },
      { ports: ['22'] },
      { ports: [70000] },
      { allPorts: 1 },
      { ports: [22], allPorts: true },
    ]) {
      expect(() => fix.isCompliant(state, input(params))).toThrow(/takes \{ "ports": \[22\] \}/);
    }
    const seq = lastSeq(sandbox);
    const err = await failure(fix.restore(context({}), groupRef('sg-0aaaaaaaaaaaaaaaa'), state));
    expect(err.code).toBe('invalid_input');
    expect(err.message).toContain(`describes security group ${id}`);
    expect(appliedSince(sandbox, seq)).toEqual([]);
    const byName = { ...groupRef(id), name: 'web-sg' };
    expect((await fix.read(context({}), byName)).groupId).toBe(id);
    await expect(fix.read(context({}), { ...byName, id: 'web-sg' })).rejects.toThrow(
      /named by id \(sg-\.\.\.\)/,
    );
  });

  it('titles the action for the ports the finding is about', () => {
    const resource = groupRef('sg-0aaaaaaaaaaaaaaaa');
    expect(fix.title(resource, { ports: [22] })).toBe(
      'Revoke internet ingress to port 22 on security group sg-0aaaaaaaaaaaaaaaa',
    );
    expect(fix.title(resource, { ports: [20, 21] })).toContain('ports 20, 21');
    expect(fix.title(resource, {})).toContain('unauthorized ports');
    expect(fix.title(resource, { allPorts: true })).toContain('all ports');
  });
});

describe('ec2.enable-termination-protection', () => {
  const fix = enableTerminationProtection;

  async function instance(
    opts: { protect?: boolean; shutdown?: 'stop' | 'terminate'; asg?: string } = {},
  ) {
    const out = await ec2.send(
      new RunInstancesCommand({
        ImageId: 'ami-0abcdef1234567890',
        MinCount: 1,
        MaxCount: 1,
        DisableApiTermination: opts.protect ?? false,
        ...(opts.shutdown ? { InstanceInitiatedShutdownBehavior: opts.shutdown } : {}),
        ...(opts.asg
          ? {
              TagSpecifications: [
                {
                  ResourceType: 'instance',
                  Tags: [{ Key: 'aws:autoscaling:groupName', Value: opts.asg }],
                },
              ],
            }
          : {}),
      }),
    );
    return out.Instances?.[0]?.InstanceId as string;
  }

  const protection = async (id: string) =>
    (
      await ec2.send(
        new DescribeInstanceAttributeCommand({
          InstanceId: id,
          Attribute: 'disableApiTermination',
        }),
      )
    ).DisableApiTermination?.Value;

  it('turns protection on, verifies it, and sets it back to the snapshot', async () => {
    const id = await instance();
    const ctx = context({});
    const resource = instanceRef(id);
    const state = await fix.read(ctx, resource);
    expect(state).toEqual({
      instanceId: id,
      disableApiTermination: false,
      terminated: false,
      shutdownBehavior: 'stop',
      autoScalingGroup: null,
    });
    expect(fix.isCompliant(state, input({}))).toBe(false);
    expect(fix.refusal?.(state, input({}))).toBeNull();
    expect(fix.reversibility(state, input({})).level).toBe('full');
    const calls = fix.calls(resource, state, input({}));
    expect(calls).toEqual([
      {
        service: 'ec2',
        operation: 'ModifyInstanceAttribute',
        parameters: { InstanceId: id, DisableApiTermination: { Value: true } },
      },
    ]);
    const rollbackCalls = fix.rollbackCalls(resource, state, input({}));

    const seq = lastSeq(sandbox);
    await fix.apply(ctx, resource, state);
    expect(appliedSince(sandbox, seq)).toEqual(calls);
    expect(await protection(id)).toBe(true);
    const after = await fix.read(ctx, resource);
    expect(after).toEqual(fix.target(state, input({})));
    expect(fix.isCompliant(after, input({}))).toBe(true);
    expect(
      (await failure(ec2.send(new TerminateInstancesCommand({ InstanceIds: [id] })))).name,
    ).toBe('OperationNotPermitted');

    const restoreSeq = lastSeq(sandbox);
    await fix.restore(ctx, resource, state);
    expect(appliedSince(sandbox, restoreSeq)).toEqual(rollbackCalls);
    expect(await protection(id)).toBe(false);
    const restored = await fix.read(ctx, resource);
    expect(restored).toEqual(state);
    expect(fix.isRestored(restored, state, input({}))).toBe(true);
  });

  it('changes nothing on a protected instance, and its rollback keeps it protected', async () => {
    const id = await instance({ protect: true });
    const state = await fix.read(context({}), instanceRef(id));
    expect(fix.isCompliant(state, input({}))).toBe(true);
    expect(fix.calls(instanceRef(id), state, input({}))).toEqual([]);
    expect(fix.rollbackCalls(instanceRef(id), state, input({}))[0]?.parameters).toEqual({
      InstanceId: id,
      DisableApiTermination: { Value: true },
    });
  });

  it('refuses a terminated instance before approval', async () => {
    const id = await instance();
    await ec2.send(new TerminateInstancesCommand({ InstanceIds: [id] }));
    const state = await fix.read(context({}), instanceRef(id));
    expect(fix.refusal?.(state, input({}))).toBe(
      `instance ${id} is terminated or shutting down; there is nothing left to protect, and EC2 ` +
        'refuses to change its attributes',
    );
  });

  it('warns about Auto Scaling and a terminate shutdown behaviour', async () => {
    const id = await instance({ shutdown: 'terminate', asg: 'web-asg' });
    const state = await fix.read(context({}), instanceRef(id));
    expect(state).toMatchObject({ shutdownBehavior: 'terminate', autoScalingGroup: 'web-asg' });
    const warnings = fix.warnings(state, input({}));
    expect(warnings).toHaveLength(3);
    expect(warnings[1]).toContain('Auto Scaling group web-asg');
    expect(warnings[2]).toContain('shutdown behaviour is terminate');
  });

  it('reads the flag however AWS outputs write it', () => {
    const base = {
      instanceId: 'i-0aaaaaaaaaaaaaaaa',
      terminated: false,
      shutdownBehavior: 'stop',
      autoScalingGroup: null,
    };
    const compliant = (flag: unknown) =>
      fix.isCompliant({ ...base, disableApiTermination: flag }, input({}));
    expect(compliant('false')).toBe(false);
    expect(compliant('true')).toBe(true);
    expect(compliant(' TRUE ')).toBe(true);
    expect(compliant({ Value: 'false' })).toBe(false);
    expect(compliant({ Value: true })).toBe(true);
    expect(compliant(undefined)).toBe(false);
    expect(fix.isCompliant({ instanceId: 'i-0aaaaaaaaaaaaaaaa' }, input({}))).toBe(false);
    expect(() => compliant('yes')).toThrow(
      /"disableApiTermination" must be true or false, got "yes"/,
    );
    expect(
      fix.rollbackCalls(
        instanceRef('i-0aaaaaaaaaaaaaaaa'),
        { ...base, disableApiTermination: 'false' },
        input({}),
      ),
    ).toEqual([
      {
        service: 'ec2',
        operation: 'ModifyInstanceAttribute',
        parameters: { InstanceId: 'i-0aaaaaaaaaaaaaaaa', DisableApiTermination: { Value: false } },
      },
    ]);
  });

  it('judges a rollback safe by the flag alone', async () => {
    const id = await instance();
    const snapshot = await fix.read(context({}), instanceRef(id));
    const stopped = { ...fix.target(snapshot, input({})), shutdownBehavior: 'terminate' };
    expect(fix.isUnchangedSinceFix?.(stopped, snapshot, input({}))).toBe(true);
    expect(fix.isUnchangedSinceFix?.(snapshot, snapshot, input({}))).toBe(false);
  });

  it('propagates InvalidInstanceID.NotFound, and refuses a name not an instance id', async () => {
    const err = await failure(fix.read(context({}), instanceRef('i-0123456789abcdef0')));
    expect(err.name).toBe('InvalidInstanceID.NotFound');
    await expect(fix.read(context({}), { ...instanceRef('x'), name: 'web-1' })).rejects.toThrow(
      /named by id \(i-\.\.\.\)/,
    );
  });

  it('retries a throttled change and makes it once', async () => {
    const id = await instance();
    const ctx = context({});
    const state = await fix.read(ctx, instanceRef(id));
    sandbox.injectFault({
      service: 'ec2',
      operation: 'ModifyInstanceAttribute',
      kind: 'throttle',
      count: 2,
    });
    const seq = lastSeq(sandbox);
    await fix.apply(ctx, instanceRef(id), state);
    expect(appliedSince(sandbox, seq)).toHaveLength(1);
    expect(await protection(id)).toBe(true);
  });

  it('fails at once with the cloud error when the instance is gone before the change', async () => {
    const id = await instance();
    const ctx = context({});
    const state = await fix.read(ctx, instanceRef(id));
    await ec2.send(
      new ModifyInstanceAttributeCommand({
        InstanceId: id,
        DisableApiTermination: { Value: false },
      }),
    );
    await ec2.send(new TerminateInstancesCommand({ InstanceIds: [id] }));
    const err = await failure(fix.apply(ctx, instanceRef(id), state));
    expect(err.name).toBe('IncorrectInstanceState');
  });
});

describe('the EC2 fixes in the catalog', () => {
  it('are registered, and state the IAM actions they call', () => {
    const catalog = createCatalog();
    expect(catalog.get('ec2.revoke-open-ingress')).toBe(revokeOpenIngress);
    expect(catalog.get('ec2.enable-termination-protection')).toBe(enableTerminationProtection);
    expect(revokeOpenIngress.permissions).toEqual([
      'ec2:DescribeSecurityGroups',
      'ec2:RevokeSecurityGroupIngress',
      'ec2:AuthorizeSecurityGroupIngress',
    ]);
    expect(enableTerminationProtection.permissions).toContain('ec2:ModifyInstanceAttribute');
  });
});

describe('an EC2 action through the engine', () => {
  it('plans, applies, refuses to clobber a later change, rolls back when forced', async () => {
    const database = await createTestDatabase('sqlite');
    const store = await database.open();
    const catalog = createCatalog();
    const engine = createEngine({
      store,
      clients,
      catalog,
      log: pino({ level: 'silent' }),
      pollMs: 20,
    });
    await engine.start();
    try {
      const id = await group([
        tcp(22, { IpRanges: [open4('vendor'), { CidrIp: '10.0.0.0/8' }] }),
        tcp(443, { IpRanges: [open4()] }),
      ]);
      const source = {
        kind: 'vulnerability' as const,
        findingId: 'finding-ssh',
        title: 'SSH open to the internet',
        origin: 'prowler',
        checkId: 'ec2_securitygroup_allow_ingress_from_internet_to_tcp_port_22',
      };
      const created = await store.createAction(
        newAction(revokeOpenIngress, groupRef(id), source, 'high', { ports: [22] }),
        { actor: 'token:import', now: new Date(), requireApproval: true },
      );
      const settle = async (statuses: string[]) => {
        const until = Date.now() + 10_000;
        for (;;) {
          const action = (await store.getAction(created.action.id))!;
          if (action.plannedAt && statuses.includes(action.status) && !action.requestedOp)
            return action;
          if (Date.now() > until) throw new Error(`action still ${action.status}`);
          await new Promise((resolve) => setTimeout(resolve, 15));
        }
      };
      const planned = await settle(['pending_approval']);
      expect(planned.title).toBe(`Revoke internet ingress to port 22 on security group ${id}`);
      expect(planned.plan.input?.params).toEqual({ ports: [22] });
      expect(planned.plan.reversibility.level).toBe('full');
      expect(planned.plan.calls[0]?.parameters).toEqual({
        GroupId: id,
        IpPermissions: [
          { IpProtocol: 'tcp', FromPort: 22, ToPort: 22, IpRanges: [open4('vendor')] },
        ],
      });
      expect(planned.plan.warnings).toContain(
        'tcp 22 from 0.0.0.0/0: the other sources stay (10.0.0.0/8).',
      );

      await store.transition(planned.id, 'approve', { actor: 'token:admin', now: new Date() });
      await store.request(planned.id, 'execute', { actor: 'token:admin', now: new Date() });
      engine.wake();
      const done = await settle(['completed', 'failed']);
      expect(done.status).toBe('completed');
      expect((await liveIngress(id)).map((p) => p.FromPort)).toEqual([22, 443]);

      await ec2.send(
        new AuthorizeSecurityGroupIngressCommand({
          GroupId: id,
          IpPermissions: [tcp(3389, { IpRanges: [open4()] })],
        }),
      );
      await store.request(planned.id, 'rollback', { actor: 'token:admin', now: new Date() });
      engine.wake();
      const refused = await settle(['completed', 'rolled_back']);
      expect(refused.status).toBe('completed');
      expect(refused.error?.code).toBe('resource_changed');
      const audit = (await store.events(planned.id)).at(-1);
      expect(audit?.data).toMatchObject({ expected: expect.any(Object), live: expect.any(Object) });

      await store.request(planned.id, 'rollback', {
        actor: 'token:admin',
        now: new Date(),
        data: { force: true },
      });
      engine.wake();
      const back = await settle(['rolled_back', 'completed']);
      expect(back.status).toBe('rolled_back');
      const ssh = (await liveIngress(id)).find((p) => p.FromPort === 22);
      expect(ssh?.IpRanges).toEqual(
        expect.arrayContaining([open4('vendor'), { CidrIp: '10.0.0.0/8' }]),
      );
      expect((await liveIngress(id)).map((p) => p.FromPort).sort()).toEqual([22, 3389, 443]);
    } finally {
      await engine.stop();
      await store.close();
      await database.drop();
    }
  });
});

describe('findings that map to the EC2 fixes', () => {
  const finding = (
    origin: string,
    checkId: string,
    type = 'AwsEc2SecurityGroup',
  ): NormalizedFinding => ({
    source: { kind: 'vulnerability', findingId: 'f-1', title: 't', origin, checkId },
    status: 'failed',
    severity: 'high',
    resource: { ...groupRef('sg-0aaaaaaaaaaaaaaaa'), type },
    related: [],
  });
  const prowler = (suffix: string) => `ec2_securitygroup_allow_ingress_from_internet_to_${suffix}`;

  const cases: [string, string, Record<string, unknown> | undefined][] = [
    ['prowler', prowler('tcp_port_22'), { ports: [22] }],
    ['prowler', prowler('tcp_port_3389'), { ports: [3389] }],
    ['prowler', prowler('tcp_port_mysql_3306'), { ports: [3306] }],
    ['prowler', prowler('tcp_port_sql_server_1433_1434'), { ports: [1433, 1434] }],
    ['prowler', prowler('port_mongodb_27017_27018'), { ports: [27017, 27018] }],
    [
      'prowler',
      prowler('high_risk_tcp_ports'),
      { ports: [25, 110, 135, 143, 445, 3000, 4333, 5000, 5500, 8080, 8088] },
    ],
    ['prowler', prowler('all_ports'), { allPorts: true }],
    ['prowler', prowler('any_port'), undefined],
    ['securityhub', 'EC2.13', { ports: [22] }],
    ['securityhub', 'PCI.EC2.5', { ports: [22] }],
    ['securityhub', 'CIS 1.2.0 4.1', { ports: [22] }],
    ['securityhub', 'EC2.14', { ports: [3389] }],
    ['securityhub', 'CIS 1.2.0 4.2', { ports: [3389] }],
    ['securityhub', 'EC2.18', { allBut: 'authorized' }],
    ['securityhub', 'EC2.2', undefined],
    ['securityhub', 'PCI.EC2.2', undefined],
    ['securityhub', 'CIS 1.2.0 4.3', undefined],
    ['securityhub', '4.1', undefined],
    ['securityhub', 'CIS 1.4.0 4.1', undefined],
  ];

  it.each(cases)('%s %s -> %j', (origin, checkId, params) => {
    const request = fixRequestFor(finding(origin, checkId));
    expect(request?.params).toEqual(params);
    if (params) expect(request?.type).toBe('ec2.revoke-open-ingress');
  });

  it("asks EC2.19 for Security Hub's whole high-risk list", () => {
    expect(fixRequestFor(finding('securityhub', 'EC2.19'))?.params).toEqual({
      ports: [
        20, 21, 22, 23, 25, 110, 135, 143, 445, 1433, 1434, 3000, 3306, 3389, 4333, 5000, 5432,
        5500, 5601, 8080, 8088, 8888, 9200, 9300,
      ],
    });
  });

  it('maps a security group check only on security groups', () => {
    expect(fixRequestFor(finding('securityhub', 'EC2.13', 'AwsEc2Instance'))).toBeUndefined();
  });
});
