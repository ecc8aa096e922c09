import {
  CopyDBSnapshotCommand,
  CreateDBInstanceCommand,
  CreateDBSnapshotCommand,
  DeleteDBInstanceCommand,
  DeleteDBSnapshotCommand,
  DescribeDBClustersCommand,
  DescribeDBInstancesCommand,
  DescribeDBSnapshotsCommand,
  ModifyDBInstanceCommand,
  type RDSClient,
  RestoreDBInstanceFromDBSnapshotCommand,
  StartDBInstanceCommand,
  StopDBInstanceCommand,
} from '@aws-sdk/client-rds';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { windowAround } from '../src/sandbox/rds/maintenance-window.ts';
import { startSandbox } from '../src/sandbox/index.ts';
import type { Sandbox } from '../src/sandbox/index.ts';
import {
  ACCOUNT,
  createAuroraCluster,
  createInstance,
  createReadReplica,
  describe as describeInstance,
  eventually,
  failure,
  putRegion,
  rdsClient,
  REGION,
  setSettings,
} from './helpers/rds.ts';

let sandbox: Sandbox;
let rds: RDSClient;

beforeEach(async () => {
  sandbox = await startSandbox({ seed: 'empty' });
  rds = rdsClient(sandbox);
});

afterEach(async () => {
  rds.destroy();
  await sandbox.close();
});

const modify = (input: ConstructorParameters<typeof ModifyDBInstanceCommand>[0]) =>
  rds.send(new ModifyDBInstanceCommand(input));

