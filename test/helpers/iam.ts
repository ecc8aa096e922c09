import { IAMClient, ListAccessKeysCommand } from '@aws-sdk/client-iam';
import type { FixContext } from '../../src/catalog/fix.ts';
import { type CloudClients, createCloudClients } from '../../src/cloud/clients.ts';
import type { PlannedCall, ResourceRef } from '../../src/domain/action.ts';
import { DEFAULT_FIX_OPTIONS } from '../../src/domain/fix-options.ts';
import { startSandbox, type Sandbox, type StateDocument } from '../../src/sandbox/index.ts';
import { beforeEach } from 'vitest';
import { perSuite, silentLog } from './world.ts';

export const ACCOUNT = '111122223333';
const DAY_MS = 24 * 60 * 60 * 1000;

/** An ISO time `days` before now. */
export const daysAgo = (days: number) => new Date(Date.now() - days * DAY_MS).toISOString();

export interface SeedKey {
  id: string;
  created: number;
  status?: 'Active' | 'Inactive';
  /** Days since last use; null or left out for never used. */
  used?: number | null;
  secret?: string;
}

/** A state document with IAM users and their keys, dates in days before now. */
export function iamDocument(
  users: Record<string, { id?: string; path?: string; keys: SeedKey[] }>,
  rootKeys: SeedKey[] = [],
): StateDocument {
  const key = (k: SeedKey) => ({
    accessKeyId: k.id,
    status: k.status ?? 'Active',
    createDate: daysAgo(k.created),
    lastUsed:
      k.used === undefined || k.used === null
        ? null
        : { date: daysAgo(k.used), serviceName: 's3', region: 'us-east-1' },
    ...(k.secret ? { secretAccessKey: k.secret } : {}),
  });
  let n = 0;
  const entries = Object.entries(users).map(([name, u]) => {
    n += 1;
    return [
      name,
      {
        userId: u.id ?? `AIDATESTUSER${String(n).padStart(9, '0')}`,
        path: u.path ?? '/',
        createDate: daysAgo(1000),
        accessKeys: u.keys.map(key),
      },
    ];
  });
  return {
    version: 1,
    defaultAccount: ACCOUNT,
    accounts: {
      [ACCOUNT]: {
        regions: {},
        iam: { users: Object.fromEntries(entries), root: { accessKeys: rootKeys.map(key) } },
      },
    },
  };
}

/** Replaces the sandbox's whole state through its control API. */
export async function putState(sandbox: Sandbox, doc: StateDocument): Promise<void> {
  const res = await fetch(`${sandbox.url}/_sandbox/state`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(doc),
  });
  if (res.status !== 204) throw new Error(`PUT state answered ${res.status}: ${await res.text()}`);
}

export async function startIamWorld(maxAttempts = 4) {
  const sandbox = await startSandbox({ seed: 'empty' });
  const cloud = {
    defaultRegion: 'us-east-1',
    endpoint: sandbox.url,
    credentials: { accessKeyId: 'AKIAIAMFIXTEST', secretAccessKey: 'iam-fix-test' },
    maxAttempts,
  };
  const clients: CloudClients = createCloudClients(cloud);
  const iam = new IAMClient({ region: 'us-east-1', ...cloud });
  return {
    sandbox,
    clients,
    iam,
    async keys(userName: string) {
      const out = await iam.send(new ListAccessKeysCommand({ UserName: userName }));
      return (out.AccessKeyMetadata ?? []).map((k) => ({ id: k.AccessKeyId!, status: k.Status! }));
    },
    /** The secret the sandbox issued for a key, read from its state. */
    secretOf(accessKeyId: string): string | undefined {
      const iamState = sandbox.state().accounts[ACCOUNT]?.iam as {
        users: Record<string, { accessKeys: { accessKeyId: string; secretAccessKey: string }[] }>;
      };
      for (const user of Object.values(iamState.users)) {
        const key = user.accessKeys.find((k) => k.accessKeyId === accessKeyId);
        if (key) return key.secretAccessKey;
      }
      return undefined;
    },
    /** The IAM calls the sandbox applied since `seq`, in the plan's own terms. */
    appliedSince(seq: number): PlannedCall[] {
      return sandbox
        .mutations()
        .filter((m) => m.seq > seq && m.service === 'iam')
        .map((m) => ({ service: 'iam', operation: m.operation, parameters: m.params }));
    },
    lastSeq: () => sandbox.mutations().at(-1)?.seq ?? 0,
    async close() {
      iam.destroy();
      clients.destroy();
      await sandbox.close();
    },
  };
}

export type IamWorld = Awaited<ReturnType<typeof startIamWorld>>;

/** One IAM world for the tests of the enclosing suite, the faults of the last test cleared. */
export function iamWorldPerSuite(use: (world: IamWorld) => void): void {
  let world: IamWorld | undefined;
  perSuite(startIamWorld, (started) => {
    world = started;
    use(started);
  });
  beforeEach(() => {
    world?.sandbox.clearFaults();
  });
}

/**
 * A fix context as the engine gives one, with progress and delivered secrets kept in
 * memory; `failDelivery` makes the next delivery throw, as a lost lease would.
 */
export function keyContext(world: IamWorld, params: Record<string, unknown> = {}) {
  let progress: Record<string, unknown> = {};
  const delivered: { name: string; value: string }[] = [];
  const checkpoints: Record<string, unknown>[] = [];
  const control = { failDelivery: false };
  const ctx: FixContext = {
    params,
    options: DEFAULT_FIX_OPTIONS,
    clients: world.clients,
    log: silentLog,
    get progress() {
      return progress;
    },
    async checkpoint(next) {
      checkpoints.push(structuredClone(next));
      progress = structuredClone(next);
    },
    async deliverSecret(name, value) {
      if (control.failDelivery) {
        control.failDelivery = false;
        throw new Error('the sealed secret could not be stored');
      }
      delivered.push({ name, value });
    },
  };
  return {
    ctx,
    delivered,
    checkpoints,
    control,
    setProgress: (p: Record<string, unknown>) => (progress = p),
  };
}

export function userRef(name: string, type = 'AwsIamUser', path = '/'): ResourceRef {
  return {
    provider: 'aws',
    account: ACCOUNT,
    region: 'us-east-1',
    type,
    id: `arn:aws:iam::${ACCOUNT}:user${path}${name}`,
    name,
  };
}

export function rootRef(type = 'AwsIamUser'): ResourceRef {
  return {
    provider: 'aws',
    account: ACCOUNT,
    region: 'us-east-1',
    type,
    id: `arn:aws:iam::${ACCOUNT}:root`,
    name: '<root_account>',
  };
}
