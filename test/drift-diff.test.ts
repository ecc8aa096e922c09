import { describe, expect, it } from 'vitest';
import { diffConfig } from '../src/drift/diff.ts';
import { type Baseline, detectDrift } from '../src/drift/detect.ts';
import type { DiscoveredResource } from '../src/inventory/types.ts';
import { sgRule } from './helpers/resources.ts';

const rule = sgRule;

const group = (ingress: unknown[]) => ({
  groupId: 'sg-0a1e5b7c9d2f4e601',
  groupName: 'bastion',
  description: 'SSH',
  vpcId: 'vpc-1',
  ownerId: '111122223333',
  ingress,
  egress: [rule({ protocol: '-1', fromPort: null, toPort: null, cidrIpv4: '0.0.0.0/0' })],
});

const bucket = (block: Record<string, boolean> | null) => ({
  name: 'b',
  region: 'us-east-1',
  created: '2021-01-01T00:00:00.000Z',
  encryption: {
    rules: [{ sseAlgorithm: 'AES256', kmsMasterKeyId: null, bucketKeyEnabled: false }],
  },
  publicAccessBlock: block,
  versioning: { status: 'Enabled', mfaDelete: null },
  policyStatus: null,
  acl: null,
});

const FULL = {
  blockPublicAcls: true,
  ignorePublicAcls: true,
  blockPublicPolicy: true,
  restrictPublicBuckets: true,
};

