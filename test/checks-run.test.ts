import { describe, expect, it } from 'vitest';
import type { DiscoveredResource } from '../src/inventory/types.ts';
import { runChecks } from '../src/checks/run.ts';
import { DEFAULT_CHECK_SETTINGS, parseCheckSettingsPatch } from '../src/checks/settings.ts';
import { AppError } from '../src/domain/errors.ts';
import { discovered, sgRule } from './helpers/resources.ts';

const NOW = new Date('2026-06-01T00:00:00.000Z');
const daysAgo = (n: number) => new Date(NOW.getTime() - n * 86_400_000).toISOString();

const res = discovered;

const rule = (over: Record<string, unknown>) => sgRule({ fromPort: 22, toPort: 22, ...over });

/** A database instance in order on all three RDS checks, but for `over`. */
const rdsInstance = (name: string, over: Record<string, unknown>) =>
  res('AwsRdsDbInstance', name, {
    multiAZ: true,
    backupRetentionPeriod: 7,
    storageEncrypted: true,
    dbClusterIdentifier: null,
    engine: 'postgres',
    ...over,
  });

const run = (resources: DiscoveredResource[], settings = DEFAULT_CHECK_SETTINGS) =>
  runChecks(resources, { settings, now: NOW }).map((r) => ({
    check: r.checkId,
    name: r.resource.name,
    state: r.state,
    severity: r.severity,
    remedy: r.remedy,
  }));

