import type { StateDocument } from '../types.ts';
import type { IpPermissionJson } from './permissions.ts';
import type { Ec2StateJson } from './state.ts';

export const DEMO_VPC = 'vpc-0c3f5a7e9b1d24680';

/** The demo VPC's security groups, by name. */
export const DEMO_GROUPS = {
  bastion: 'sg-0a1e5b7c9d2f4e601',
  windowsJump: 'sg-0b2f6c8d0e3a5f702',
  ordersDb: 'sg-0c3a7d9e1f4b6a803',
  legacyBatch: 'sg-0d4b8e0f2a5c7b904',
  webPublic: 'sg-0e5c9f1a3b6d8c005',
  appTier: 'sg-0f6d0a2b4c7e9d106',
  default: 'sg-01a7e1b3c5d8f0207',
} as const;

export const DEMO_INSTANCES = {
  ordersDbPrimary: 'i-0a1b2c3d4e5f60001',
  web1: 'i-0a1b2c3d4e5f60002',
  bastion: 'i-0a1b2c3d4e5f60003',
  batchWorker: 'i-0a1b2c3d4e5f60004',
  billingApi: 'i-0a1b2c3d4e5f60005',
} as const;

const ALL_OUT: IpPermissionJson[] = [{ IpProtocol: '-1', IpRanges: [{ CidrIp: '0.0.0.0/0' }] }];
const tcp = (port: number, rest: Omit<IpPermissionJson, 'IpProtocol'>, to = port) => ({
  IpProtocol: 'tcp',
  FromPort: port,
  ToPort: to,
  ...rest,
});
const self = (account: string, id: string): IpPermissionJson => ({
  IpProtocol: '-1',
  UserIdGroupPairs: [{ UserId: account, GroupId: id }],
});

function group(id: string, name: string, description: string, ingress: IpPermissionJson[]) {
  return {
    GroupId: id,
    GroupName: name,
    Description: description,
    VpcId: DEMO_VPC,
    Tags: [{ Key: 'env', Value: 'prod' }],
    IpPermissions: ingress,
    IpPermissionsEgress: ALL_OUT,
  };
}

/**
 * A production VPC with the security group mistakes scanners report most, each group
 * otherwise sound: SSH open to the world, RDP open over IPv6, a database port opened to
 * the world beside a legitimate group reference, a whole TCP range left open, and the
 * compliant web and application tiers around them. Instances with and without
 * termination protection.
 */
export function seedEc2(doc: StateDocument, account: string, region: string): void {
  const g = DEMO_GROUPS;
  const ec2: Ec2StateJson = {
    defaultVpcId: DEMO_VPC,
    securityGroups: [
      group(g.bastion, 'bastion-ssh', 'SSH to the bastion host', [
        tcp(22, {
          IpRanges: [
            { CidrIp: '0.0.0.0/0', Description: 'temporary vendor access' },
            { CidrIp: '10.20.0.0/16', Description: 'corporate VPN' },
          ],
        }),
      ]),
      group(g.windowsJump, 'windows-jump', 'RDP jump host', [
        tcp(3389, {
          IpRanges: [{ CidrIp: '198.51.100.0/24', Description: 'head office' }],
          Ipv6Ranges: [{ CidrIpv6: '::/0', Description: 'RDP from anywhere over IPv6' }],
        }),
      ]),
      group(g.ordersDb, 'orders-db', 'Orders database', [
        tcp(3306, {
          IpRanges: [{ CidrIp: '0.0.0.0/0', Description: 'debugging - remove' }],
          UserIdGroupPairs: [
            { UserId: account, GroupId: g.appTier, Description: 'application servers' },
          ],
        }),
      ]),
      group(g.legacyBatch, 'legacy-batch', 'Legacy batch workers', [
        tcp(0, { IpRanges: [{ CidrIp: '0.0.0.0/0' }] }, 65535),
        self(account, g.legacyBatch),
      ]),
      group(g.webPublic, 'web-public', 'Public load balancer', [
        tcp(80, { IpRanges: [{ CidrIp: '0.0.0.0/0' }], Ipv6Ranges: [{ CidrIpv6: '::/0' }] }),
        tcp(443, { IpRanges: [{ CidrIp: '0.0.0.0/0' }], Ipv6Ranges: [{ CidrIpv6: '::/0' }] }),
      ]),
      group(g.appTier, 'app-tier', 'Application servers', [
        tcp(8080, {
          UserIdGroupPairs: [
            { UserId: account, GroupId: g.webPublic, Description: 'load balancer' },
          ],
        }),
      ]),
      group(g.default, 'default', 'default VPC security group', [self(account, g.default)]),
    ],
    instances: [
      instance(DEMO_INSTANCES.ordersDbPrimary, 'orders-db-primary', 'r6i.large', [g.ordersDb], {
        DisableApiTermination: true,
      }),
      instance(DEMO_INSTANCES.web1, 'web-1', 't3.medium', [g.appTier], {
        Tags: [
          { Key: 'Name', Value: 'web-1' },
          { Key: 'aws:autoscaling:groupName', Value: 'web-asg' },
        ],
      }),
      instance(DEMO_INSTANCES.bastion, 'bastion', 't3.micro', [g.bastion, g.windowsJump], {}),
      instance(DEMO_INSTANCES.batchWorker, 'batch-worker-7', 'c6i.xlarge', [g.legacyBatch], {
        InstanceInitiatedShutdownBehavior: 'terminate',
      }),
      instance(DEMO_INSTANCES.billingApi, 'billing-api', 't3.large', [g.appTier], {
        State: { Name: 'stopped' },
      }),
    ],
  };
  const acct = (doc.accounts[account] ??= { regions: {} });
  const reg = (acct.regions[region] ??= {});
  reg.ec2 = ec2;
}

function instance(
  id: string,
  name: string,
  type: string,
  groups: string[],
  extra: Record<string, unknown>,
): Record<string, unknown> {
  return {
    InstanceId: id,
    ImageId: 'ami-0f3c9d1b2a4e6c8d0',
    InstanceType: type,
    State: { Name: 'running' },
    LaunchTime: '2024-02-12T09:30:00.000Z',
    VpcId: DEMO_VPC,
    SubnetId: 'subnet-0a9b8c7d6e5f40312',
    PrivateIpAddress: `10.20.1.${10 + Number.parseInt(id.slice(-2), 16)}`,
    SecurityGroups: groups.map((GroupId) => ({ GroupId })),
    Tags: [{ Key: 'Name', Value: name }],
    DisableApiTermination: false,
    ...extra,
  };
}
