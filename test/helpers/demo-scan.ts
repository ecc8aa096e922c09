import { join } from 'node:path';
import { createAccountClients } from '../../src/cloud/accounts.ts';
import { createScanner } from '../../src/inventory/scan.ts';
import { writeSandboxKubeconfig } from '../../src/sandbox/k8s/kubeconfig.ts';
import type { Sandbox } from '../../src/sandbox/server.ts';
import type { Store } from '../../src/store/store.ts';
import { cloudOf } from './accounts.ts';
import { REGION, silentLog } from './world.ts';

/**
 * The sandbox's cloud settings (its cluster's kubeconfig written into `dir`), account
 * clients for it, and a scanner of the demo account and cluster over `store`.
 */
export async function sandboxScan(sandbox: Sandbox, store: Store, dir: string, clock: () => Date) {
  const cloud = cloudOf(
    sandbox,
    await writeSandboxKubeconfig(join(dir, 'kubeconfig'), sandbox.url),
  );
  const clients = createAccountClients(cloud, null);
  const scanner = createScanner({
    store,
    clients,
    accounts: null,
    defaultRegion: REGION,
    defaultKubeContext: true,
    log: silentLog,
    clock,
  });
  return { cloud, clients, scanner };
}
