import { S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll } from 'vitest';
import { createAccountClients } from '../../src/cloud/accounts.ts';
import type { CloudConfig } from '../../src/cloud/clients.ts';
import { createScanner } from '../../src/inventory/scan.ts';
import { type Sandbox, type SandboxOptions, startSandbox } from '../../src/sandbox/server.ts';
import type { Store } from '../../src/store/store.ts';
import { createTestDatabase, type Engine, type TestDatabase } from './databases.ts';
import { REGION, silentLog } from './world.ts';

export interface ScanSuite {
  sandbox: Sandbox;
  database: TestDatabase;
  store: Store;
  /** The sandbox's cloud settings, one try per call. */
  cloud: CloudConfig;
  s3: S3Client;
  scanner: ReturnType<typeof createScanner>;
  /** A clock that moves on by a millisecond each time it is read, for scans and services. */
  clock: () => Date;
}

/**
 * For the tests of the enclosing suite: a sandbox started with `sandboxOptions`, a fresh
 * database of `engine` with its store, an S3 client and a scanner of the sandbox account
 * (no cluster). Its fields are set before the first test; all is closed after the last.
 */
export function scanSuite(
  engine: Engine,
  sandboxOptions: () => Promise<SandboxOptions>,
): ScanSuite {
  const suite = {} as ScanSuite;
  let tick = 0;
  suite.clock = () => new Date(Date.now() + tick++);
  let destroyClients: (() => void) | undefined;
  beforeAll(async () => {
    suite.sandbox = await startSandbox(await sandboxOptions());
    suite.database = await createTestDatabase(engine);
    suite.store = await suite.database.open();
    suite.cloud = {
      defaultRegion: REGION,
      endpoint: suite.sandbox.url,
      s3ForcePathStyle: true,
      credentials: { accessKeyId: 'AKIASANDBOXTEST', secretAccessKey: 'sandbox-secret' },
      maxAttempts: 1,
    };
    const clients = createAccountClients(suite.cloud, null);
    destroyClients = () => clients.destroy();
    suite.s3 = new S3Client({ region: REGION, ...suite.cloud });
    suite.scanner = createScanner({
      store: suite.store,
      clients,
      accounts: null,
      defaultRegion: REGION,
      defaultKubeContext: false,
      log: silentLog,
      clock: suite.clock,
    });
  });
  afterAll(async () => {
    suite.s3?.destroy();
    destroyClients?.();
    await suite.store?.close();
    await suite.database?.drop();
    await suite.sandbox?.close();
  });
  return suite;
}
