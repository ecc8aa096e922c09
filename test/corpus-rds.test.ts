import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Fix, State } from '../src/catalog/fix.ts';
import { enableAutomatedBackups } from '../src/catalog/rds/enable-automated-backups.ts';
import { enableMultiAz } from '../src/catalog/rds/enable-multi-az.ts';
import { enableStorageEncryption } from '../src/catalog/rds/enable-storage-encryption.ts';
import type { Plan } from '../src/domain/action.ts';
import { AppError } from '../src/domain/errors.ts';
import { planFor } from '../src/engine/plan.ts';
import { parseFindingsFile } from '../src/findings/import.ts';
import { fixRequestFor } from '../src/findings/mapping.ts';
import { SandboxInputError } from '../src/sandbox/api-error.ts';
import type { AwsRecord } from '../src/sandbox/rds/model.ts';
import {
  instanceFromAsffDetails,
  instancesFromResponse,
  instancesFromResponseText,
} from '../src/sandbox/rds/raw.ts';
import { createCloudClients } from '../src/cloud/clients.ts';
import { createCatalog } from '../src/catalog/index.ts';
import { startSandbox } from '../src/sandbox/index.ts';
import {
  fixContext,
  inputWith,
  instanceRef,
  putRegion,
  type RdsWorld,
  startRdsWorld,
} from './helpers/rds.ts';
import { perTest } from './helpers/world.ts';
import { readCorpus, repoRoot } from './helpers/findings.ts';

/*
 * Raw AWS answers and findings from the shared corpus, loaded into the sandbox as they
 * are: the fixes must read them through the SDK and plan, refuse or stand down exactly as
 * they would against those accounts. A missing corpus fails the suite.
 */

const read = readCorpus;
const custodian = (test: string) =>
  instancesFromResponse(
    JSON.parse(read(`cloud-custodian/${test}__rds.DescribeDBInstances_1.json`)),
  );

const INPUT = inputWith({ rdsApplyImmediately: false, rdsBackupRetentionDays: 7 });
const RDS_11 = inputWith({ rdsApplyImmediately: false }, { minimumDays: 7 });

let world: RdsWorld;
perTest(startRdsWorld, (started) => {
  world = started;
});

/** The region a recorded instance lives in, from its ARN. */
function regionOf(record: AwsRecord): string {
  return String(record.DBInstanceArn).split(':')[3] as string;
}

async function load(records: AwsRecord[]): Promise<string> {
  const region = regionOf(records[0] as AwsRecord);
  await putRegion(world.sandbox, { DBInstances: records }, region);
  return region;
}

async function planOf(fix: Fix, id: string, region: string, input = INPUT): Promise<Plan> {
  const resource = instanceRef(id, region);
  const state: State = await fix.read(fixContext(world, input), resource);
  return planFor(fix, resource, state, input);
}

