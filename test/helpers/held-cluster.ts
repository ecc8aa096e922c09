import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';
import type { CloudClients } from '../../src/cloud/clients.ts';

/**
 * A stand-in Kubernetes API server on loopback that holds every request until the test
 * answers it, counting how many are in flight at once.
 */
export async function heldCluster() {
  const held: ServerResponse[] = [];
  const seen = { inFlight: 0, maxInFlight: 0, requests: 0 };
  const server: Server = createServer((req, res) => {
    seen.requests += 1;
    seen.inFlight += 1;
    seen.maxInFlight = Math.max(seen.maxInFlight, seen.inFlight);
    res.on('finish', () => (seen.inFlight -= 1));
    req.resume();
    held.push(res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    held,
    seen,
    /** Answers the oldest held request with `body`. */
    answer(body: unknown, status = 200) {
      const res = held.shift()!;
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    },
    async close() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
export type HeldCluster = Awaited<ReturnType<typeof heldCluster>>;

/** Clients whose kubeconfig has one context per cluster, named by its key. */
export function kubeClients(clusters: Record<string, HeldCluster>): CloudClients {
  const names = Object.keys(clusters);
  return {
    kube(context: string) {
      const kc = new KubeConfig();
      kc.loadFromOptions({
        clusters: names.map((n) => ({ name: n, server: clusters[n]!.url, skipTLSVerify: true })),
        users: [{ name: 'u', token: 't' }],
        contexts: names.map((n) => ({ name: n, cluster: n, user: 'u' })),
        currentContext: context,
      });
      return kc;
    },
  } as unknown as CloudClients;
}
