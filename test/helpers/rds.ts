import {
  CreateDBClusterCommand,
  type CreateDBClusterCommandInput,
  CreateDBInstanceCommand,
  CreateDBInstanceReadReplicaCommand,
  type CreateDBInstanceCommandInput,
  type DBInstance,
  DescribeDBInstancesCommand,
  RDSClient,
} from '@aws-sdk/client-rds';
import pino from 'pino';
import type { FixContext, FixInput } from '../../src/catalog/fix.ts';
import { type CloudClients, createCloudClients } from '../../src/cloud/clients.ts';
import type { ResourceRef } from '../../src/domain/action.ts';
import { DEFAULT_FIX_OPTIONS, type FixOptions } from '../../src/domain/fix-options.ts';
import type { RdsRegionDocument } from '../../src/sandbox/rds/store.ts';
import { type Sandbox, startSandbox } from '../../src/sandbox/index.ts';

export const ACCOUNT = '111122223333';
export const REGION = 'us-east-1';
export const silent = pino({ level: process.env.INFRAUDIT_TEST_LOG ?? 'silent' });

const CREDENTIALS = { accessKeyId: 'AKIARDSTESTKEY', secretAccessKey: 'rds-test-secret' };

/** A sandbox, the product's clients and a bare RDS client, all on loopback. */
export async function startRdsWorld(opts: { maxAttempts?: number } = {}) {
  const sandbox: Sandbox = await startSandbox({ seed: 'empty' });
  const cloud = {
    defaultRegion: REGION,
    endpoint: sandbox.url,
    credentials: CREDENTIALS,
    maxAttempts: opts.maxAttempts ?? 4,
  };
  const clients: CloudClients = createCloudClients(cloud);
  const rds = rdsClient(sandbox);
  return {
    sandbox,
    clients,
    rds,
    async close() {
      rds.destroy();
      clients.destroy();
      await sandbox.close();
    },
  };
}

export type RdsWorld = Awaited<ReturnType<typeof startRdsWorld>>;

export function rdsClient(sandbox: Sandbox, region = REGION, maxAttempts = 1): RDSClient {
  return new RDSClient({ endpoint: sandbox.url, region, credentials: CREDENTIALS, maxAttempts });
}

export function inputWith(
  options: Partial<FixOptions> = {},
  params: Record<string, unknown> = {},
): FixInput {
  return { params, options: { ...DEFAULT_FIX_OPTIONS, ...options } };
}

/** A fix context that keeps its checkpoints, as the engine's does, without a store. */
export function fixContext(
  world: { clients: CloudClients },
  input: FixInput,
  progress: Record<string, unknown> = {},
): FixContext & { checkpoints: Record<string, unknown>[] } {
  const checkpoints: Record<string, unknown>[] = [];
  const ctx = {
    ...input,
    clients: world.clients,
    log: silent,
    progress: { ...progress },
    checkpoints,
    async checkpoint(next: Record<string, unknown>) {
      checkpoints.push({ ...next });
      ctx.progress = { ...next };
    },
    async deliverSecret() {
      throw new Error('the RDS fixes deliver no secret');
    },
  };
  return ctx;
}

export function instanceRef(id: string, region = REGION, account = ACCOUNT): ResourceRef {
  return {
    provider: 'aws',
    account,
    region,
    type: 'AwsRdsDbInstance',
    id: `arn:aws:rds:${region}:${account}:db:${id}`,
    name: id,
  };
}

/** Creates an instance through the SDK; with no transition delay it is available at once. */
export async function createInstance(
  rds: RDSClient,
  id: string,
  extra: Partial<CreateDBInstanceCommandInput> = {},
): Promise<DBInstance> {
  await rds.send(
    new CreateDBInstanceCommand({
      DBInstanceIdentifier: id,
      DBInstanceClass: 'db.t3.medium',
      Engine: 'postgres',
      MasterUsername: 'app',
      MasterUserPassword: 'not-a-real-password-1',
      AllocatedStorage: 50,
      ...extra,
    }),
  );
  return describe(rds, id);
}

/** Creates `id` as a read replica of `source`. */
export function createReadReplica(rds: RDSClient, id: string, source: string) {
  return rds.send(
    new CreateDBInstanceReadReplicaCommand({
      DBInstanceIdentifier: id,
      SourceDBInstanceIdentifier: source,
    }),
  );
}

/** Creates an Aurora cluster with a throwaway master login. */
export function createAuroraCluster(
  rds: RDSClient,
  id: string,
  engine: 'aurora-mysql' | 'aurora-postgresql',
  extra: Partial<CreateDBClusterCommandInput> = {},
) {
  return rds.send(
    new CreateDBClusterCommand({
      DBClusterIdentifier: id,
      Engine: engine,
      MasterUsername: 'app',
      MasterUserPassword: 'not-a-real-password-4',
      ...extra,
    }),
  );
}

export async function describe(rds: RDSClient, id: string): Promise<DBInstance> {
  const out = await rds.send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: id }));
  return out.DBInstances?.[0] as DBInstance;
}

/** The named fields of an instance, as the SDK describes it; absent ones stay as undefined. */
export async function fieldsOf<K extends keyof DBInstance>(
  rds: RDSClient,
  id: string,
  keys: readonly K[],
): Promise<Pick<DBInstance, K>> {
  const db = await describe(rds, id);
  return Object.fromEntries(keys.map((key) => [key, db[key]])) as Pick<DBInstance, K>;
}

/** Polls until `check` holds; the sandbox settles statuses on its own clock. */
export async function eventually<T>(read: () => Promise<T>, check: (v: T) => boolean): Promise<T> {
  const until = Date.now() + 10_000;
  for (;;) {
    const value = await read();
    if (check(value)) return value;
    if (Date.now() > until) throw new Error(`still not there: ${JSON.stringify(value)}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Replaces one region's RDS slice of the sandbox state through the control API. */
export async function putRegion(
  sandbox: Sandbox,
  rds: RdsRegionDocument,
  region = REGION,
  account = ACCOUNT,
): Promise<void> {
  const doc = sandbox.state();
  const acct = (doc.accounts[account] ??= { regions: {} });
  acct.regions[region] = { ...(acct.regions[region] ?? {}), rds };
  const res = await fetch(`${sandbox.url}/_sandbox/state`, {
    method: 'PUT',
    body: JSON.stringify(doc),
  });
  if (res.status !== 204) throw new Error(`PUT state: ${res.status} ${await res.text()}`);
}

/** Changes one region's RDS settings, keeping its resources. */
export async function setSettings(
  sandbox: Sandbox,
  settings: RdsRegionDocument['settings'],
  region = REGION,
): Promise<void> {
  const current = (sandbox.state().accounts[ACCOUNT]?.regions[region]?.rds ??
    {}) as RdsRegionDocument;
  await putRegion(sandbox, { ...current, settings: { ...current.settings, ...settings } }, region);
}

export { appliedSince, failure, lastSeq } from './world.ts';