describe('cloud-custodian DescribeDBInstances recordings', () => {
  it('test_rds_retention: plans for the plain instance, stands down or refuses', async () => {
    const region = await load(custodian('test_rds_retention'));
    expect(region).toBe('us-west-2');

    const oneness = await planOf(enableMultiAz, 'oneness', region);
    expect(oneness).toMatchObject({ alreadyCompliant: false, refusal: null });
    expect(oneness.calls[0]?.parameters).toEqual({
      DBInstanceIdentifier: 'oneness',
      MultiAZ: true,
      ApplyImmediately: false,
    });
    expect((await planOf(enableAutomatedBackups, 'oneness', region)).alreadyCompliant).toBe(true);
    const encrypt = await planOf(enableStorageEncryption, 'oneness', region);
    expect(encrypt.refusal).toBeNull();
    expect(encrypt.calls.map((c) => c.operation)).toEqual([
      'CreateDBSnapshot',
      'CopyDBSnapshot',
      'RestoreDBInstanceFromDBSnapshot',
    ]);

    // Multi-AZ and encrypted already; that it is failed does not matter then.
    const sbbdev = await planOf(enableMultiAz, 'sbbdev', region);
    expect(sbbdev).toMatchObject({ alreadyCompliant: true, refusal: null });
    expect((await planOf(enableStorageEncryption, 'sbbdev', region)).alreadyCompliant).toBe(true);
    const failedBackups = await planOf(
      enableAutomatedBackups,
      'sbbdev',
      region,
      inputWith({}, { minimumDays: 30 }),
    );
    expect(failedBackups.refusal).toMatch(/sbbdev is in the failed state/);

    const replica = await planOf(enableAutomatedBackups, 'qapipfitread', region);
    expect(replica.alreadyCompliant).toBe(false);
    expect(replica.refusal).toMatch(/read replica of qapipfit/);
    expect((await planOf(enableAutomatedBackups, 'qpsoaread', region, RDS_11)).refusal).toMatch(
      /read replica of qpsoa/,
    );
    expect(
      (await planOf(enableAutomatedBackups, 'sbbdevslave', region, RDS_11)).alreadyCompliant,
    ).toBe(true);
    const replicaAz = await planOf(enableMultiAz, 'qapipfitread', region);
    expect(replicaAz.refusal).toBeNull();
    expect(replicaAz.warnings.join(' ')).toContain('read replica of qapipfit');
  });

  it('test_rds_recommendations: fails all three checks, as its Terraform state says', async () => {
    const region = await load(custodian('test_rds_recommendations'));
    const id = 'terraform-20251204185100057800000001';
    const plans = {
      multiAz: await planOf(enableMultiAz, id, region),
      backups: await planOf(enableAutomatedBackups, id, region, RDS_11),
      encryption: await planOf(enableStorageEncryption, id, region),
    };
    for (const plan of Object.values(plans)) {
      expect(plan).toMatchObject({ alreadyCompliant: false, refusal: null });
    }
    expect(plans.backups.calls[0]?.parameters.BackupRetentionPeriod).toBe(7);
    expect(plans.backups.warnings.join(' ')).toContain('causes an outage');
    expect(plans.encryption.calls[2]?.parameters).toMatchObject({
      DBInstanceIdentifier: `${id}-encrypted`,
      DBInstanceClass: 'db.t3.micro',
      AvailabilityZone: 'us-east-1d',
      VpcSecurityGroupIds: ['sg-00fa3b312b5d6c4cc'],
      Tags: [
        { Key: 'Name', Value: 'rds-test-instance' },
        { Key: 'created-by', Value: 'infraudit' },
      ],
    });

    // The Terraform state of the same instance; only these attributes are read from it.
    const tf = JSON.parse(
      read('cloud-custodian-terraform/tests__terraform__rds_recommendations__tf_resources.json'),
    ) as { resources: { aws_db_instance: { example: Record<string, unknown> } } };
    const example = tf.resources.aws_db_instance.example;
    expect(plans.multiAz.before).toMatchObject({
      instance: example.identifier,
      multiAZ: example.multi_az,
    });
    expect(plans.backups.before).toMatchObject({
      backupRetentionPeriod: example.backup_retention_period,
    });
    expect(plans.encryption.before).toMatchObject({ storageEncrypted: example.storage_encrypted });
  });

  it('test_rds_start: refuses the stopping and the stopped instance', async () => {
    const region = await load(custodian('test_rds_start'));
    expect((await planOf(enableMultiAz, 'rds-test-instance-1', region)).refusal).toMatch(
      /rds-test-instance-1 is stopping: RDS refuses changes to a stopped instance/,
    );
    expect((await planOf(enableStorageEncryption, 'rds-test-instance-2', region)).refusal).toMatch(
      /rds-test-instance-2 is stopped/,
    );
  });

  it('test_rds_modify_db: plans around the fields the record lacks', async () => {
    const region = await load(custodian('test_rds_modify_db'));
    const multiAz = await planOf(enableMultiAz, 'testtest', region);
    expect(multiAz.before).toMatchObject({ multiAZ: null, engine: null, clusterId: null });
    expect(multiAz.refusal).toBeNull();
    expect(multiAz.warnings.join(' ')).toContain('did not report MultiAZ for testtest');
    const encryption = await planOf(enableStorageEncryption, 'testtest', region);
    expect(encryption.before).toMatchObject({
      storageEncrypted: false,
      kmsKeyId: null,
      deletionProtection: true,
    });
    expect(encryption.warnings.join(' ')).toContain('testtest has deletion protection');
    expect((await planOf(enableAutomatedBackups, 'testtest', region)).alreadyCompliant).toBe(true);
  });

  it('test_security_hub_rds: Aurora members follow their cluster, even creating', async () => {
    const members = custodian('test_security_hub_rds');
    const region = await load(members);
    for (const fix of [enableMultiAz, enableAutomatedBackups, enableStorageEncryption]) {
      const plan = await planOf(fix, 'test-instance-1', region);
      expect(plan).toMatchObject({ alreadyCompliant: true, refusal: null });
    }

    await load(members.slice(0, 1));
    const alone = await planOf(enableMultiAz, 'test-instance-1', region);
    expect(alone.alreadyCompliant).toBe(false);
    expect(alone.refusal).toMatch(/member of Aurora cluster test: Multi-AZ belongs to the cluster/);
  });

  it("test_security_hub_rds GetFindings: Cloud Custodian's own finding has no fix", () => {
    const recording = JSON.parse(
      read('cloud-custodian/test_security_hub_rds__securityhub.GetFindings_1.json'),
    ) as { data: { Findings: unknown[] } };
    const { findings } = parseFindingsFile(JSON.stringify({ Findings: recording.data.Findings }));
    expect(findings).toHaveLength(1);
    expect(findings[0]?.resource).toMatchObject({
      type: 'AwsRdsDbInstance',
      name: 'test-instance-3',
    });
    expect(fixRequestFor(findings[0]!)).toBeUndefined();
  });
});

