import {
  AuthorizeSecurityGroupEgressCommand,
  AuthorizeSecurityGroupIngressCommand,
  CreateSecurityGroupCommand,
  DeleteSecurityGroupCommand,
  DescribeInstanceAttributeCommand,
  DescribeInstancesCommand,
  DescribeSecurityGroupRulesCommand,
  DescribeSecurityGroupsCommand,
  EC2Client,
  type EC2ServiceException,
  type IpPermission,
  ModifyInstanceAttributeCommand,
  RevokeSecurityGroupIngressCommand,
  RunInstancesCommand,
  TerminateInstancesCommand,
} from '@aws-sdk/client-ec2';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type Sandbox, startSandbox } from '../src/sandbox/index.ts';
import { DEMO_GROUPS, DEMO_INSTANCES, DEMO_VPC } from '../src/sandbox/ec2/seed.ts';
import { failure as failureOf } from './helpers/world.ts';

const REGION = 'us-east-1';
const ACCOUNT = '111122223333';
const VPC = 'vpc-0123456789abcdef0';

let sandbox: Sandbox;
let ec2: EC2Client;

function client(maxAttempts = 4, region = REGION) {
  return new EC2Client({
    region,
    endpoint: sandbox.url,
    credentials: { accessKeyId: 'AKIAEC2SANDBOXTEST', secretAccessKey: 'secret' },
    maxAttempts,
  });
}

/** The error a call fails with. */
const failure = (call: Promise<unknown>) => failureOf<EC2ServiceException>(call);

/** A new group in `VPC`, or in the default VPC when `vpcId` is null. */
async function createGroup(name: string, vpcId: string | null = VPC): Promise<string> {
  const out = await ec2.send(
    new CreateSecurityGroupCommand({
      GroupName: name,
      Description: `${name} group`,
      ...(vpcId ? { VpcId: vpcId } : {}),
    }),
  );
  return out.GroupId as string;
}

async function ingressOf(groupId: string) {
  const out = await ec2.send(new DescribeSecurityGroupsCommand({ GroupIds: [groupId] }));
  return out.SecurityGroups?.[0]?.IpPermissions ?? [];
}

const ssh = (cidr = '0.0.0.0/0', description?: string): IpPermission => ({
  IpProtocol: 'tcp',
  FromPort: 22,
  ToPort: 22,
  IpRanges: [{ CidrIp: cidr, ...(description ? { Description: description } : {}) }],
});

beforeEach(async () => {
  sandbox = await startSandbox({ seed: 'empty' });
  ec2 = client();
});

afterEach(async () => {
  ec2.destroy();
  await sandbox.close();
});