describe('RDS instances', () => {
  it('creates an instance: creating, then available, with RDS fields, no password', async () => {
    const created = await rds.send(
      new CreateDBInstanceCommand({
        DBInstanceIdentifier: 'Orders-DB',
        DBInstanceClass: 'db.m6g.large',
        Engine: 'postgres',
        MasterUsername: 'app',
        MasterUserPassword: 'hunter2-hunter2',
        VpcSecurityGroupIds: ['sg-0aa', 'sg-0bb'],
        Tags: [{ Key: 'env', Value: 'prod' }],
      }),
    );
    expect(created.DBInstance).toMatchObject({
      DBInstanceIdentifier: 'orders-db',
      DBInstanceStatus: 'creating',
      MultiAZ: false,
      StorageEncrypted: false,
      BackupRetentionPeriod: 1,
      DBInstanceArn: `arn:aws:rds:${REGION}:${ACCOUNT}:db:orders-db`,
      ReadReplicaDBInstanceIdentifiers: [],
      PendingModifiedValues: {},
    });
    expect(created.DBInstance?.VpcSecurityGroups?.map((g) => g.VpcSecurityGroupId)).toEqual([
      'sg-0aa',
      'sg-0bb',
    ]);
    expect(created.DBInstance?.TagList).toEqual([{ Key: 'env', Value: 'prod' }]);
    expect((await describeInstance(rds, 'orders-db')).DBInstanceStatus).toBe('available');

    const logged = sandbox.mutations().at(-1);
    expect(logged).toMatchObject({
      service: 'rds',
      operation: 'CreateDBInstance',
      resource: 'orders-db',
    });
    expect(logged?.params).toMatchObject({ DBInstanceIdentifier: 'Orders-DB', Engine: 'postgres' });
    expect(JSON.stringify(sandbox.mutations())).not.toContain('hunter2');
    expect(JSON.stringify(sandbox.state())).not.toContain('hunter2');
  });

  it('pages DescribeDBInstances with MaxRecords and Marker, and filters by cluster', async () => {
    for (let i = 0; i < 23; i += 1) await createInstance(rds, `db-${String(i).padStart(2, '0')}`);
    const first = await rds.send(new DescribeDBInstancesCommand({ MaxRecords: 20 }));
    expect(first.DBInstances).toHaveLength(20);
    expect(first.Marker).toBeDefined();
    const second = await rds.send(
      new DescribeDBInstancesCommand({ MaxRecords: 20, Marker: first.Marker }),
    );
    expect(second.DBInstances?.map((d) => d.DBInstanceIdentifier)).toEqual([
      'db-20',
      'db-21',
      'db-22',
    ]);
    expect(second.Marker).toBeUndefined();

    const bad = await failure(rds.send(new DescribeDBInstancesCommand({ MaxRecords: 10 })));
    expect(bad.name).toBe('InvalidParameterValue');

    const byArn = await rds.send(
      new DescribeDBInstancesCommand({
        DBInstanceIdentifier: `arn:aws:rds:${REGION}:${ACCOUNT}:db:db-07`,
      }),
    );
    expect(byArn.DBInstances?.map((d) => d.DBInstanceIdentifier)).toEqual(['db-07']);
    const none = await rds.send(
      new DescribeDBInstancesCommand({ Filters: [{ Name: 'db-cluster-id', Values: ['nope'] }] }),
    );
    expect(none.DBInstances).toEqual([]);
  });

  it('answers RDS errors with their codes and statuses', async () => {
    const missing = await failure(describeInstance(rds, 'ghost'));
    expect(missing).toMatchObject({ name: 'DBInstanceNotFoundFault', Code: 'DBInstanceNotFound' });
    expect(missing.$metadata.httpStatusCode).toBe(404);
    expect(missing.message).toBe('DBInstance ghost not found.');

    await createInstance(rds, 'dup');
    const again = await failure(createInstance(rds, 'dup'));
    expect(again.name).toBe('DBInstanceAlreadyExistsFault');
    expect(again.$metadata.httpStatusCode).toBe(400);

    const badId = await failure(createInstance(rds, '1-starts-with-a-digit'));
    expect(badId.name).toBe('InvalidParameterValue');
    const zoned = await failure(
      createInstance(rds, 'zoned', { MultiAZ: true, AvailabilityZone: 'us-east-1a' }),
    );
    expect(zoned.name).toBe('InvalidParameterCombination');
    const keyOnly = await failure(createInstance(rds, 'keyed', { KmsKeyId: 'alias/aws/rds' }));
    expect(keyOnly.name).toBe('InvalidParameterCombination');
    const badKey = await failure(
      createInstance(rds, 'badkey', { StorageEncrypted: true, KmsKeyId: 'not-a-key' }),
    );
    expect(badKey.name).toBe('KMSKeyNotAccessibleFault');
    const retention = await failure(
      modify({ DBInstanceIdentifier: 'dup', BackupRetentionPeriod: 36 }),
    );
    expect(retention.name).toBe('InvalidParameterValue');
    const unknown = await failure(modify({ DBInstanceIdentifier: 'dup', EngineVersion: '17.1' }));
    expect(unknown.name).toBe('InvalidParameterValue');
    expect(unknown.message).toContain('EngineVersion');
  });
});

