import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Store } from '../../src/store/store.ts';
import type { TestDatabase } from './databases.ts';
import { startCommand, type ServeProcess } from './serve.ts';

/** One `infraudit serve` child process on a shared PostgreSQL database. */
export interface ReplicaProcess {
  id: string;
  url: string;
  process: ServeProcess;
  exited: Promise<number | null>;
  /** SIGKILL: no shutdown step runs, as when a node dies. */
  kill(): Promise<void>;
  /** SIGTERM: the graceful shutdown; resolves with the exit code. */
  stop(): Promise<number | null>;
}

export interface ReplicaOptions {
  id: string;
  databaseUrl: string;
  /** The sandbox cloud, reached the standard SDK way through `AWS_ENDPOINT_URL`. */
  sandboxUrl: string;
  env?: Record<string, string>;
}

/** Starts a replica and resolves once its API listens. */
export async function startReplica(opts: ReplicaOptions): Promise<ReplicaProcess> {
  const dataDir = mkdtempSync(join(tmpdir(), `infraudit-${opts.id}-`));
  const child = await startCommand(
    ['serve', '--database', opts.databaseUrl, '--port', '0'],
    'api',
    {
      INFRAUDIT_DATA: dataDir,
      INFRAUDIT_REPLICA_ID: opts.id,
      INFRAUDIT_ENGINE_LEASE_MS: '2000',
      INFRAUDIT_ENGINE_POLL_MS: '100',
      AWS_ENDPOINT_URL: opts.sandboxUrl,
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'AKIASANDBOXREPLICA',
      AWS_SECRET_ACCESS_KEY: 'sandbox-secret',
      ...opts.env,
    },
  );
  const exited = new Promise<number | null>((resolve) => {
    if (child.child.exitCode !== null || child.child.signalCode !== null) {
      resolve(child.child.exitCode);
    } else child.child.once('exit', (code) => resolve(code));
  });
  void exited.then(() => rmSync(dataDir, { recursive: true, force: true }));
  return {
    id: opts.id,
    url: child.endpoints.api!,
    process: child,
    exited,
    async kill() {
      child.child.kill('SIGKILL');
      await exited;
    },
    stop() {
      child.child.kill('SIGTERM');
      return exited;
    },
  };
}

/** Polls `check` until it returns a value other than undefined; fails after `ms`. */
export async function eventually<T>(
  check: () => Promise<T | undefined>,
  what: string,
  ms = 30_000,
): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * Three stores standing for three replicas on `database`: on PostgreSQL each has its own
 * pool, as separate processes have; an SQLite file serves one server, so there all three
 * are the first store and contend only through concurrent calls.
 */
export async function replicaStores(database: TestDatabase): Promise<Store[]> {
  const first = await database.open();
  if (database.engine !== 'postgres') return [first, first, first];
  return [first, await database.open(), await database.open()];
}

/** Closes each distinct store once. */
export async function closeReplicaStores(stores: Store[]): Promise<void> {
  for (const store of new Set(stores)) await store.close();
}
