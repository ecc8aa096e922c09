import { readFileSync } from 'node:fs';
import path from 'node:path';
import { DescribeSecurityGroupsCommand, EC2Client, type IpPermission } from '@aws-sdk/client-ec2';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { enableTerminationProtection } from '../src/catalog/ec2/enable-termination-protection.ts';
import type { IngressState } from '../src/catalog/ec2/ingress-state.ts';
import { revokeOpenIngress } from '../src/catalog/ec2/revoke-open-ingress.ts';
import type { FixInput } from '../src/catalog/fix.ts';
import { type CloudClients, createCloudClients } from '../src/cloud/clients.ts';
import type { ResourceRef } from '../src/domain/action.ts';
import { DEFAULT_FIX_OPTIONS } from '../src/domain/fix-options.ts';
import { contextWithoutLease } from '../src/engine/fix-context.ts';
import { parseFindingsFile } from '../src/findings/import.ts';
import { EC2_19_PORTS, fixRequestFor } from '../src/findings/mapping.ts';
import { SandboxInputError } from '../src/sandbox/api-error.ts';
import {
  instanceFromAttribute,
  readRecordedResponse,
  securityGroupsFromRules,
  securityGroupsOf,
} from '../src/sandbox/ec2/responses.ts';
import { DEMO_GROUPS } from '../src/sandbox/ec2/seed.ts';
import { type Sandbox, startSandbox, type StateDocument } from '../src/sandbox/index.ts';
import { expectCorpusPresent, readCorpus, repoRoot } from './helpers/findings.ts';

/*
 * Real recorded EC2 responses from the shared corpus, loaded into the sandbox as the
 * starting state, and the Security Hub findings that name such groups: what the fixes
 * plan for them, rule by rule. A missing corpus fails the suite.
 */

const read = readCorpus;
const custodian = (name: string) => `cloud-custodian/${name}`;

const ACCOUNT = '111122223333';
const REGION = 'us-east-1';

let sandbox: Sandbox;
let clients: CloudClients;

beforeEach(async () => {
  sandbox = await startSandbox({ seed: 'empty' });
  clients = createCloudClients({
    defaultRegion: REGION,
    endpoint: sandbox.url,
    credentials: { accessKeyId: 'AKIACORPUSEC2', secretAccessKey: 'corpus-secret' },
  });
});

afterEach(async () => {
  clients.destroy();
  await sandbox.close();
});

/** Replaces the sandbox state with one region of EC2 resources. */
async function loadEc2(
  ec2: { securityGroups?: unknown[]; instances?: unknown[] },
  account = ACCOUNT,
): Promise<void> {
  const doc: StateDocument = {
    version: 1,
    defaultAccount: account,
    accounts: { [account]: { regions: { [REGION]: { ec2 } } } },
  };
  const response = await fetch(`${sandbox.url}/_sandbox/state`, {
    method: 'PUT',
    body: JSON.stringify(doc),
  });
  expect(response.status, await response.text()).toBe(204);
}

const groupsFile = (file: string) => securityGroupsOf(readRecordedResponse(read(file), file), file);

const ref = (groupId: string, account = ACCOUNT): ResourceRef => ({
  provider: 'aws',
  account,
  region: REGION,
  type: 'AwsEc2SecurityGroup',
  id: `arn:aws:ec2:${REGION}:${account}:security-group/${groupId}`,
  name: groupId,
});

const input = (params: Record<string, unknown>): FixInput => ({
  params,
  options: DEFAULT_FIX_OPTIONS,
});
const ctx = (params: Record<string, unknown>) =>
  contextWithoutLease(clients, pino({ level: 'silent' }), input(params));

/** The plan for every group: the rules each would revoke, by group id. */
async function plans(ids: readonly string[], params: Record<string, unknown>) {
  const out = new Map<string, { state: IngressState; revoked: unknown[]; warnings: string[] }>();
  for (const id of ids) {
    const state = (await revokeOpenIngress.read(ctx(params), ref(id))) as IngressState;
    const calls = revokeOpenIngress.calls(ref(id), state, input(params));
    out.set(id, {
      state,
      revoked: (calls[0]?.parameters.IpPermissions as unknown[]) ?? [],
      warnings: revokeOpenIngress.warnings(state, input(params)),
    });
  }
  return out;
}

const withRevokes = (all: Awaited<ReturnType<typeof plans>>) =>
  [...all]
    .filter(([, p]) => p.revoked.length > 0)
    .map(([id]) => id)
    .sort();