describe('findings about RDS', () => {
  it('afsbp-rds.5: maps to Multi-AZ, and its details (MultiAz) load as the instance', async () => {
    const text = read('aws-solutions-asr/afsbp-rds.5.json');
    const [finding] = parseFindingsFile(text).findings;
    expect(finding?.source).toMatchObject({ origin: 'securityhub', checkId: 'RDS.5' });
    expect(finding?.resource).toMatchObject({
      type: 'AwsRdsDbInstance',
      name: 'database-1',
      region: 'us-east-1',
    });
    expect(fixRequestFor(finding!)).toEqual({ type: 'rds.enable-multi-az', params: {} });

    const raw = JSON.parse(text) as { Resources: { Details: unknown }[] };
    const instance = instanceFromAsffDetails(raw.Resources[0]?.Details);
    expect(instance).toMatchObject({ MultiAZ: false, DBInstanceStatus: 'available' });
    expect(instance).not.toHaveProperty('MultiAz');
    await putRegion(world.sandbox, { DBInstances: [instance] }, 'us-east-1');
    const plan = await planOf(enableMultiAz, finding!.resource.name, 'us-east-1');
    expect(plan).toMatchObject({
      alreadyCompliant: false,
      refusal: null,
      before: { multiAZ: false, engine: 'mariadb', status: 'available' },
    });
    expect(plan.warnings.join(' ')).not.toContain('did not report MultiAZ');
  });

  it('prowler pr9704: RDS ARNs without a db: segment are not taken for instances', () => {
    const { findings } = parseFindingsFile(
      read('prowler/pr9704__test_prowler_output_large_1500__extract.ocsf.json'),
    );
    const rds = findings.filter((f) => f.source.checkId.startsWith('rds_'));
    expect(rds.map((f) => [f.source.checkId, f.status, f.resource.type])).toEqual([
      ['rds_instance_backup_enabled', 'manual', 'Other'],
      ['rds_instance_multi_az', 'failed', 'Other'],
    ]);
    for (const finding of rds) expect(fixRequestFor(finding)).toBeUndefined();
  });

  it('aws-cli docs output is not JSON and is refused, by the loader and the importer', () => {
    const text = read('aws-cli-docs/rds.describe-db-instances.json');
    expect(() => instancesFromResponseText(text, 'rds.describe-db-instances.json')).toThrow(
      SandboxInputError,
    );
    expect(() => instancesFromResponseText(text, 'rds.describe-db-instances.json')).toThrow(
      /rds\.describe-db-instances\.json is not valid JSON .*no RDS instance was loaded/,
    );
    expect(() => parseFindingsFile(text)).toThrow(AppError);
  });
});

describe('the demo findings', () => {
  it('plan a fix for each flawed database, refuse the Aurora member and the stopped', async () => {
    const demo = await startSandbox({ seed: 'demo' });
    const clients = createCloudClients({
      defaultRegion: 'us-east-1',
      endpoint: demo.url,
      credentials: { accessKeyId: 'AKIADEMO', secretAccessKey: 'demo-secret' },
    });
    const catalog = createCatalog();
    try {
      const { findings } = parseFindingsFile(
        readFileSync(path.join(repoRoot, 'examples/demo/rds.ocsf.json'), 'utf8'),
      );
      const seen: string[] = [];
      for (const finding of findings) {
        const request = fixRequestFor(finding)!;
        const fix = catalog.get(request.type)!;
        const input = inputWith({}, request.params);
        const state = await fix.read(fixContext({ clients }, input), finding.resource);
        const plan = planFor(fix, finding.resource, state, input);
        expect(plan.alreadyCompliant).toBe(finding.status === 'passed');
        const outcome = plan.alreadyCompliant
          ? 'compliant'
          : (plan.refusal?.split(':')[0] ?? plan.calls.map((c) => c.operation).join('+'));
        seen.push(`${finding.resource.name} ${request.type} ${outcome}`);
      }
      expect(seen).toEqual([
        'orders-prod rds.enable-multi-az ModifyDBInstance',
        'reporting-db rds.enable-automated-backups ModifyDBInstance',
        'legacy-crm rds.enable-storage-encryption ' +
          'CreateDBSnapshot+CopyDBSnapshot+RestoreDBInstanceFromDBSnapshot',
        'analytics-writer rds.enable-multi-az DB instance analytics-writer is a member of ' +
          'Aurora cluster analytics-cluster',
        'staging-db rds.enable-multi-az DB instance staging-db is stopped',
        'billing-prod rds.enable-multi-az compliant',
        'orders-prod rds.enable-automated-backups compliant',
        'orders-prod rds.enable-storage-encryption compliant',
      ]);
    } finally {
      clients.destroy();
      await demo.close();
    }
  });
});
