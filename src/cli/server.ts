import { chmod, readdir, readFile, writeFile } from 'node:fs/promises';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Logger } from 'pino';
import { buildApp } from '../api/app.ts';
import { createCatalog } from '../catalog/index.ts';
import { createCloudClients, type CloudConfig } from '../cloud/clients.ts';
import { createEngine } from '../engine/engine.ts';
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
  importLimitBytes: number;
  log: Logger;
}

export interface RunningServer {
  apiUrl: string;
  sandboxUrl: string | undefined;
  /** The admin token file, when this data folder has one. */
  tokenFile: string | undefined;
  /** True when this start created the first admin token. */
  tokenCreated: boolean;
  /** Stops taking requests, lets running work finish, then releases everything. */
  close(): Promise<void>;
}

/** Wires store, cloud clients, engine and API together: what `infraudit serve` runs. */
export async function startServer(opts: ServerOptions): Promise<RunningServer> {
  const { log } = opts;
  mkdirSync(opts.dataDir, { recursive: true });
  const store = await openStore({
    dataDir: opts.dataDir,
    log,
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

    const catalog = createCatalog();
    const engine = createEngine({
      store,
      clients,
      catalog,
      log: log.child({ component: 'engine' }),
      concurrency: opts.engineConcurrency,
      pollMs: opts.enginePollMs,
      ...(opts.engineLeaseMs ? { leaseMs: opts.engineLeaseMs } : {}),
    });
    const service = createRemediationService({ store, catalog, onWork: () => engine.wake() });
    if (opts.demo) await importDemoFindings(store, service, log);

    await engine.start();
    cleanup.push(() => engine.stop());

    const app = await buildApp({
      service,
      store,
      log: log.child({ component: 'api' }),
      importLimitBytes: opts.importLimitBytes,
    });
    cleanup.push(() => app.close());
    await app.listen({ host: opts.host, port: opts.port });
    const address = app.server.address();
    const port = typeof address === 'object' && address ? address.port : opts.port;

    return {
      apiUrl: `http://${urlHost(opts.host)}:${port}`,
      sandboxUrl: sandbox?.url,
      tokenFile: admin.file,
      tokenCreated: admin.created,
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
async function ensureAdminToken(
  store: Store,
  dataDir: string,
): Promise<{ file: string | undefined; created: boolean }> {
  const file = path.join(dataDir, ADMIN_TOKEN_FILE);
  if ((await store.countTokens()) > 0) {
    const exists = await readFile(file, 'utf8').then(
      () => true,
      () => false,
    );
    return { file: exists ? file : undefined, created: false };
  }
  const now = new Date();
  // Token names stay taken after a revocation, so "admin" may be gone for good.
  const name = (await store.listTokens()).some((t) => t.name === 'admin')
    ? `admin-${now.toISOString().replace(/[:.]/g, '-')}`
    : 'admin';
  const { token } = await store.createToken({ role: 'admin', name, now, actor: 'system' });
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