describe('security groups', () => {
  it('creates a group with the default allow-all egress and describes it', async () => {
    const id = await createGroup('web');
    expect(id).toMatch(/^sg-[0-9a-f]{17}$/);
    const out = await ec2.send(new DescribeSecurityGroupsCommand({ GroupIds: [id] }));
    expect(out.SecurityGroups).toEqual([
      {
        GroupId: id,
        GroupName: 'web',
        Description: 'web group',
        VpcId: VPC,
        OwnerId: ACCOUNT,
        SecurityGroupArn: `arn:aws:ec2:${REGION}:${ACCOUNT}:security-group/${id}`,
        IpPermissions: [],
        IpPermissionsEgress: [
          {
            IpProtocol: '-1',
            IpRanges: [{ CidrIp: '0.0.0.0/0' }],
            Ipv6Ranges: [],
            PrefixListIds: [],
            UserIdGroupPairs: [],
          },
        ],
        Tags: [],
      },
    ]);
  });

  it('filters by group id, name and VPC, with wildcards, and pages', async () => {
    const a = await createGroup('app-a');
    const b = await createGroup('app-b');
    const other = await createGroup('db', 'vpc-0fedcba9876543210');
    const ids = async (filters: { Name: string; Values: string[] }[]) =>
      (await ec2.send(new DescribeSecurityGroupsCommand({ Filters: filters }))).SecurityGroups?.map(
        (g) => g.GroupId,
      );
    expect(await ids([{ Name: 'group-name', Values: ['app-*'] }])).toEqual([a, b]);
    expect(await ids([{ Name: 'vpc-id', Values: ['vpc-0fedcba9876543210'] }])).toEqual([other]);
    expect(await ids([{ Name: 'group-id', Values: [b, other] }])).toEqual([b, other]);
    expect(
      await ids([
        { Name: 'group-name', Values: ['app-?'] },
        { Name: 'group-id', Values: [a] },
      ]),
    ).toEqual([a]);
    for (let i = 0; i < 4; i += 1) await createGroup(`extra-${i}`);
    const first = await ec2.send(new DescribeSecurityGroupsCommand({ MaxResults: 5 }));
    expect(first.SecurityGroups).toHaveLength(5);
    const second = await ec2.send(
      new DescribeSecurityGroupsCommand({ MaxResults: 5, NextToken: first.NextToken }),
    );
    expect(second.SecurityGroups).toHaveLength(2);
    expect(second.NextToken).toBeUndefined();

    const err = await failure(
      ec2.send(
        new DescribeSecurityGroupsCommand({ Filters: [{ Name: 'colour', Values: ['red'] }] }),
      ),
    );
    expect(err.name).toBe('InvalidParameterValue');
    expect(err.message).toBe("The filter 'colour' is invalid");
  });

  it('answers InvalidGroup.NotFound and InvalidGroupId.Malformed', async () => {
    const missing = await failure(
      ec2.send(new DescribeSecurityGroupsCommand({ GroupIds: ['sg-0123456789abcdef0'] })),
    );
    expect(missing.name).toBe('InvalidGroup.NotFound');
    expect(missing.$metadata.httpStatusCode).toBe(400);
    expect(missing.message).toBe("The security group 'sg-0123456789abcdef0' does not exist");
    const malformed = await failure(
      ec2.send(new DescribeSecurityGroupsCommand({ GroupIds: ['web-sg'] })),
    );
    expect(malformed.name).toBe('InvalidGroupId.Malformed');
    expect(malformed.message).toBe('Invalid id: "web-sg" (expecting "sg-...")');
  });

  it('refuses duplicate names, reserved names and names that look like ids', async () => {
    await createGroup('web');
    expect((await failure(createGroup('web'))).name).toBe('InvalidGroup.Duplicate');
    expect((await failure(createGroup('default'))).name).toBe('InvalidGroup.Reserved');
    expect((await failure(createGroup('sg-web'))).name).toBe('InvalidParameterValue');
  });

  it('deletes a group only when nothing depends on it', async () => {
    const target = await createGroup('target');
    const user = await createGroup('user');
    await ec2.send(
      new AuthorizeSecurityGroupIngressCommand({
        GroupId: user,
        IpPermissions: [
          {
            IpProtocol: 'tcp',
            FromPort: 5432,
            ToPort: 5432,
            UserIdGroupPairs: [{ GroupId: target }],
          },
        ],
      }),
    );
    const refused = await failure(ec2.send(new DeleteSecurityGroupCommand({ GroupId: target })));
    expect(refused.name).toBe('DependencyViolation');
    await ec2.send(new DeleteSecurityGroupCommand({ GroupId: user }));
    await ec2.send(new DeleteSecurityGroupCommand({ GroupId: target }));
    expect((await failure(ingressOf(target))).name).toBe('InvalidGroup.NotFound');
  });
});