describe('the EC2 corpus', () => {
  it('is present', () => {
    expectCorpusPresent();
  });
});

describe('recorded DescribeSecurityGroups responses as starting state', () => {
  const files = [
    'test_only_ports_and_cidr_ingress__ec2.DescribeSecurityGroups_1.json',
    'test_security_group_self_reference__ec2.DescribeSecurityGroups_2.json',
    'test_security_group_stale__ec2.DescribeSecurityGroups_1.json',
    'test_appelb_add_security_group__ec2.DescribeSecurityGroups_1.json',
    'test_security_group_perm_expand__ec2.DescribeSecurityGroups_1.json',
  ].map(custodian);

  it.each(files)('%s loads and describes back rule for rule', async (file) => {
    const groups = groupsFile(file);
    await loadEc2({ securityGroups: groups });
    const ec2 = new EC2Client({
      region: REGION,
      endpoint: sandbox.url,
      credentials: { accessKeyId: 'AKIACORPUSEC2', secretAccessKey: 'corpus-secret' },
    });
    try {
      const described = await ec2.send(new DescribeSecurityGroupsCommand({}));
      expect(described.SecurityGroups?.map((g) => g.GroupId)).toEqual(groups.map((g) => g.GroupId));
      for (const group of groups) {
        const live = described.SecurityGroups?.find((g) => g.GroupId === group.GroupId);
        expect(sources(live?.IpPermissions ?? [])).toEqual(
          sources(group.IpPermissions as IpPermission[]),
        );
        expect(sources(live?.IpPermissionsEgress ?? [])).toEqual(
          sources(group.IpPermissionsEgress as IpPermission[]),
        );
        expect(live).toMatchObject({ GroupName: group.GroupName, VpcId: group.VpcId });
      }
    } finally {
      ec2.destroy();
    }
  });

  it('for port 22 revokes the open SSH rules and the whole-range rule, nothing else', async () => {
    const groups = groupsFile(
      custodian('test_security_group_self_reference__ec2.DescribeSecurityGroups_2.json'),
    );
    await loadEc2({ securityGroups: groups });
    const ssh = await plans(
      groups.map((g) => g.GroupId as string),
      { ports: [22] },
    );
    const named = (names: string[]) =>
      groups.filter((g) => names.includes(g.GroupName as string)).map((g) => g.GroupId as string);
    const wizards = groups.filter((g) => /^launch-wizard-\d+$/.test(g.GroupName as string));
    expect(withRevokes(ssh)).toEqual(
      [
        ...wizards.map((g) => g.GroupId as string),
        ...named([
          'AutoScaling-Security-Group-1',
          'AutoScaling-Security-Group-2',
          'scot-test',
          'Test-SG1',
        ]),
      ].sort(),
    );
    expect(withRevokes(ssh)).toHaveLength(20);
    const [wholeRange] = named(['Test-SG1']);
    expect(ssh.get(wholeRange!)?.revoked).toEqual([
      { IpProtocol: 'tcp', FromPort: 0, ToPort: 65535, IpRanges: [{ CidrIp: '0.0.0.0/0' }] },
    ]);
    expect(ssh.get(wholeRange!)?.warnings).toContain(
      'tcp 0-65535 from 0.0.0.0/0 covers port 22 and is revoked whole: it also closes TCP ports ' +
        '0-21, 23-65535 to the internet.',
    );
    // A single address, the instance metadata address and a default group's office IP stay.
    for (const id of named(['TEST-PROD-ONLY-SG', 'FancyTestGroupPublic'])) {
      expect(ssh.get(id)?.revoked).toEqual([]);
    }
    const office = groups.find((g) => g.GroupId === 'sg-6c7fa917');
    expect(office?.GroupName).toBe('default');
    expect(ssh.get('sg-6c7fa917')?.revoked).toEqual([]);

    const everyPort = await plans(
      groups.map((g) => g.GroupId as string),
      { allPorts: true },
    );
    expect(withRevokes(everyPort)).toEqual([wholeRange]);

    // Applying the port 22 plan to every group changes exactly those 20 and no other.
    const before = sandbox.state();
    for (const [id, plan] of ssh) {
      await revokeOpenIngress.apply(ctx({ ports: [22] }), ref(id), plan.state);
    }
    const after = sandbox.state();
    const list = (doc: StateDocument) =>
      (doc.accounts[ACCOUNT]?.regions[REGION]?.ec2 as { securityGroups: { GroupId: string }[] })
        .securityGroups;
    const changed = list(after)
      .filter((g, i) => JSON.stringify(g) !== JSON.stringify(list(before)[i]))
      .map((g) => g.GroupId)
      .sort();
    expect(changed).toEqual(withRevokes(ssh));
  });

  it('for EC2.18 keeps the authorized web ports and revokes the other open ones', async () => {
    const groups = groupsFile(
      custodian('test_only_ports_and_cidr_ingress__ec2.DescribeSecurityGroups_1.json'),
    );
    await loadEc2({ securityGroups: groups });
    const authorized = await plans(
      groups.map((g) => g.GroupId as string),
      { allBut: 'authorized' },
    );
    expect(withRevokes(authorized)).toEqual(['sg-02a60363e2b087ff8', 'sg-0d40e803b8b644e79']);
    expect(authorized.get('sg-02a60363e2b087ff8')?.revoked).toEqual([
      { IpProtocol: 'tcp', FromPort: 1234, ToPort: 4321, IpRanges: [{ CidrIp: '0.0.0.0/0' }] },
      { IpProtocol: 'tcp', FromPort: 8080, ToPort: 8080, IpRanges: [{ CidrIp: '0.0.0.0/0' }] },
    ]);
    expect(authorized.get('sg-0d40e803b8b644e79')?.revoked).toEqual([
      { IpProtocol: 'tcp', FromPort: 22, ToPort: 22, IpRanges: [{ CidrIp: '0.0.0.0/0' }] },
    ]);
    const target = revokeOpenIngress.target(
      authorized.get('sg-02a60363e2b087ff8')!.state,
      input({ allBut: 'authorized' }),
    ) as IngressState;
    expect(target.ingress.map((p) => `${p.FromPort}-${p.ToPort}`)).toEqual([
      '0-62000',
      '80-80',
      '443-443',
    ]);

    const highRisk = await plans(
      groups.map((g) => g.GroupId as string),
      { ports: [...EC2_19_PORTS] },
    );
    expect(withRevokes(highRisk)).toEqual(['sg-02a60363e2b087ff8', 'sg-0d40e803b8b644e79']);
    expect(
      highRisk.get('sg-02a60363e2b087ff8')?.revoked.map((p) => (p as IpPermission).FromPort),
    ).toEqual([1234, 8080]);
  });

  it('leaves groups with nothing open alone, whatever else their rules mix', async () => {
    const groups = [
      ...groupsFile(
        custodian('test_security_group_perm_expand__ec2.DescribeSecurityGroups_1.json'),
      ),
      ...groupsFile(custodian('test_appelb_add_security_group__ec2.DescribeSecurityGroups_1.json')),
      ...groupsFile(custodian('test_security_group_stale__ec2.DescribeSecurityGroups_1.json')),
    ];
    await loadEc2({ securityGroups: groups });
    for (const params of [{ ports: [22] }, { allPorts: true }, { allBut: 'authorized' }]) {
      const all = await plans(
        groups.map((g) => g.GroupId as string),
        params,
      );
      expect(withRevokes(all)).toEqual([]);
      for (const [, plan] of all)
        expect(revokeOpenIngress.isCompliant(plan.state, input(params))).toBe(true);
    }
    const mixed = (await plans(['sg-e3842c8a'], { allBut: 'authorized' })).get('sg-e3842c8a');
    expect(mixed?.state.ingress).toEqual([
      {
        IpProtocol: 'tcp',
        FromPort: 443,
        ToPort: 443,
        IpRanges: [{ CidrIp: '10.42.1.0/24' }, { CidrIp: '10.42.2.0/24' }],
        Ipv6Ranges: [],
        PrefixListIds: [],
        UserIdGroupPairs: [expect.objectContaining({ GroupId: 'sg-e2842c8b' })],
      },
    ]);
  });
});

