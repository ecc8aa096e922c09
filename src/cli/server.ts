import { chmod, readdir, readFile, writeFile } from 'node:fs/promises';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { hostname } from 'node:os';
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { createDispatcher } from '../alerts/dispatcher.ts';
import { buildApp } from '../api/app.ts';
import { hashPassword, oneTimePassword } from '../api/password.ts';
import { AppError } from '../domain/errors.ts';
import { loadConfig, type AlertConfig, type AuthConfig } from '../config.ts';
import { createCatalog } from '../catalog/index.ts';
import { createAccountClients, loadAccountsFile } from '../cloud/accounts.ts';
import { createCloudClients, type CloudConfig } from '../cloud/clients.ts';
import { createScanner } from '../inventory/scan.ts';
import { createScanScheduler } from '../inventory/schedule.ts';
import { createEngine } from '../engine/engine.ts';
import type { CloudLimits } from '../engine/limits.ts';
import type { ExecutionLimits } from '../store/claims.ts';
import { DEMO_REGION, startSandbox, type Sandbox } from '../sandbox/index.ts';
import { writeSandboxKubeconfig } from '../sandbox/k8s/kubeconfig.ts';
import { createRemediationService } from '../service/remediation.ts';
import { openStore } from '../store/connect.ts';
import type { Store } from '../store/store.ts';
import { ADMIN_TOKEN_FILE } from './context.ts';

/** Every findings file here is imported into an empty demo database, in name order. */
export const DEMO_FINDINGS = new URL('../../examples/demo/', import.meta.url);
export const SANDBOX_STATE_FILE = 'sandbox-state.json';
/** The kubeconfig `--demo` writes for the sandbox's Kubernetes API server. */
export const SANDBOX_KUBECONFIG_FILE = 'sandbox-kubeconfig.yaml';

export interface ServerOptions {
  dataDir: string;
  databaseUrl?: string | undefined;
  host: string;
  port: number;
  /** Run against the in-process sandbox cloud, seeded with the demo account. */
  demo: boolean;
  sandboxPort: number;
  engineConcurrency: number;
  enginePollMs: number;
  /** How long a claim on running work holds without a heartbeat; 30 s unless set. */
  engineLeaseMs?: number;
  /** Names this replica in logs, metrics and leases; unique per process unless set. */
  replicaId?: string | undefined;
  /** How long a stop lets running work finish before handing it back; unbounded unless set. */
  shutdownGraceMs?: number;
  cloudLimits?: CloudLimits;
  executionLimits?: ExecutionLimits;
  importLimitBytes: number;
  /** Alert delivery settings; config.ts's defaults unless set. */
  alerts?: AlertConfig;
  /** Sign-in sessions and their rate limit; config.ts defaults unless set. */
  auth?: AuthConfig;
  /** Encrypts alert channel secrets; the data folder's secret.key unless set. */
  secretKey?: Buffer | undefined;
  /** The accounts file to scan and fix; the default credential chain's account without it. */
  accountsFile?: string | undefined;
  /** The region scanned without an accounts file; us-east-1 unless set. */
  awsRegion?: string | undefined;
  /** How often the scan schedule is looked at; a minute unless set. */
  scanTickMs?: number;
  log: Logger;
}

export interface RunningServer {
  apiUrl: string;
  sandboxUrl: string | undefined;
  /** The admin token file, when this data folder has one. */
  tokenFile: string | undefined;
  /** True when this start created the first admin token. */
  tokenCreated: boolean;
  /**
   * The console sign-in this start created for user `admin`: a one-time password (the demo's
   * fixed one under `--demo`), to be shown once and kept nowhere; undefined otherwise.
   */
  adminLogin: { username: string; password: string; oneTime: boolean } | undefined;
  /** Stops taking requests, lets running work finish, then releases everything. */
  close(): Promise<void>;
}