describe('ModifyDBInstance and the maintenance window', () => {
  it('holds Multi-AZ in PendingModifiedValues until the window is moved onto now', async () => {
    await createInstance(rds, 'app');
    const out = await modify({
      DBInstanceIdentifier: 'app',
      MultiAZ: true,
      ApplyImmediately: false,
    });
    expect(out.DBInstance).toMatchObject({
      DBInstanceStatus: 'available',
      MultiAZ: false,
      PendingModifiedValues: { MultiAZ: true },
    });
    expect(sandbox.mutations().at(-1)?.params).toEqual({
      DBInstanceIdentifier: 'app',
      ApplyImmediately: false,
      MultiAZ: true,
    });

    await modify({
      DBInstanceIdentifier: 'app',
      PreferredMaintenanceWindow: windowAround(new Date()),
    });
    const after = await describeInstance(rds, 'app');
    expect(after).toMatchObject({
      MultiAZ: true,
      PendingModifiedValues: {},
      DBInstanceStatus: 'available',
    });
    expect(after.SecondaryAvailabilityZone).toBe('us-east-1b');
  });

  it('takes a pending change back when the value in force is asked for again', async () => {
    await createInstance(rds, 'app', { BackupRetentionPeriod: 0 });
    await modify({ DBInstanceIdentifier: 'app', BackupRetentionPeriod: 7 });
    expect((await describeInstance(rds, 'app')).PendingModifiedValues).toEqual({
      BackupRetentionPeriod: 7,
    });
    await modify({ DBInstanceIdentifier: 'app', BackupRetentionPeriod: 0 });
    const back = await describeInstance(rds, 'app');
    expect(back).toMatchObject({ BackupRetentionPeriod: 0, PendingModifiedValues: {} });
  });

  it('changes a non-zero retention at once whatever ApplyImmediately says', async () => {
    await createInstance(rds, 'app', { BackupRetentionPeriod: 3 });
    await modify({
      DBInstanceIdentifier: 'app',
      BackupRetentionPeriod: 14,
      ApplyImmediately: false,
    });
    expect(await describeInstance(rds, 'app')).toMatchObject({
      BackupRetentionPeriod: 14,
      PendingModifiedValues: {},
    });
  });

  it('is modifying for the configured time when applied immediately', async () => {
    await createInstance(rds, 'app');
    await setSettings(sandbox, { transitionMs: 150 });
    const out = await modify({
      DBInstanceIdentifier: 'app',
      MultiAZ: true,
      ApplyImmediately: true,
    });
    expect(out.DBInstance).toMatchObject({
      DBInstanceStatus: 'modifying',
      PendingModifiedValues: { MultiAZ: true },
    });
    const busy = await failure(modify({ DBInstanceIdentifier: 'app', BackupRetentionPeriod: 5 }));
    expect(busy.name).toBe('InvalidDBInstanceStateFault');
    const done = await eventually(
      () => describeInstance(rds, 'app'),
      (d) => d.DBInstanceStatus === 'available',
    );
    expect(done).toMatchObject({ MultiAZ: true, PendingModifiedValues: {} });
  });

  it('applies pending changes after maintenanceAfterMs when that is set', async () => {
    await createInstance(rds, 'app');
    await setSettings(sandbox, { maintenanceAfterMs: 100 });
    await modify({ DBInstanceIdentifier: 'app', MultiAZ: true });
    expect((await describeInstance(rds, 'app')).PendingModifiedValues).toEqual({ MultiAZ: true });
    const done = await eventually(
      () => describeInstance(rds, 'app'),
      (d) => d.MultiAZ === true,
    );
    expect(done.PendingModifiedValues).toEqual({});
  });

  it('refuses changes to a stopped instance, and stops and starts', async () => {
    await createInstance(rds, 'app');
    const stopping = await rds.send(new StopDBInstanceCommand({ DBInstanceIdentifier: 'app' }));
    expect(stopping.DBInstance?.DBInstanceStatus).toBe('stopping');
    expect((await describeInstance(rds, 'app')).DBInstanceStatus).toBe('stopped');
    const refused = await failure(modify({ DBInstanceIdentifier: 'app', MultiAZ: true }));
    expect(refused).toMatchObject({
      name: 'InvalidDBInstanceStateFault',
      Code: 'InvalidDBInstanceState',
    });
    const twice = await failure(
      rds.send(new StopDBInstanceCommand({ DBInstanceIdentifier: 'app' })),
    );
    expect(twice.name).toBe('InvalidDBInstanceStateFault');
    await rds.send(new StartDBInstanceCommand({ DBInstanceIdentifier: 'app' }));
    expect((await describeInstance(rds, 'app')).DBInstanceStatus).toBe('available');
  });
});