describe('diffConfig', () => {
  it('finds nothing between equal configurations, whatever the order of rules and keys', () => {
    const a = group([
      rule({ cidrIpv4: '10.0.0.0/8' }),
      rule({ fromPort: 22, toPort: 22, cidrIpv4: '10.1.0.0/16' }),
    ]);
    const b = { ...group([...a.ingress].reverse()) };
    expect(diffConfig('AwsEc2SecurityGroup', a, b)).toEqual([]);
  });

  it('reports port 22 opened to the world as one high security change, matched by identity', () => {
    const before = group([rule({ cidrIpv4: '10.0.0.0/8' })]);
    const opened = rule({ fromPort: 22, toPort: 22, cidrIpv4: '0.0.0.0/0' });
    const after = group([opened, rule({ cidrIpv4: '10.0.0.0/8' })]);
    expect(diffConfig('AwsEc2SecurityGroup', before, after)).toEqual([
      {
        path: 'ingress[tcp 22 0.0.0.0/0]',
        before: null,
        after: opened,
        driftType: 'security',
        severity: 'high',
      },
    ]);
  });

  it('rates all traffic from the world critical, a harmless port medium, a private source low', () => {
    const before = group([]);
    const classify = (r: Record<string, unknown>) =>
      diffConfig('AwsEc2SecurityGroup', before, group([rule(r)]))[0]?.severity;
    expect(classify({ protocol: '-1', fromPort: null, toPort: null, cidrIpv6: '::/0' })).toBe(
      'critical',
    );
    expect(classify({ fromPort: 8443, toPort: 8443, cidrIpv4: '0.0.0.0/0' })).toBe('medium');
    expect(classify({ fromPort: 22, toPort: 22, cidrIpv4: '10.0.0.0/8' })).toBe('low');
  });

  it('rates a bucket made public by its policy critical, unless the baseline never read it', () => {
    const withPolicy = (policyStatus: unknown) => ({ ...bucket(FULL), policyStatus });
    expect(
      diffConfig('AwsS3Bucket', withPolicy({ isPublic: false }), withPolicy({ isPublic: true })),
    ).toEqual([
      {
        path: 'policyStatus.isPublic',
        before: false,
        after: true,
        driftType: 'security',
        severity: 'critical',
      },
    ]);
    expect(diffConfig('AwsS3Bucket', withPolicy(null), withPolicy({ isPublic: true }))).toEqual([]);
  });

  it('judges sensitive ports by the configured list, not the default one', () => {
    const before = group([]);
    const severity = (r: Record<string, unknown>, sensitivePorts: number[]) =>
      diffConfig('AwsEc2SecurityGroup', before, group([rule(r)]), { sensitivePorts })[0]?.severity;
    const https = { fromPort: 8443, toPort: 8443, cidrIpv4: '0.0.0.0/0' };
    const ssh = { fromPort: 22, toPort: 22, cidrIpv4: '0.0.0.0/0' };
    expect(severity(https, [22, 8443])).toBe('high');
    expect(severity({ ...https, fromPort: 8000, toPort: 9000 }, [8443])).toBe('high');
    expect(severity(ssh, [3389])).toBe('medium');
  });

  it('shows a rule description change as a change inside the rule, not a new rule', () => {
    const before = group([rule({ cidrIpv4: '10.0.0.0/8', description: 'vpn' })]);
    const after = group([rule({ cidrIpv4: '10.0.0.0/8', description: 'office' })]);
    expect(diffConfig('AwsEc2SecurityGroup', before, after)).toEqual([
      {
        path: 'ingress[tcp 443 10.0.0.0/8].description',
        before: 'vpn',
        after: 'office',
        driftType: 'configuration',
        severity: 'low',
      },
    ]);
  });

  it('rates BlockPublicAcls true to false critical, and the block removed as critical per field', () => {
    const off = diffConfig(
      'AwsS3Bucket',
      bucket(FULL),
      bucket({ ...FULL, blockPublicAcls: false }),
    );
    expect(off).toEqual([
      {
        path: 'publicAccessBlock.blockPublicAcls',
        before: true,
        after: false,
        driftType: 'security',
        severity: 'critical',
      },
    ]);
    const gone = diffConfig('AwsS3Bucket', bucket(FULL), bucket(null));
    expect(gone.map((c) => [c.path, c.after, c.severity])).toEqual([
      ['publicAccessBlock.blockPublicAcls', null, 'critical'],
      ['publicAccessBlock.ignorePublicAcls', null, 'critical'],
      ['publicAccessBlock.blockPublicPolicy', null, 'critical'],
      ['publicAccessBlock.restrictPublicBuckets', null, 'critical'],
    ]);
    const tightened = diffConfig(
      'AwsS3Bucket',
      bucket({ ...FULL, blockPublicAcls: false }),
      bucket(FULL),
    );
    expect(tightened[0]?.severity).toBe('low');
  });

  it('ignores timestamps, last-use dates, ids and operational state', () => {
    const instance = (over: Record<string, unknown>) => ({
      instanceId: 'i-1',
      instanceType: 't3.micro',
      state: 'running',
      disableApiTermination: true,
      launchTime: '2024-01-01T00:00:00Z',
      privateIpAddress: '10.0.0.1',
      publicIpAddress: null,
      ...over,
    });
    expect(
      diffConfig(
        'AwsEc2Instance',
        instance({}),
        instance({
          state: 'stopped',
          launchTime: '2025-01-01T00:00:00Z',
          privateIpAddress: '10.0.0.9',
        }),
      ),
    ).toEqual([]);
    const change = diffConfig(
      'AwsEc2Instance',
      instance({}),
      instance({ instanceType: 't3.large' }),
    );
    expect(change).toEqual([
      {
        path: 'instanceType',
        before: 't3.micro',
        after: 't3.large',
        driftType: 'configuration',
        severity: 'medium',
      },
    ]);
    const key = (lastUsed: string) => ({
      accessKeyId: 'AKIAEXAMPLEKEY000001',
      status: 'Active',
      created: '2024-01-01T00:00:00Z',
      lastUsed,
      lastUsedService: 's3',
      lastUsedRegion: 'us-east-1',
      userName: 'u',
      userArn: 'arn:aws:iam::111122223333:user/u',
    });
    expect(
      diffConfig('AwsIamAccessKey', key('2024-02-01T00:00:00Z'), key('2025-02-01T00:00:00Z')),
    ).toEqual([]);
    const workload = (over: Record<string, unknown>) => ({
      kind: 'Deployment',
      name: 'web',
      uid: 'u-1',
      annotations: { 'deployment.kubernetes.io/revision': '1' },
      labels: { app: 'web' },
      containers: [],
      ...over,
    });
    expect(
      diffConfig(
        'KubernetesDeployment',
        workload({}),
        workload({ uid: 'u-2', annotations: { 'deployment.kubernetes.io/revision': '7' } }),
      ),
    ).toEqual([]);
  });

  it('takes a field discovery could not read (null) as unknown, not as a change', () => {
    const acl = {
      owner: 'o',
      grants: [{ granteeType: 'CanonicalUser', grantee: 'o', permission: 'FULL_CONTROL' }],
    };
    expect(
      diffConfig('AwsS3Bucket', { ...bucket(FULL), acl }, { ...bucket(FULL), acl: null }),
    ).toEqual([]);
    expect(
      diffConfig(
        'AwsEc2Instance',
        { disableApiTermination: null },
        { disableApiTermination: false },
      ),
    ).toEqual([]);
    expect(diffConfig('AwsIamUser', { attachedPolicies: [] }, { attachedPolicies: null })).toEqual(
      [],
    );
  });

  it('matches containers by name and classifies a privileged container and a dropped limit', () => {
    const container = (name: string, over: Record<string, unknown> = {}) => ({
      name,
      image: `${name}:1`,
      init: false,
      resources: { requests: { cpu: '100m' }, limits: { cpu: '500m' } },
      securityContext: null,
      ...over,
    });
    const before = { kind: 'Deployment', containers: [container('a'), container('b')] };
    const after = {
      kind: 'Deployment',
      containers: [
        container('b', { securityContext: { privileged: true } }),
        container('a', { image: 'a:2', resources: { requests: { cpu: '100m' } } }),
      ],
    };
    const changes = diffConfig('KubernetesDeployment', before, after);
    expect(changes.map((c) => [c.path, c.driftType, c.severity])).toEqual([
      ['containers[a].image', 'configuration', 'medium'],
      ['containers[a].resources.limits.cpu', 'compliance', 'medium'],
      ['containers[b].securityContext.privileged', 'security', 'critical'],
    ]);
  });

  it('rates tag changes low and reports the tag key in the path', () => {
    const changes = diffConfig(
      'AwsS3Bucket',
      { ...bucket(FULL), tags: { env: 'prod', 'aws:cloudformation:stack-name': 's' } },
      { ...bucket(FULL), tags: { env: 'dev', 'aws:cloudformation:stack-name': 's' } },
    );
    expect(changes).toEqual([
      {
        path: 'tags.env',
        before: 'prod',
        after: 'dev',
        driftType: 'configuration',
        severity: 'low',
      },
    ]);
  });

  it('rates a namespace losing its enforce label high compliance', () => {
    const ns = (labels: Record<string, string>) => ({
      name: 'shop',
      uid: 'x',
      labels,
      annotations: {},
      phase: 'Active',
    });
    const changes = diffConfig(
      'KubernetesNamespace',
      ns({ 'pod-security.kubernetes.io/enforce': 'restricted', team: 'a' }),
      ns({ team: 'b' }),
    );
    expect(changes.map((c) => [c.path, c.driftType, c.severity])).toEqual([
      ['labels["pod-security.kubernetes.io/enforce"]', 'compliance', 'high'],
      ['labels.team', 'configuration', 'low'],
    ]);
  });

  it('rates RDS changes by the table', () => {
    const db = (over: Record<string, unknown>) => ({
      dbInstanceIdentifier: 'orders',
      dbInstanceClass: 'db.m6g.large',
      status: 'available',
      multiAZ: true,
      backupRetentionPeriod: 7,
      storageEncrypted: true,
      publiclyAccessible: false,
      ...over,
    });
    const rate = (over: Record<string, unknown>) =>
      diffConfig('AwsRdsDbInstance', db({}), db(over)).map((c) => [c.path, c.severity]);
    expect(rate({ status: 'modifying' })).toEqual([]);
    expect(rate({ publiclyAccessible: true })).toEqual([['publiclyAccessible', 'critical']]);
    expect(rate({ backupRetentionPeriod: 0 })).toEqual([['backupRetentionPeriod', 'high']]);
    expect(rate({ backupRetentionPeriod: 3 })).toEqual([['backupRetentionPeriod', 'medium']]);
    expect(rate({ multiAZ: false })).toEqual([['multiAZ', 'medium']]);
    expect(rate({ dbInstanceClass: 'db.m6g.xlarge' })).toEqual([['dbInstanceClass', 'medium']]);
  });
});