describe('AWS CLI documentation examples', () => {
  it('refuses the examples that are not valid JSON, saying which file and where', () => {
    for (const file of [
      'aws-cli-docs/ec2.describe-security-groups.ex1.json',
      'aws-cli-docs/ec2.describe-instance-attribute.disableApiTermination.json',
    ]) {
      let error: unknown;
      try {
        readRecordedResponse(read(file), file);
      } catch (err) {
        error = err;
      }
      expect(error).toBeInstanceOf(SandboxInputError);
      expect((error as Error).message).toMatch(
        new RegExp(`^${file.replace(/\./g, '\\.')} is not valid JSON \\(.*line \\d+`),
      );
    }
  });

  it('loads the rule-level example and finds its group compliant', async () => {
    const file = 'aws-cli-docs/ec2.describe-security-group-rules.ex1.json';
    const groups = securityGroupsFromRules(readRecordedResponse(read(file), file), file);
    await loadEc2({ securityGroups: groups });
    const [plan] = (await plans(['sg-1234567890abcdef0'], { allBut: 'authorized' })).values();
    expect(plan?.revoked).toEqual([]);
    expect(plan?.state.ingress).toEqual([
      expect.objectContaining({
        IpProtocol: '-1',
        UserIdGroupPairs: [{ GroupId: 'sg-1234567890abcdef0', UserId: ACCOUNT }],
      }),
    ]);
    const doc = sandbox.state();
    const [group] = (
      doc.accounts[ACCOUNT]?.regions[REGION]?.ec2 as {
        securityGroups: IpPermission[] & Record<string, unknown>[];
      }
    ).securityGroups;
    expect(JSON.stringify(group?.IpPermissionsEgress)).toContain('"CidrIpv6":"::/0"');
  });

  it('reads the quoted "false" of the attribute example once its comma is back', async () => {
    const file = 'aws-cli-docs/ec2.describe-instance-attribute.disableApiTermination.json';
    const repaired = read(file).replace('"i-1234567890abcdef0"\n', '"i-1234567890abcdef0",\n');
    const response = readRecordedResponse(repaired, file);
    expect(response.DisableApiTermination).toEqual({ Value: 'false' });
    await loadEc2({ instances: [instanceFromAttribute(response, file)] });
    const resource = {
      ...ref('x'),
      type: 'AwsEc2Instance',
      id: `arn:aws:ec2:${REGION}:${ACCOUNT}:instance/i-1234567890abcdef0`,
      name: 'i-1234567890abcdef0',
    };
    const state = await enableTerminationProtection.read(ctx({}), resource);
    expect(state.disableApiTermination).toBe(false);
    expect(
      enableTerminationProtection.isCompliant(
        {
          instanceId: 'i-1234567890abcdef0',
          disableApiTermination: response.DisableApiTermination,
        },
        input({}),
      ),
    ).toBe(false);
  });
});