describe('read replicas and Aurora clusters', () => {
  it('needs backups on the source, links replica and source, keeps backups on', async () => {
    await createInstance(rds, 'primary', { BackupRetentionPeriod: 0 });
    const noBackups = await failure(createReadReplica(rds, 'replica', 'primary'));
    expect(noBackups.name).toBe('InvalidDBInstanceStateFault');
    await modify({
      DBInstanceIdentifier: 'primary',
      BackupRetentionPeriod: 7,
      ApplyImmediately: true,
    });
    await createReadReplica(rds, 'replica', 'primary');
    expect(await describeInstance(rds, 'replica')).toMatchObject({
      ReadReplicaSourceDBInstanceIdentifier: 'primary',
      BackupRetentionPeriod: 0,
    });
    expect((await describeInstance(rds, 'primary')).ReadReplicaDBInstanceIdentifiers).toEqual([
      'replica',
    ]);
    const off = await failure(
      modify({ DBInstanceIdentifier: 'primary', BackupRetentionPeriod: 0 }),
    );
    expect(off.name).toBe('InvalidParameterCombination');

    await rds.send(
      new DeleteDBInstanceCommand({ DBInstanceIdentifier: 'replica', SkipFinalSnapshot: true }),
    );
    expect((await describeInstance(rds, 'primary')).ReadReplicaDBInstanceIdentifiers).toEqual([]);
  });

  it('puts Multi-AZ and backups on the cluster, which is Multi-AZ across zones', async () => {
    await createAuroraCluster(rds, 'analytics', 'aurora-postgresql', {
      StorageEncrypted: true,
      BackupRetentionPeriod: 5,
    });
    const member = await createInstance(rds, 'analytics-1', {
      Engine: 'aurora-postgresql',
      DBClusterIdentifier: 'analytics',
      AvailabilityZone: 'us-east-1a',
      MasterUsername: undefined,
      MasterUserPassword: undefined,
      AllocatedStorage: undefined,
    });
    expect(member).toMatchObject({
      DBClusterIdentifier: 'analytics',
      MultiAZ: false,
      StorageEncrypted: true,
      BackupRetentionPeriod: 5,
    });
    const multi = await failure(modify({ DBInstanceIdentifier: 'analytics-1', MultiAZ: true }));
    expect(multi.name).toBe('InvalidParameterCombination');
    const backups = await failure(
      modify({ DBInstanceIdentifier: 'analytics-1', BackupRetentionPeriod: 9 }),
    );
    expect(backups.name).toBe('InvalidParameterCombination');

    const cluster = async () =>
      (await rds.send(new DescribeDBClustersCommand({ DBClusterIdentifier: 'analytics' })))
        .DBClusters?.[0];
    expect(await cluster()).toMatchObject({ MultiAZ: false, BackupRetentionPeriod: 5 });
    await createInstance(rds, 'analytics-2', {
      Engine: 'aurora-postgresql',
      DBClusterIdentifier: 'analytics',
      AvailabilityZone: 'us-east-1c',
      MasterUsername: undefined,
      MasterUserPassword: undefined,
      AllocatedStorage: undefined,
    });
    const both = await cluster();
    expect(both?.MultiAZ).toBe(true);
    expect(both?.DBClusterMembers?.map((m) => [m.DBInstanceIdentifier, m.IsClusterWriter])).toEqual(
      [
        ['analytics-1', true],
        ['analytics-2', false],
      ],
    );
    const missing = await failure(
      rds.send(new DescribeDBClustersCommand({ DBClusterIdentifier: 'nope' })),
    );
    expect(missing).toMatchObject({ name: 'DBClusterNotFoundFault' });
    expect(missing.$metadata.httpStatusCode).toBe(404);
  });
});