const resource = (
  config: Record<string, unknown>,
  tags: Record<string, string> = {},
): DiscoveredResource => ({
  provider: 'aws',
  account: '111122223333',
  region: 'us-east-1',
  type: 'AwsS3Bucket',
  id: 'arn:aws:s3:::b',
  name: 'b',
  tags,
  config,
});

const baselineOf = (r: DiscoveredResource): Baseline => ({
  id: 'baseline-1',
  resourceId: r.id,
  provider: r.provider,
  account: r.account,
  region: r.region,
  type: r.type,
  name: r.name,
  version: 3,
  config: r.config,
  tags: r.tags,
  capturedAt: '2026-01-01T00:00:00.000Z',
  capturedBy: 'token:admin',
  reason: 'captured',
  active: true,
});

describe('detectDrift', () => {
  it('reports a failed drift finding with the changes, the max severity and the restoring fix', () => {
    const base = resource(bucket(FULL), { env: 'prod' });
    const live = resource(bucket({ ...FULL, blockPublicAcls: false }), { env: 'dev' });
    const [report] = detectDrift([live], [baselineOf(base)]);
    expect(report).toMatchObject({
      kind: 'drift',
      origin: 'infraudit-drift',
      key: 'drift|arn:aws:s3:::b',
      state: 'failed',
      severity: 'critical',
      driftType: 'security',
      remedy: { type: 's3.block-public-access', params: {} },
      resource: { id: 'arn:aws:s3:::b', type: 'AwsS3Bucket', tags: { env: 'dev' } },
    });
    expect((report?.evidence as { changes: unknown[] }).changes).toEqual([
      expect.objectContaining({ path: 'publicAccessBlock.blockPublicAcls', severity: 'critical' }),
      expect.objectContaining({ path: 'tags.env', before: 'prod', after: 'dev', severity: 'low' }),
    ]);
  });

  it('reports passed when the live configuration matches, and nothing without a baseline', () => {
    const base = resource(bucket(FULL));
    const [report] = detectDrift([base], [baselineOf(base)]);
    expect(report).toMatchObject({ state: 'passed', remedy: null });
    expect(detectDrift([base], [])).toEqual([]);
  });

  it('offers no fix when the fix would not restore the baseline', () => {
    const base = resource({
      ...bucket(FULL),
      versioning: { status: 'Suspended', mfaDelete: null },
    });
    const live = resource({ ...bucket(FULL), versioning: { status: null, mfaDelete: null } });
    const [report] = detectDrift([live], [baselineOf(base)]);
    expect(report).toMatchObject({ state: 'failed', remedy: null, severity: 'low' });
  });

  it('offers to revoke the port that was opened on a security group', () => {
    const sg = (ingress: unknown[]): DiscoveredResource => ({
      ...resource(group(ingress)),
      type: 'AwsEc2SecurityGroup',
      id: 'arn:aws:ec2:us-east-1:111122223333:security-group/sg-0a1e5b7c9d2f4e601',
      name: 'sg-0a1e5b7c9d2f4e601',
    });
    const [report] = detectDrift(
      [sg([rule({ fromPort: 22, toPort: 22, cidrIpv4: '0.0.0.0/0' })])],
      [baselineOf(sg([]))],
    );
    expect(report).toMatchObject({
      severity: 'high',
      remedy: { type: 'ec2.revoke-open-ingress', params: { ports: [22] } },
    });
  });
});