/** Wires store, cloud clients, engine and API together: what `infraudit serve` runs. */
export async function startServer(opts: ServerOptions): Promise<RunningServer> {
  const replica = opts.replicaId ?? `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  // Every line this server logs names the replica, so one action can be followed across
  // replicas by its actionId and the replica that wrote each step.
  const log = opts.log.child({ replica });
  let shuttingDown = false;
  mkdirSync(opts.dataDir, { recursive: true, mode: 0o700 });
  const store = await openStore({
    dataDir: opts.dataDir,
    log,
    ...(opts.secretKey ? { secretKey: opts.secretKey } : {}),
    ...(opts.databaseUrl ? { databaseUrl: opts.databaseUrl } : {}),
  });
  const cleanup: (() => Promise<void> | void)[] = [() => store.close()];
  let closing: Promise<void> | undefined;
  const closeAll = () =>
    (closing ??= (async () => {
      for (const step of [...cleanup].reverse()) {
        try {
          await step();
        } catch (error) {
          log.error({ err: error }, 'a shutdown step failed; continuing with the rest');
        }
      }
    })());

  try {
    const admin = await ensureAdminToken(store, opts.dataDir);
    const adminLogin = await ensureAdminUser(store, opts.demo);
    let sandbox: Sandbox | undefined;
    let cloud: CloudConfig = {};
    if (opts.demo) {
      sandbox = await startSandbox({
        host: '127.0.0.1',
        port: opts.sandboxPort,
        statePath: path.join(opts.dataDir, SANDBOX_STATE_FILE),
        autosave: true,
        seed: 'demo',
        log: log.child({ component: 'sandbox' }),
      });
      const running = sandbox;
      cleanup.push(async () => {
        await running.save();
        await running.close();
      });
      cloud = {
        endpoint: sandbox.url,
        s3ForcePathStyle: true,
        defaultRegion: DEMO_REGION,
        // The sandbox accepts any signature; these only make the SDK sign.
        credentials: { accessKeyId: 'AKIAINFRAUDITDEMO', secretAccessKey: 'demo-secret' },
        // Context `default`, which Kubernetes findings name unless an import says otherwise.
        kubeconfig: await writeSandboxKubeconfig(
          path.join(opts.dataDir, SANDBOX_KUBECONFIG_FILE),
          sandbox.url,
        ),
      };
    }
    const clients = createCloudClients(cloud);
    cleanup.push(() => clients.destroy());
    const accounts = opts.accountsFile ? await loadAccountsFile(opts.accountsFile) : null;
    const accountClients = createAccountClients(cloud, accounts, clients);
    cleanup.push(() => accountClients.destroy());
    const catalog = createCatalog();
    const engine = createEngine({
      store,
      clients,
      accountClients: (resource) => accountClients.forResource(resource),
      catalog,
      log: log.child({ component: 'engine' }),
      concurrency: opts.engineConcurrency,
      pollMs: opts.enginePollMs,
      // Unique per process even when a replica's name is reused after a restart, so a
      // lease always names the one process that may act on it.
      owner: `${replica}/${randomUUID().slice(0, 8)}`,
      ...(opts.engineLeaseMs ? { leaseMs: opts.engineLeaseMs } : {}),
      ...(opts.cloudLimits ? { cloudLimits: opts.cloudLimits } : {}),
      ...(opts.executionLimits ? { executionLimits: opts.executionLimits } : {}),
    });
    const scanner = createScanner({
      store,
      clients: accountClients,
      accounts,
      defaultRegion: cloud.defaultRegion ?? opts.awsRegion ?? 'us-east-1',
      // Only a kubeconfig this server was given: the standard lookup could reach any cluster.
      defaultKubeContext: cloud.kubeconfig !== undefined,
      log: log.child({ component: 'scan' }),
      // Scans pass the engine's gates, so they and the fixes share the cloud call limits.
      gates: engine.gates,
    });

    const service = createRemediationService({ store, catalog, onWork: () => engine.wake() });
    if (opts.demo) await importDemoFindings(store, service, log);

    await engine.start();
    let engineStopped: Promise<void> | undefined;
    const stopEngine = () =>
      (engineStopped ??= engine.stop(
        opts.shutdownGraceMs === undefined ? {} : { graceMs: opts.shutdownGraceMs },
      ));
    cleanup.push(stopEngine);

    const alertConfig = opts.alerts ?? loadConfig({}).alerts;
    let publicUrl = alertConfig.publicUrl ?? '';
    const app = await buildApp({
      service,
      store,
      log: log.child({ component: 'api' }),
      importLimitBytes: opts.importLimitBytes,
      ...(opts.auth ? { auth: opts.auth } : {}),
      replica,
      shuttingDown: () => shuttingDown,
      alerts: { timeoutMs: alertConfig.timeoutMs, publicUrl: () => publicUrl },
      scanner,
    });
    cleanup.push(() => scanner.idle());
    cleanup.push(() => app.close());
    // Steps run last-pushed first: readiness turns unavailable, then the engine finishes or
    // hands back its work while the API still answers, then the API closes.
    cleanup.push(stopEngine);
    cleanup.push(() => {
      shuttingDown = true;
    });
    await app.listen({ host: opts.host, port: opts.port });
    const address = app.server.address();
    const port = typeof address === 'object' && address ? address.port : opts.port;
    publicUrl = alertConfig.publicUrl ?? `http://${urlHost(opts.host)}:${port}`;

    // After the API, so alerts link a console that answers; stopped first, and whatever it
    // has not sent stays queued for the next start or another replica.
    const dispatcher = createDispatcher({
      store,
      log: log.child({ component: 'alerts' }),
      publicUrl,
      owner: replica,
      attempts: alertConfig.attempts,
      timeoutMs: alertConfig.timeoutMs,
      backoffMs: alertConfig.backoffMs,
      pollMs: alertConfig.pollMs,
      windowWarningMs: alertConfig.windowWarningMs,
      recoveryMs: alertConfig.recoveryMs,
      maxAgeMs: alertConfig.maxAgeMs,
    });
    dispatcher.start();
    cleanup.push(() => dispatcher.stop());

    const schedule = createScanScheduler({
      store,
      scanner,
      log: log.child({ component: 'scan' }),
      ...(opts.scanTickMs ? { tickMs: opts.scanTickMs } : {}),
    });
    schedule.start();
    cleanup.push(() => schedule.stop());

    return {
      apiUrl: `http://${urlHost(opts.host)}:${port}`,
      sandboxUrl: sandbox?.url,
      tokenFile: admin.file,
      tokenCreated: admin.created,
      adminLogin,
      close: closeAll,
    };
  } catch (error) {
    await closeAll();
    throw error;
  }
}