describe('runChecks', () => {
  it('flags sensitive ports open to 0.0.0.0/0 or ::/0 and passes private or harmless rules', () => {
    const groups = [
      res('AwsEc2SecurityGroup', 'ssh-world', { ingress: [rule({ cidrIpv4: '0.0.0.0/0' })] }),
      res('AwsEc2SecurityGroup', 'rdp-v6', {
        ingress: [rule({ fromPort: 3389, toPort: 3389, cidrIpv6: '::/0' })],
      }),
      res('AwsEc2SecurityGroup', 'range', {
        ingress: [rule({ fromPort: 0, toPort: 65535, cidrIpv4: '0.0.0.0/0' })],
      }),
      res('AwsEc2SecurityGroup', 'web', {
        ingress: [
          rule({ fromPort: 443, toPort: 443, cidrIpv4: '0.0.0.0/0' }),
          rule({ cidrIpv4: '10.0.0.0/8' }),
          rule({ protocol: '-1', fromPort: null, toPort: null, groupId: 'sg-1' }),
        ],
      }),
    ];
    const out = run(groups);
    expect(out.map((r) => [r.name, r.state])).toEqual([
      ['ssh-world', 'failed'],
      ['rdp-v6', 'failed'],
      ['range', 'failed'],
      ['web', 'passed'],
    ]);
    expect(out[0]).toMatchObject({
      severity: 'high',
      remedy: { type: 'ec2.revoke-open-ingress', params: { ports: [22] } },
    });
    expect(out[1]?.remedy?.params).toEqual({ ports: [3389] });
    expect(out[2]?.remedy?.params.ports).toEqual(DEFAULT_CHECK_SETTINGS.sensitivePorts);
    expect(out[3]?.remedy).toBeNull();
    const titles = runChecks(groups, { now: NOW }).map((r) => r.title);
    expect(titles[0]).toContain('(port 22 open to the internet)');
    expect(titles[2]).toContain('(every port open to the internet)');
  });

  it('judges by the configured sensitive ports', () => {
    const group = res('AwsEc2SecurityGroup', 'web', {
      ingress: [rule({ fromPort: 8080, toPort: 8080, cidrIpv4: '0.0.0.0/0' })],
    });
    expect(run([group])[0]?.state).toBe('passed');
    const settings = { ...DEFAULT_CHECK_SETTINGS, sensitivePorts: [8080] };
    expect(run([group], settings)[0]).toMatchObject({
      state: 'failed',
      remedy: { params: { ports: [8080] } },
    });
  });

  it('flags access keys past the rotation age or unused past the allowed days', () => {
    const key = (name: string, created: number, lastUsed: number | null, status = 'Active') =>
      res('AwsIamAccessKey', name, {
        accessKeyId: `AKIA${name.toUpperCase().padEnd(16, '0')}`,
        status,
        created: daysAgo(created),
        lastUsed: lastUsed === null ? null : daysAgo(lastUsed),
        lastUsedService: null,
        lastUsedRegion: null,
        userName: name,
        userArn: `arn:aws:iam::111122223333:user/${name}`,
      });
    const out = run([
      key('old', 400, 1),
      key('idle', 100, 95),
      key('never', 120, null),
      key('fresh', 30, 0),
      key('inactive', 400, 300, 'Inactive'),
    ]);
    expect(out.map((r) => [r.name, r.check, r.state])).toEqual([
      ['old', 'iam-access-key-rotation', 'failed'],
      ['old', 'iam-access-key-unused', 'passed'],
      ['idle', 'iam-access-key-rotation', 'failed'],
      ['idle', 'iam-access-key-unused', 'failed'],
      ['never', 'iam-access-key-rotation', 'failed'],
      ['never', 'iam-access-key-unused', 'failed'],
      ['fresh', 'iam-access-key-rotation', 'passed'],
      ['fresh', 'iam-access-key-unused', 'passed'],
      ['inactive', 'iam-access-key-rotation', 'passed'],
      ['inactive', 'iam-access-key-unused', 'passed'],
    ]);
    expect(out[0]?.remedy).toEqual({
      type: 'iam.rotate-access-key',
      params: { maxAgeDays: 90, userName: 'old', accessKeyId: 'AKIAOLD0000000000000' },
    });
    expect(out[3]?.remedy).toEqual({
      type: 'iam.deactivate-unused-access-key',
      params: { unusedDays: 90, userName: 'idle', accessKeyId: 'AKIAIDLE000000000000' },
    });
    const lenient = { ...DEFAULT_CHECK_SETTINGS, keyRotationDays: 500, keyUnusedDays: 200 };
    expect(run([key('old', 400, 1), key('never', 120, null)], lenient).map((r) => r.state)).toEqual(
      ['passed', 'passed', 'passed', 'passed'],
    );
  });

  it('flags single-AZ, unbacked-up and unencrypted databases, and instances without termination protection', () => {
    const db = rdsInstance;
    const out = run([
      db('single', { multiAZ: false }),
      db('nobackup', { backupRetentionPeriod: 0 }),
      db('plain', { storageEncrypted: false }),
      res('AwsEc2Instance', 'unprotected', { disableApiTermination: false }),
      res('AwsEc2Instance', 'unknown', { disableApiTermination: null }),
    ]).filter((r) => r.state === 'failed');
    expect(out.map((r) => [r.name, r.check, r.severity, r.remedy?.type])).toEqual([
      ['single', 'rds-multi-az', 'medium', 'rds.enable-multi-az'],
      ['nobackup', 'rds-automated-backups', 'high', 'rds.enable-automated-backups'],
      ['plain', 'rds-storage-encrypted', 'high', 'rds.enable-storage-encryption'],
      ['unprotected', 'ec2-termination-protection', 'low', 'ec2.enable-termination-protection'],
    ]);
  });

  it('passes what the fix refuses by design: Aurora members, terminated instances, root keys', () => {
    // Failing all three RDS checks unless something takes it out of their reach.
    const db = (name: string, over: Record<string, unknown>) =>
      rdsInstance(name, {
        multiAZ: false,
        backupRetentionPeriod: 0,
        storageEncrypted: false,
        ...over,
      });
    const out = run([
      db('aurora-member', { engine: 'aurora-postgresql', dbClusterIdentifier: 'analytics' }),
      db('express', { engine: 'sqlserver-ex', backupRetentionPeriod: 7, storageEncrypted: true }),
      res('AwsEc2Instance', 'gone', { state: 'terminated', disableApiTermination: false }),
      res('AwsEc2Instance', 'going', { state: 'shutting-down', disableApiTermination: false }),
      res('AwsIamAccessKey', 'AKIAROOT', {
        accessKeyId: 'AKIAROOT',
        status: 'Active',
        created: daysAgo(400),
        lastUsed: null,
        userName: '<root_account>',
        userArn: 'arn:aws:iam::111122223333:root',
      }),
    ]);
    expect(out.map((r) => [r.name, r.check, r.state])).toEqual([
      ['aurora-member', 'rds-multi-az', 'passed'],
      ['aurora-member', 'rds-automated-backups', 'passed'],
      ['aurora-member', 'rds-storage-encrypted', 'passed'],
      ['express', 'rds-multi-az', 'passed'],
      ['express', 'rds-automated-backups', 'passed'],
      ['express', 'rds-storage-encrypted', 'passed'],
      ['gone', 'ec2-termination-protection', 'passed'],
      ['going', 'ec2-termination-protection', 'passed'],
      ['AKIAROOT', 'iam-access-key-rotation', 'passed'],
      ['AKIAROOT', 'iam-access-key-unused', 'passed'],
    ]);
    const reports = runChecks([db('aurora-member', { dbClusterIdentifier: 'analytics' })], {
      now: NOW,
    });
    expect(reports[0]?.evidence).toEqual({
      dbClusterIdentifier: 'analytics',
      notFixable: 'a member of Aurora cluster analytics, which owns this setting',
    });
    expect(reports.every((r) => r.remedy === null)).toBe(true);
    // The same database outside a cluster fails all three.
    const single = run([db('single', {})]).filter((r) => r.state === 'failed');
    expect(single.map((r) => r.check)).toEqual([
      'rds-multi-az',
      'rds-automated-backups',
      'rds-storage-encrypted',
    ]);
  });

  it('flags Kubernetes workloads lacking requests or limits and namespaces without an enforce label', () => {
    const container = (name: string, resources: Record<string, unknown>, init = false) => ({
      name,
      image: 'x',
      init,
      resources,
      securityContext: null,
    });
    const full = { requests: { cpu: '1', memory: '1Mi' }, limits: { cpu: '1', memory: '1Mi' } };
    const ns = (name: string, labels: Record<string, string>) =>
      res('KubernetesNamespace', name, {
        name,
        uid: 'u',
        labels,
        annotations: {},
        phase: 'Active',
      });
    const out = run([
      res('KubernetesDeployment', 'ok', { containers: [container('a', full)] }),
      res('KubernetesDeployment', 'init', {
        containers: [container('a', full), container('migrate', {}, true)],
      }),
      res('KubernetesStatefulSet', 'partial', {
        containers: [container('a', { limits: { cpu: '1', memory: '1Mi' } })],
      }),
      ns('shop', { team: 'x' }),
      ns('payments', { 'pod-security.kubernetes.io/enforce': 'restricted' }),
      ns('kube-system', {}),
    ]);
    expect(out.map((r) => [r.name, r.state])).toEqual([
      ['ok', 'passed'],
      ['init', 'failed'],
      ['partial', 'failed'],
      ['shop', 'failed'],
      ['payments', 'passed'],
    ]);
    expect(out[1]?.remedy).toEqual({ type: 'k8s.set-resource-limits', params: {} });
    expect(out[3]?.remedy).toEqual({ type: 'k8s.enforce-pod-security', params: {} });
  });

  it('flags the S3 settings, one report per check', () => {
    const bucket = (name: string, over: Record<string, unknown>) =>
      res('AwsS3Bucket', name, {
        encryption: { rules: [{ sseAlgorithm: 'AES256' }] },
        publicAccessBlock: {
          blockPublicAcls: true,
          ignorePublicAcls: true,
          blockPublicPolicy: true,
          restrictPublicBuckets: true,
        },
        versioning: { status: 'Enabled', mfaDelete: null },
        ...over,
      });
    const out = run([
      bucket('good', {}),
      bucket('bad', {
        encryption: null,
        publicAccessBlock: null,
        versioning: { status: 'Suspended', mfaDelete: null },
        policyStatus: { isPublic: true },
      }),
      bucket('private-policy', { policyStatus: { isPublic: false } }),
    ]);
    expect(out.filter((r) => r.name === 'good').every((r) => r.state === 'passed')).toBe(true);
    expect(out.filter((r) => r.name === 'private-policy').every((r) => r.state === 'passed')).toBe(
      true,
    );
    expect(out.filter((r) => r.name === 'bad').map((r) => [r.check, r.severity])).toEqual([
      ['s3-default-encryption', 'medium'],
      ['s3-public-access-block', 'high'],
      ['s3-bucket-policy-public', 'critical'],
      ['s3-versioning', 'low'],
    ]);
    // A public policy is for a person to judge: the failed report names no fix.
    const policy = out.find((r) => r.name === 'bad' && r.check === 's3-bucket-policy-public');
    expect(policy).toMatchObject({ state: 'failed', remedy: null });
  });

  it('flags root user access keys critical, with no fix', () => {
    const account = (name: string, present: boolean) =>
      res('AwsAccount', name, { accountId: name, accountAccessKeysPresent: present });
    expect(run([account('111122223333', true), account('444455556666', false)])).toEqual([
      {
        check: 'iam-root-access-keys',
        name: '111122223333',
        state: 'failed',
        severity: 'critical',
        remedy: null,
      },
      {
        check: 'iam-root-access-keys',
        name: '444455556666',
        state: 'passed',
        severity: 'critical',
        remedy: null,
      },
    ]);
  });

  it('keys each report by check and resource, so a rescan lands on the same finding', () => {
    const group = res('AwsEc2SecurityGroup', 'g', { ingress: [] });
    const [report] = runChecks([group], { now: NOW });
    expect(report).toMatchObject({
      kind: 'recommendation',
      origin: 'infraudit-checks',
      key: `ec2-open-sensitive-port|${group.id}`,
    });
  });
});

describe('check settings', () => {
  it('accepts a valid patch and refuses unknown keys and bad values whole', () => {
    expect(parseCheckSettingsPatch({ keyRotationDays: 45, sensitivePorts: [22] })).toEqual({
      keyRotationDays: 45,
      sensitivePorts: [22],
    });
    for (const bad of [
      { keyRotationDays: 0 },
      { keyUnusedDays: 1.5 },
      { sensitivePorts: [] },
      { sensitivePorts: [22, 22] },
      { sensitivePorts: [70000] },
      { podSecurityExemptNamespaces: ['Not_A_Namespace'] },
      { rotation: 90 },
      {},
      [],
    ]) {
      expect(() => parseCheckSettingsPatch(bad)).toThrow(AppError);
    }
  });
});