describe('snapshots', () => {
  it('snapshots, copies with a KMS key into an encrypted copy, and restores from it', async () => {
    await createInstance(rds, 'plain', { VpcSecurityGroupIds: ['sg-0aa'] });
    await setSettings(sandbox, { transitionMs: 100 });
    const created = await rds.send(
      new CreateDBSnapshotCommand({
        DBInstanceIdentifier: 'plain',
        DBSnapshotIdentifier: 'plain-snap',
      }),
    );
    expect(created.DBSnapshot).toMatchObject({
      Status: 'creating',
      Encrypted: false,
      SnapshotType: 'manual',
    });
    expect((await describeInstance(rds, 'plain')).DBInstanceStatus).toBe('backing-up');
    const early = await failure(
      rds.send(
        new CopyDBSnapshotCommand({
          SourceDBSnapshotIdentifier: 'plain-snap',
          TargetDBSnapshotIdentifier: 'too-early',
        }),
      ),
    );
    expect(early.name).toBe('InvalidDBSnapshotStateFault');
    await eventually(
      () => rds.send(new DescribeDBSnapshotsCommand({ DBSnapshotIdentifier: 'plain-snap' })),
      (out) => out.DBSnapshots?.[0]?.Status === 'available',
    );
    await setSettings(sandbox, { transitionMs: 0 });

    const key = `arn:aws:kms:${REGION}:${ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab`;
    const copy = await rds.send(
      new CopyDBSnapshotCommand({
        SourceDBSnapshotIdentifier: 'plain-snap',
        TargetDBSnapshotIdentifier: 'plain-snap-encrypted',
        KmsKeyId: key,
      }),
    );
    expect(copy.DBSnapshot).toMatchObject({ Encrypted: true, KmsKeyId: key, Status: 'creating' });
    const duplicate = await failure(
      rds.send(
        new CopyDBSnapshotCommand({
          SourceDBSnapshotIdentifier: 'plain-snap',
          TargetDBSnapshotIdentifier: 'plain-snap-encrypted',
        }),
      ),
    );
    expect(duplicate.name).toBe('DBSnapshotAlreadyExistsFault');

    const restored = await rds.send(
      new RestoreDBInstanceFromDBSnapshotCommand({
        DBInstanceIdentifier: 'plain-encrypted',
        DBSnapshotIdentifier: 'plain-snap-encrypted',
        DBInstanceClass: 'db.t3.medium',
        VpcSecurityGroupIds: ['sg-0aa'],
      }),
    );
    expect(restored.DBInstance).toMatchObject({
      StorageEncrypted: true,
      KmsKeyId: key,
      Engine: 'postgres',
    });
    const taken = await failure(
      rds.send(
        new RestoreDBInstanceFromDBSnapshotCommand({
          DBInstanceIdentifier: 'plain',
          DBSnapshotIdentifier: 'plain-snap-encrypted',
        }),
      ),
    );
    expect(taken.name).toBe('DBInstanceAlreadyExistsFault');
    expect((await describeInstance(rds, 'plain')).StorageEncrypted).toBe(false);
  });

  it('resolves aliases and key ids to key ARNs, the same alias to the same key', async () => {
    await createInstance(rds, 'src');
    await rds.send(
      new CreateDBSnapshotCommand({ DBInstanceIdentifier: 'src', DBSnapshotIdentifier: 's' }),
    );
    const copyWith = async (target: string, KmsKeyId: string) =>
      (
        await rds.send(
          new CopyDBSnapshotCommand({
            SourceDBSnapshotIdentifier: 's',
            TargetDBSnapshotIdentifier: target,
            KmsKeyId,
          }),
        )
      ).DBSnapshot?.KmsKeyId;
    const one = await copyWith('a1', 'alias/aws/rds');
    const two = await copyWith('a2', 'alias/aws/rds');
    expect(one).toMatch(/^arn:aws:kms:us-east-1:111122223333:key\/[0-9a-f-]{36}$/);
    expect(two).toBe(one);
    expect(await copyWith('a3', '1234abcd-12ab-34cd-56ef-1234567890ab')).toBe(
      'arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab',
    );
  });

  it('describes, refuses missing snapshots with 404, and deletes', async () => {
    await createInstance(rds, 'src');
    await rds.send(
      new CreateDBSnapshotCommand({ DBInstanceIdentifier: 'src', DBSnapshotIdentifier: 'keep' }),
    );
    const again = await failure(
      rds.send(
        new CreateDBSnapshotCommand({ DBInstanceIdentifier: 'src', DBSnapshotIdentifier: 'keep' }),
      ),
    );
    expect(again.name).toBe('DBSnapshotAlreadyExistsFault');
    const byInstance = await rds.send(
      new DescribeDBSnapshotsCommand({ DBInstanceIdentifier: 'src' }),
    );
    expect(byInstance.DBSnapshots?.map((s) => s.DBSnapshotIdentifier)).toEqual(['keep']);
    const deleted = await rds.send(new DeleteDBSnapshotCommand({ DBSnapshotIdentifier: 'keep' }));
    expect(deleted.DBSnapshot?.Status).toBe('deleted');
    const missing = await failure(
      rds.send(new DescribeDBSnapshotsCommand({ DBSnapshotIdentifier: 'keep' })),
    );
    expect(missing).toMatchObject({ name: 'DBSnapshotNotFoundFault', Code: 'DBSnapshotNotFound' });
    expect(missing.$metadata.httpStatusCode).toBe(404);
  });

  it('deletes an instance only with SkipFinalSnapshot or a final snapshot', async () => {
    await createInstance(rds, 'gone');
    const neither = await failure(
      rds.send(new DeleteDBInstanceCommand({ DBInstanceIdentifier: 'gone' })),
    );
    expect(neither.name).toBe('InvalidParameterCombination');
    await setSettings(sandbox, { transitionMs: 100 });
    const out = await rds.send(
      new DeleteDBInstanceCommand({
        DBInstanceIdentifier: 'gone',
        FinalDBSnapshotIdentifier: 'gone-final',
      }),
    );
    expect(out.DBInstance?.DBInstanceStatus).toBe('deleting');
    const missing = await eventually(
      () =>
        describeInstance(rds, 'gone').then(
          () => null,
          (err: Error & { Code?: string }) => err,
        ),
      (err) => err?.name === 'DBInstanceNotFoundFault',
    );
    expect(missing?.Code).toBe('DBInstanceNotFound');
    const final = await rds.send(
      new DescribeDBSnapshotsCommand({ DBSnapshotIdentifier: 'gone-final' }),
    );
    expect(final.DBSnapshots?.[0]?.DBInstanceIdentifier).toBe('gone');
  });
});