describe('recorded DescribeInstanceAttribute response', () => {
  it('plans, applies and rolls back termination protection on the recorded instance', async () => {
    const file = custodian(
      'test_ec2_termination-protected_filter__ec2.DescribeInstanceAttribute_1.json',
    );
    const response = readRecordedResponse(read(file), file);
    await loadEc2({ instances: [instanceFromAttribute(response, file)] });
    const resource: ResourceRef = {
      provider: 'aws',
      account: ACCOUNT,
      region: REGION,
      type: 'AwsEc2Instance',
      id: `arn:aws:ec2:${REGION}:${ACCOUNT}:instance/i-0718418de3bb4ae2a`,
      name: 'i-0718418de3bb4ae2a',
    };
    const fix = enableTerminationProtection;
    const state = await fix.read(ctx({}), resource);
    expect(state).toMatchObject({
      instanceId: 'i-0718418de3bb4ae2a',
      disableApiTermination: false,
    });
    expect(fix.calls(resource, state, input({}))).toEqual([
      {
        service: 'ec2',
        operation: 'ModifyInstanceAttribute',
        parameters: { InstanceId: 'i-0718418de3bb4ae2a', DisableApiTermination: { Value: true } },
      },
    ]);
    await fix.apply(ctx({}), resource, state);
    expect(fix.isCompliant(await fix.read(ctx({}), resource), input({}))).toBe(true);
    await fix.restore(ctx({}), resource, state);
    expect(await fix.read(ctx({}), resource)).toEqual(state);
  });
});