/**
 * On first start, creates an admin token and writes it to a file only the owner can
 * read. The token itself is never printed or logged.
 */
/** The console password `serve --demo` gives user `admin`; documented in the README. */
export const DEMO_ADMIN_PASSWORD = 'infraudit-demo';

/**
 * On first start (no users yet), creates user `admin` with a random one-time password that
 * must be changed at first sign-in. Only its hash is stored; the caller prints it once. A
 * demo database gets the documented demo password instead, without the forced change.
 */
async function ensureAdminUser(store: Store, demo: boolean): Promise<RunningServer['adminLogin']> {
  if ((await store.countUsers()) > 0) return undefined;
  const password = demo ? DEMO_ADMIN_PASSWORD : oneTimePassword();
  try {
    await store.createUser(
      {
        username: 'admin',
        displayName: 'Administrator',
        role: 'admin',
        passwordHash: await hashPassword(password),
        mustChangePassword: !demo,
      },
      { actor: 'system', now: new Date() },
    );
  } catch (error) {
    // Replicas starting together on an empty database: another one created `admin` first
    // and printed its password.
    if (error instanceof AppError && error.code === 'conflict') return undefined;
    throw error;
  }
  return { username: 'admin', password, oneTime: !demo };
}

async function ensureAdminToken(
  store: Store,
  dataDir: string,
): Promise<{ file: string | undefined; created: boolean }> {
  const file = path.join(dataDir, ADMIN_TOKEN_FILE);
  const existing = async () => {
    const exists = await readFile(file, 'utf8').then(
      () => true,
      () => false,
    );
    return { file: exists ? file : undefined, created: false };
  };
  if ((await store.countTokens()) > 0) return existing();
  const now = new Date();
  // Token names stay taken after a revocation, so "admin" may be gone for good. The next
  // free name is the same on every replica, so replicas starting together on an empty
  // database collide on it and only one creates the token.
  const tokens = await store.listTokens();
  // A replica starting at the same moment may have made the token since the count.
  if (tokens.some((t) => t.revokedAt === null)) return existing();
  const taken = new Set(tokens.map((t) => t.name));
  let name = 'admin';
  for (let n = 2; taken.has(name); n++) name = `admin-${n}`;
  let token: string;
  try {
    ({ token } = await store.createToken({ role: 'admin', name, now, actor: 'system' }));
  } catch (error) {
    if (error instanceof AppError && error.code === 'conflict') return existing();
    throw error;
  }
  await writeFile(file, `${token}\n`, { mode: 0o600 });
  await chmod(file, 0o600);
  return { file, created: true };
}

async function importDemoFindings(
  store: Store,
  service: ReturnType<typeof createRemediationService>,
  log: Logger,
): Promise<void> {
  const existing = await store.listActions({ limit: 1 });
  if (existing.items.length > 0) return;
  // The demo has one admin, who both imports and approves; four-eyes is relaxed for it,
  // once, on the fresh database, and the audit log records that (an admin may undo it).
  await store.updateSettings(
    { allowSelfApproval: true },
    { actor: 'system:demo', now: new Date() },
  );
  log.info('four-eyes relaxed for the single demo admin (remediation.allowSelfApproval)');
  const files = (await readdir(DEMO_FINDINGS)).filter((f) => f.endsWith('.json')).sort();
  for (const file of files) {
    const text = await readFile(new URL(file, DEMO_FINDINGS), 'utf8');
    const result = await service.importFindings(text, 'system:demo');
    log.info({ file, counts: result.counts }, 'imported demo findings');
  }
}

function urlHost(host: string): string {
  if (host === '0.0.0.0' || host === '::') return '127.0.0.1';
  return host.includes(':') ? `[${host}]` : host;
}