describe('faults and state', () => {
  it('answers Throttling, which the SDK retries', async () => {
    await createInstance(rds, 'app');
    sandbox.injectFault({
      service: 'rds',
      operation: 'DescribeDBInstances',
      kind: 'throttle',
      count: 1,
    });
    const refused = await failure(describeInstance(rds, 'app'));
    expect(refused.name).toBe('Throttling');
    sandbox.injectFault({
      service: 'rds',
      operation: 'DescribeDBInstances',
      kind: 'throttle',
      count: 2,
    });
    const patient = rdsClient(sandbox, REGION, 4);
    try {
      const out = await patient.send(
        new DescribeDBInstancesCommand({ DBInstanceIdentifier: 'app' }),
      );
      expect(out.DBInstances?.[0]?.DBInstanceIdentifier).toBe('app');
      expect(out.$metadata.attempts).toBe(3);
    } finally {
      patient.destroy();
    }
  });

  it('loads records with missing fields as they are, and refuses a malformed state', async () => {
    await putRegion(sandbox, {
      DBInstances: [
        {
          DBInstanceIdentifier: 'trimmed',
          DBInstanceStatus: 'available',
          BackupRetentionPeriod: 7,
          StorageEncrypted: false,
          DBInstanceArn: 'arn:aws:rds:us-east-1:644160558196:db:trimmed',
        },
        {
          DBInstanceIdentifier: 'broken',
          DBInstanceStatus: 'failed',
          MultiAZ: true,
          DBClusterIdentifier: 'lonely',
        },
      ],
    });
    const trimmed = await describeInstance(rds, 'trimmed');
    expect(trimmed.MultiAZ).toBeUndefined();
    expect(trimmed.Engine).toBeUndefined();
    expect(trimmed.DBInstanceArn).toBe(`arn:aws:rds:${REGION}:${ACCOUNT}:db:trimmed`);
    expect((await describeInstance(rds, 'broken')).DBInstanceStatus).toBe('failed');
    const cluster = await rds.send(
      new DescribeDBClustersCommand({ DBClusterIdentifier: 'lonely' }),
    );
    expect(cluster.DBClusters?.[0]?.DBClusterMembers?.map((m) => m.DBInstanceIdentifier)).toEqual([
      'broken',
    ]);

    const doc = sandbox.state();
    (doc.accounts[ACCOUNT]!.regions[REGION] as { rds: unknown }).rds = {
      DBInstances: [{ DBInstanceIdentifier: 'x', MultiAZ: 'yes' }],
    };
    const res = await fetch(`${sandbox.url}/_sandbox/state`, {
      method: 'PUT',
      body: JSON.stringify(doc),
    });
    expect(res.status).toBe(400);
    const body = (await res.json()) as { error: string };
    expect(body.error).toContain('DBInstances[0].MultiAZ must be true or false');
  });
});