describe('ingress rules', () => {
  it('authorizes mixed permissions and reports them grouped by protocol and ports', async () => {
    const app = await createGroup('app');
    const db = await createGroup('db');
    await ec2.send(
      new AuthorizeSecurityGroupIngressCommand({
        GroupId: db,
        IpPermissions: [
          {
            IpProtocol: 'tcp',
            FromPort: 5432,
            ToPort: 5432,
            IpRanges: [
              { CidrIp: '0.0.0.0/0', Description: 'debug access' },
              { CidrIp: '10.0.0.0/16' },
            ],
            Ipv6Ranges: [{ CidrIpv6: '::/0' }],
            UserIdGroupPairs: [{ GroupId: app, Description: 'app servers' }],
            PrefixListIds: [{ PrefixListId: 'pl-63a5400b' }],
          },
          { IpProtocol: '-1', UserIdGroupPairs: [{ GroupId: db }] },
          { IpProtocol: 'tcp', FromPort: 0, ToPort: 65535, IpRanges: [{ CidrIp: '0.0.0.0/0' }] },
        ],
      }),
    );
    expect(await ingressOf(db)).toEqual([
      {
        IpProtocol: 'tcp',
        FromPort: 5432,
        ToPort: 5432,
        IpRanges: [{ CidrIp: '0.0.0.0/0', Description: 'debug access' }, { CidrIp: '10.0.0.0/16' }],
        Ipv6Ranges: [{ CidrIpv6: '::/0' }],
        PrefixListIds: [{ PrefixListId: 'pl-63a5400b' }],
        UserIdGroupPairs: [{ UserId: ACCOUNT, GroupId: app, Description: 'app servers' }],
      },
      {
        IpProtocol: '-1',
        IpRanges: [],
        Ipv6Ranges: [],
        PrefixListIds: [],
        UserIdGroupPairs: [{ UserId: ACCOUNT, GroupId: db }],
      },
      {
        IpProtocol: 'tcp',
        FromPort: 0,
        ToPort: 65535,
        IpRanges: [{ CidrIp: '0.0.0.0/0' }],
        Ipv6Ranges: [],
        PrefixListIds: [],
        UserIdGroupPairs: [],
      },
    ]);

    const rules = await ec2.send(
      new DescribeSecurityGroupRulesCommand({ Filters: [{ Name: 'group-id', Values: [db] }] }),
    );
    const ingress = rules.SecurityGroupRules?.filter((r) => !r.IsEgress) ?? [];
    expect(ingress).toHaveLength(7);
    expect(ingress.find((r) => r.CidrIpv6 === '::/0')).toMatchObject({
      GroupId: db,
      IpProtocol: 'tcp',
      FromPort: 5432,
      ToPort: 5432,
    });
    expect(ingress.find((r) => r.IpProtocol === '-1')).toMatchObject({
      FromPort: -1,
      ToPort: -1,
      ReferencedGroupInfo: { GroupId: db, UserId: ACCOUNT },
    });
  });

  it('refuses a duplicate rule whole, changing nothing', async () => {
    const id = await createGroup('bastion');
    await ec2.send(
      new AuthorizeSecurityGroupIngressCommand({ GroupId: id, IpPermissions: [ssh()] }),
    );
    const seq = sandbox.mutations().at(-1)?.seq ?? 0;
    const err = await failure(
      ec2.send(
        new AuthorizeSecurityGroupIngressCommand({
          GroupId: id,
          IpPermissions: [ssh('10.0.0.0/8'), ssh('0.0.0.0/0', 'another description')],
        }),
      ),
    );
    expect(err.name).toBe('InvalidPermission.Duplicate');
    expect(err.message).toBe(
      'the specified rule "peer: 0.0.0.0/0, TCP, from port: 22, to port: 22, ALLOW" already exists',
    );
    expect(await ingressOf(id)).toEqual([
      expect.objectContaining({ IpRanges: [{ CidrIp: '0.0.0.0/0' }] }),
    ]);
    expect(sandbox.mutations().filter((m) => m.seq > seq)).toEqual([]);
  });

  it('refuses malformed rules with the parameter EC2 would name', async () => {
    const id = await createGroup('checks');
    const bad = async (perm: IpPermission) =>
      failure(
        ec2.send(new AuthorizeSecurityGroupIngressCommand({ GroupId: id, IpPermissions: [perm] })),
      );
    const noPorts = await bad({ IpProtocol: 'tcp', IpRanges: [{ CidrIp: '0.0.0.0/0' }] });
    expect(noPorts.name).toBe('InvalidParameterValue');
    expect(noPorts.message).toMatch(/Must specify both from and to ports/);
    const cidr = await bad({ ...ssh(), IpRanges: [{ CidrIp: '300.0.0.0/8' }] });
    expect(cidr.message).toBe('CIDR block 300.0.0.0/8 is malformed');
    const v6InV4 = await bad({ ...ssh(), IpRanges: [{ CidrIp: '::/0' }] });
    expect(v6InV4.name).toBe('InvalidParameterValue');
    const protocol = await bad({ IpProtocol: 'gopher', IpRanges: [{ CidrIp: '0.0.0.0/0' }] });
    expect(protocol.message).toBe("Invalid value 'gopher' for IP protocol. Unknown protocol.");
    const unknownGroup = await bad({
      IpProtocol: '-1',
      UserIdGroupPairs: [{ GroupId: 'sg-0aaaaaaaaaaaaaaaa' }],
    });
    expect(unknownGroup.name).toBe('InvalidGroup.NotFound');
  });

  it('revokes exactly the rule named, whatever its description', async () => {
    const id = await createGroup('bastion');
    await ec2.send(
      new AuthorizeSecurityGroupIngressCommand({
        GroupId: id,
        IpPermissions: [
          {
            ...ssh('0.0.0.0/0', 'vendor'),
            IpRanges: [{ CidrIp: '0.0.0.0/0', Description: 'vendor' }, { CidrIp: '10.0.0.0/8' }],
          },
        ],
      }),
    );
    const out = await ec2.send(
      new RevokeSecurityGroupIngressCommand({ GroupId: id, IpPermissions: [ssh('0.0.0.0/0')] }),
    );
    expect(out.Return).toBe(true);
    expect(out.UnknownIpPermissions).toBeUndefined();
    expect(out.RevokedSecurityGroupRules).toEqual([
      expect.objectContaining({ CidrIpv4: '0.0.0.0/0', Description: 'vendor', FromPort: 22 }),
    ]);
    expect(await ingressOf(id)).toEqual([
      expect.objectContaining({ IpRanges: [{ CidrIp: '10.0.0.0/8' }] }),
    ]);
  });

  it('refuses a revoke that does not match in a non-default VPC, revoking nothing', async () => {
    const id = await createGroup('bastion');
    await ec2.send(
      new AuthorizeSecurityGroupIngressCommand({
        GroupId: id,
        IpPermissions: [ssh(), ssh('10.0.0.0/8')],
      }),
    );
    const err = await failure(
      ec2.send(
        new RevokeSecurityGroupIngressCommand({
          GroupId: id,
          IpPermissions: [ssh('10.0.0.0/8'), { ...ssh(), FromPort: 21, ToPort: 22 }],
        }),
      ),
    );
    expect(err.name).toBe('InvalidPermission.NotFound');
    expect(err.message).toBe('The specified rule does not exist in this security group.');
    expect((await ingressOf(id))[0]?.IpRanges).toHaveLength(2);
  });

  it('in the default VPC revokes what matches and reports the rest as unknown', async () => {
    const id = await createGroup('legacy', null);
    await ec2.send(
      new AuthorizeSecurityGroupIngressCommand({
        GroupId: id,
        IpPermissions: [ssh(), ssh('10.0.0.0/8')],
      }),
    );
    const out = await ec2.send(
      new RevokeSecurityGroupIngressCommand({
        GroupId: id,
        IpPermissions: [ssh('10.0.0.0/8'), ssh('192.0.2.0/24')],
      }),
    );
    expect(out.UnknownIpPermissions).toEqual([
      expect.objectContaining({
        IpProtocol: 'tcp',
        FromPort: 22,
        IpRanges: [{ CidrIp: '192.0.2.0/24' }],
      }),
    ]);
    expect((await ingressOf(id))[0]?.IpRanges).toEqual([{ CidrIp: '0.0.0.0/0' }]);
  });

  it('logs each applied call as the SDK input states it', async () => {
    const id = await createGroup('logged');
    const input = {
      GroupId: id,
      IpPermissions: [
        {
          IpProtocol: 'tcp',
          FromPort: 3389,
          ToPort: 3389,
          Ipv6Ranges: [{ CidrIpv6: '::/0', Description: 'rdp' }],
          UserIdGroupPairs: [{ GroupId: id }],
        },
      ],
    };
    await ec2.send(new AuthorizeSecurityGroupIngressCommand(structuredClone(input)));
    await ec2.send(new RevokeSecurityGroupIngressCommand(structuredClone(input)));
    const [, authorize, revoke] = sandbox.mutations();
    expect(authorize).toMatchObject({
      service: 'ec2',
      operation: 'AuthorizeSecurityGroupIngress',
      resource: id,
      account: ACCOUNT,
      region: REGION,
      params: input,
    });
    expect(revoke).toMatchObject({ operation: 'RevokeSecurityGroupIngress', params: input });
  });

  it('keeps egress rules apart from ingress', async () => {
    const id = await createGroup('egress');
    await ec2.send(
      new AuthorizeSecurityGroupEgressCommand({ GroupId: id, IpPermissions: [ssh('10.0.0.0/8')] }),
    );
    const out = await ec2.send(new DescribeSecurityGroupsCommand({ GroupIds: [id] }));
    expect(out.SecurityGroups?.[0]?.IpPermissions).toEqual([]);
    expect(out.SecurityGroups?.[0]?.IpPermissionsEgress).toHaveLength(2);
  });

  it('answers DryRunOperation without changing anything', async () => {
    const id = await createGroup('dry');
    const err = await failure(
      ec2.send(
        new AuthorizeSecurityGroupIngressCommand({
          GroupId: id,
          IpPermissions: [ssh()],
          DryRun: true,
        }),
      ),
    );
    expect(err.name).toBe('DryRunOperation');
    expect(err.$metadata.httpStatusCode).toBe(412);
    expect(await ingressOf(id)).toEqual([]);
  });
});

