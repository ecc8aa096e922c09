import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { stringify } from 'yaml';

export interface SandboxContext {
  /** The kubeconfig context name, e.g. `default`. */
  name: string;
  /**
   * The bearer token sent with every request; the sandbox acts on the cluster that lists
   * it under `tokens`, or on its default cluster. Not a secret: the sandbox checks nothing.
   */
  token: string;
}

/**
 * An ordinary kubeconfig for the sandbox's Kubernetes API server: one cluster entry at
 * `url` (plain HTTP on loopback, so TLS verification is off), one token user and one
 * context per entry of `contexts`, the first being current.
 */
export function sandboxKubeconfig(url: string, contexts: readonly SandboxContext[]): string {
  if (contexts.length === 0) throw new Error('a sandbox kubeconfig needs at least one context');
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    preferences: {},
    clusters: [{ name: 'sandbox', cluster: { server: url, 'insecure-skip-tls-verify': true } }],
    users: contexts.map((c) => ({ name: `sandbox-${c.name}`, user: { token: c.token } })),
    contexts: contexts.map((c) => ({
      name: c.name,
      context: { cluster: 'sandbox', user: `sandbox-${c.name}` },
    })),
    'current-context': contexts[0]?.name,
  });
}

/** Writes `sandboxKubeconfig(...)` to `path` (owner-only, as kubectl does) and returns the path. */
export async function writeSandboxKubeconfig(
  path: string,
  url: string,
  contexts: readonly SandboxContext[] = [{ name: 'default', token: 'sandbox' }],
): Promise<string> {
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, sandboxKubeconfig(url, contexts), { mode: 0o600 });
  await chmod(path, 0o600);
  return path;
}