describe('Security Hub findings on security groups', () => {
  const only = (file: string) => {
    const { findings } = parseFindingsFile(read(file));
    expect(findings).toHaveLength(1);
    return findings[0]!;
  };

  it('maps CIS 1.2.0 4.1 to a port 22 revoke, made on the group in its details', async () => {
    const finding = only('aws-solutions-asr/cis-41.json');
    expect(fixRequestFor(finding)).toEqual({
      type: 'ec2.revoke-open-ingress',
      params: { ports: [22] },
    });
    const details = finding.details?.AwsEc2SecurityGroup as Record<string, unknown>;
    const account = finding.resource.account;
    await loadEc2({ securityGroups: [details] }, account);

    const params = { ports: [22] };
    const resource = finding.resource;
    const state = await revokeOpenIngress.read(ctx(params), resource);
    expect(revokeOpenIngress.calls(resource, state, input(params))).toEqual([
      {
        service: 'ec2',
        operation: 'RevokeSecurityGroupIngress',
        parameters: {
          GroupId: 'sg-47dddc34c51b4be58',
          IpPermissions: [
            { IpProtocol: 'tcp', FromPort: 22, ToPort: 22, IpRanges: [{ CidrIp: '0.0.0.0/0' }] },
          ],
        },
      },
    ]);
    await revokeOpenIngress.apply(ctx(params), resource, state);
    const after = (await revokeOpenIngress.read(ctx(params), resource)) as IngressState;
    expect(after.ingress).toEqual([]);
    await revokeOpenIngress.restore(ctx(params), resource, state);
    expect(await revokeOpenIngress.read(ctx(params), resource)).toEqual(state);
  });

  it('leaves EC2.2 and PCI.EC2.2 (the default group) unsupported, details kept', () => {
    for (const file of ['aws-solutions-asr/afsbp-ec2.2.json', 'aws-solutions-asr/pci-ec2.2.json']) {
      const finding = only(file);
      expect(finding.details?.AwsEc2SecurityGroup).toMatchObject({ GroupName: 'default' });
      expect(fixRequestFor(finding)).toBeUndefined();
    }
  });
});

describe('the demo findings', () => {
  it('ask for the fixes the demo groups need, and the passing group is compliant', async () => {
    const demo = await startSandbox({ seed: 'demo' });
    const demoClients = createCloudClients({
      defaultRegion: REGION,
      endpoint: demo.url,
      credentials: { accessKeyId: 'AKIADEMO', secretAccessKey: 'demo-secret' },
    });
    try {
      const { findings } = parseFindingsFile(
        readFileSync(path.join(repoRoot, 'examples/demo/ec2.ocsf.json'), 'utf8'),
      );
      const seen: [string, string, number][] = [];
      for (const finding of findings) {
        const request = fixRequestFor(finding);
        expect(request?.type).toBe('ec2.revoke-open-ingress');
        const fixCtx = contextWithoutLease(
          demoClients,
          pino({ level: 'silent' }),
          input(request!.params),
        );
        const state = await revokeOpenIngress.read(fixCtx, finding.resource);
        const compliant = revokeOpenIngress.isCompliant(state, input(request!.params));
        expect(compliant).toBe(finding.status === 'passed');
        const calls = revokeOpenIngress.calls(finding.resource, state, input(request!.params));
        seen.push([
          finding.resource.name,
          finding.status,
          (calls[0]?.parameters.IpPermissions as unknown[])?.length ?? 0,
        ]);
      }
      expect(seen).toEqual([
        [DEMO_GROUPS.bastion, 'failed', 1],
        [DEMO_GROUPS.windowsJump, 'failed', 1],
        [DEMO_GROUPS.ordersDb, 'failed', 1],
        [DEMO_GROUPS.legacyBatch, 'failed', 1],
        [DEMO_GROUPS.webPublic, 'passed', 0],
      ]);
    } finally {
      demoClients.destroy();
      await demo.close();
    }
  });
});

/** Every (protocol, ports, source, description) of a list of permissions, sorted. */
function sources(perms: readonly IpPermission[]): string[] {
  const out: string[] = [];
  for (const p of perms) {
    const head = `${p.IpProtocol}|${p.IpProtocol === '-1' ? '' : `${p.FromPort}-${p.ToPort}`}`;
    for (const r of p.IpRanges ?? []) out.push(`${head}|${r.CidrIp}|${r.Description ?? ''}`);
    for (const r of p.Ipv6Ranges ?? []) out.push(`${head}|${r.CidrIpv6}|${r.Description ?? ''}`);
    for (const r of p.PrefixListIds ?? [])
      out.push(`${head}|${r.PrefixListId}|${r.Description ?? ''}`);
    for (const r of p.UserIdGroupPairs ?? [])
      out.push(`${head}|${r.UserId}/${r.GroupId}|${r.Description ?? ''}`);
  }
  return out.sort();
}