describe('instances', () => {
  async function run(protectedFlag: boolean, token?: string) {
    const group = await createGroup(`run-${Math.random().toString(36).slice(2, 8)}`);
    const out = await ec2.send(
      new RunInstancesCommand({
        ImageId: 'ami-0abcdef1234567890',
        MinCount: 1,
        MaxCount: 1,
        InstanceType: 't3.micro',
        SecurityGroupIds: [group],
        DisableApiTermination: protectedFlag,
        TagSpecifications: [{ ResourceType: 'instance', Tags: [{ Key: 'Name', Value: 'api' }] }],
        ...(token ? { ClientToken: token } : {}),
      }),
    );
    return { id: out.Instances?.[0]?.InstanceId as string, group, out };
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

  it('runs, describes and reports the termination protection attribute', async () => {
    const { id, group, out } = await run(true);
    expect(out.Instances?.[0]?.State).toEqual({ Code: 0, Name: 'pending' });
    const described = await ec2.send(new DescribeInstancesCommand({ InstanceIds: [id] }));
    expect(described.Reservations?.[0]?.Instances?.[0]).toMatchObject({
      InstanceId: id,
      ImageId: 'ami-0abcdef1234567890',
      InstanceType: 't3.micro',
      State: { Code: 16, Name: 'running' },
      VpcId: VPC,
      SecurityGroups: [{ GroupId: group }],
      Tags: [{ Key: 'Name', Value: 'api' }],
    });
    expect(await protection(id)).toBe(true);
  });

  it('gives a retried RunInstances with the same client token the same instance', async () => {
    const first = await run(false, 'token-1');
    const again = await ec2.send(
      new RunInstancesCommand({
        ImageId: 'ami-0abcdef1234567890',
        MinCount: 1,
        MaxCount: 1,
        ClientToken: 'token-1',
      }),
    );
    expect(again.Instances?.map((i) => i.InstanceId)).toEqual([first.id]);
  });

  it('refuses to terminate a protected instance until the protection is off', async () => {
    const { id } = await run(true);
    const refused = await failure(ec2.send(new TerminateInstancesCommand({ InstanceIds: [id] })));
    expect(refused.name).toBe('OperationNotPermitted');
    expect(refused.$metadata.httpStatusCode).toBe(400);
    expect(refused.message).toContain(`The instance '${id}' may not be terminated`);

    await ec2.send(
      new ModifyInstanceAttributeCommand({
        InstanceId: id,
        DisableApiTermination: { Value: false },
      }),
    );
    expect(await protection(id)).toBe(false);
    expect(sandbox.mutations().at(-1)).toMatchObject({
      operation: 'ModifyInstanceAttribute',
      resource: id,
      params: { InstanceId: id, DisableApiTermination: { Value: false } },
    });
    const out = await ec2.send(new TerminateInstancesCommand({ InstanceIds: [id] }));
    expect(out.TerminatingInstances).toEqual([
      {
        InstanceId: id,
        CurrentState: { Code: 32, Name: 'shutting-down' },
        PreviousState: { Code: 16, Name: 'running' },
      },
    ]);
    const gone = await failure(
      ec2.send(
        new ModifyInstanceAttributeCommand({
          InstanceId: id,
          DisableApiTermination: { Value: true },
        }),
      ),
    );
    expect(gone.name).toBe('IncorrectInstanceState');
  });

  it('answers InvalidInstanceID.NotFound and InvalidInstanceID.Malformed', async () => {
    const missing = await failure(
      ec2.send(new DescribeInstancesCommand({ InstanceIds: ['i-0123456789abcdef0'] })),
    );
    expect(missing.name).toBe('InvalidInstanceID.NotFound');
    expect(missing.message).toBe("The instance ID 'i-0123456789abcdef0' does not exist");
    const malformed = await failure(
      ec2.send(
        new DescribeInstanceAttributeCommand({
          InstanceId: 'web-1',
          Attribute: 'disableApiTermination',
        }),
      ),
    );
    expect(malformed.name).toBe('InvalidInstanceID.Malformed');
    const attribute = await failure(
      ec2.send(
        new DescribeInstanceAttributeCommand({
          InstanceId: 'i-0123456789abcdef0',
          Attribute: 'sriovNetSupport',
        }),
      ),
    );
    expect(attribute.name).toBe('InvalidParameterValue');
  });
});

describe('faults', () => {
  it('throttles with RequestLimitExceeded (503), which the SDK retries', async () => {
    const id = await createGroup('throttled');
    sandbox.injectFault({
      service: 'ec2',
      operation: 'DescribeSecurityGroups',
      kind: 'throttle',
      count: 2,
    });
    expect(await ingressOf(id)).toEqual([]);

    const once = client(1);
    sandbox.injectFault({
      service: 'ec2',
      operation: 'DescribeSecurityGroups',
      kind: 'throttle',
      count: 1,
    });
    const err = await failure(once.send(new DescribeSecurityGroupsCommand({ GroupIds: [id] })));
    once.destroy();
    expect(err.name).toBe('RequestLimitExceeded');
    expect(err.$metadata.httpStatusCode).toBe(503);
  });
});

describe('state', () => {
  it('keeps regions apart', async () => {
    await createGroup('east');
    const west = client(4, 'us-west-2');
    const out = await west.send(new DescribeSecurityGroupsCommand({}));
    west.destroy();
    expect(out.SecurityGroups).toEqual([]);
  });

  it('saves and loads rules, ids and instance attributes unchanged', async () => {
    const id = await createGroup('saved');
    await ec2.send(
      new AuthorizeSecurityGroupIngressCommand({
        GroupId: id,
        IpPermissions: [
          ssh('0.0.0.0/0', 'vendor'),
          { IpProtocol: '-1', UserIdGroupPairs: [{ GroupId: id }] },
        ],
      }),
    );
    const before = await ec2.send(new DescribeSecurityGroupsCommand({}));
    const doc = sandbox.state();
    const response = await fetch(`${sandbox.url}/_sandbox/state`, {
      method: 'PUT',
      body: JSON.stringify(doc),
    });
    expect(response.status).toBe(204);
    expect(await ec2.send(new DescribeSecurityGroupsCommand({}))).toMatchObject({
      SecurityGroups: before.SecurityGroups,
    });
  });

  it('loads termination protection written as AWS outputs show it', async () => {
    const doc = sandbox.state();
    const instance = (id: string, flag: unknown) => ({
      InstanceId: id,
      DisableApiTermination: flag,
    });
    doc.accounts[ACCOUNT]!.regions[REGION] = {
      ec2: {
        instances: [
          instance('i-0000000000000000a', { Value: 'true' }),
          instance('i-0000000000000000b', 'false'),
          instance('i-0000000000000000c', { Value: false }),
          { InstanceId: 'i-0000000000000000d' },
        ],
      },
    };
    const put = await fetch(`${sandbox.url}/_sandbox/state`, {
      method: 'PUT',
      body: JSON.stringify(doc),
    });
    expect(put.status).toBe(204);
    const flags = [];
    for (const id of ['a', 'b', 'c', 'd'].map((x) => `i-0000000000000000${x}`)) {
      const out = await ec2.send(
        new DescribeInstanceAttributeCommand({
          InstanceId: id,
          Attribute: 'disableApiTermination',
        }),
      );
      flags.push(out.DisableApiTermination?.Value);
    }
    expect(flags).toEqual([true, false, false, false]);
  });

  it('refuses a state file whose EC2 part does not fit, naming the field', async () => {
    const doc = sandbox.state();
    doc.accounts[ACCOUNT]!.regions[REGION] = {
      ec2: { instances: [{ InstanceId: 'i-0000000000000000a', DisableApiTermination: 'maybe' }] },
    };
    const put = await fetch(`${sandbox.url}/_sandbox/state`, {
      method: 'PUT',
      body: JSON.stringify(doc),
    });
    expect(put.status).toBe(400);
    expect(((await put.json()) as { error: string }).error).toBe(
      `accounts.${ACCOUNT}.regions.${REGION}.ec2.instances[0].DisableApiTermination must be ` +
        'true or false, got "maybe"',
    );
  });

  it('seeds the demo VPC with its flawed and sound groups and instances', async () => {
    const demo = await startSandbox({ seed: 'demo' });
    const demoEc2 = new EC2Client({
      region: REGION,
      endpoint: demo.url,
      credentials: { accessKeyId: 'AKIADEMO', secretAccessKey: 'secret' },
    });
    try {
      const groups = await demoEc2.send(
        new DescribeSecurityGroupsCommand({ Filters: [{ Name: 'vpc-id', Values: [DEMO_VPC] }] }),
      );
      expect(groups.SecurityGroups?.map((g) => g.GroupId).sort()).toEqual(
        Object.values(DEMO_GROUPS).sort(),
      );
      const bastion = groups.SecurityGroups?.find((g) => g.GroupId === DEMO_GROUPS.bastion);
      expect(bastion?.IpPermissions?.[0]?.IpRanges).toContainEqual({
        CidrIp: '0.0.0.0/0',
        Description: 'temporary vendor access',
      });
      const protectedDb = await demoEc2.send(
        new DescribeInstanceAttributeCommand({
          InstanceId: DEMO_INSTANCES.ordersDbPrimary,
          Attribute: 'disableApiTermination',
        }),
      );
      expect(protectedDb.DisableApiTermination?.Value).toBe(true);
    } finally {
      demoEc2.destroy();
      await demo.close();
    }
  });
});
