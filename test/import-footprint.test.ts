import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ApiException } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { KubeApiError, kubeCall } from '../src/catalog/k8s/kube-api.ts';

const run = promisify(execFile);

/**
 * Lists the cloud SDK packages a fresh process loads while it builds the catalog, maps a
 * finding to its fix and opens the import path, then while it reads through a fix.
 */
const PROBE = `
import { registerHooks } from 'node:module';
const loaded = new Set();
registerHooks({
  resolve(specifier, context, next) {
    const found = next(specifier, context);
    const m = /node_modules\\/(@aws-sdk\\/client-[a-z0-9-]+|@kubernetes\\/client-node)\\//.exec(found.url);
    if (m) loaded.add(m[1]);
    return found;
  },
});
const root = process.argv[1];
const { createCatalog } = await import(root + '/src/catalog/index.ts');
await import(root + '/src/service/import.ts');
const catalog = createCatalog();
const before = [...loaded].sort();
const fix = catalog.get('s3.enable-default-encryption');
const { s3Sdk } = await import(root + '/src/catalog/sdk.ts');
await s3Sdk();
const types = catalog.all().map((f) => f.type);
process.stdout.write(JSON.stringify({ before, after: [...loaded].sort(), types, fix: fix.type }));
`;

describe('the import path', () => {
  it('loads no cloud SDK until a fix talks to the cloud', async () => {
    const { stdout } = await run(
      process.execPath,
      ['--input-type=module', '-e', PROBE, join(import.meta.dirname, '..')],
      { maxBuffer: 1024 * 1024 },
    );
    const result = JSON.parse(stdout) as {
      before: string[];
      after: string[];
      types: string[];
      fix: string;
    };
    expect(result.before).toEqual([]);
    expect(result.types.length).toBeGreaterThan(10);
    expect(result.fix).toBe('s3.enable-default-encryption');
    expect(result.after).toEqual(['@aws-sdk/client-s3']);
  });
});

describe('Kubernetes API errors', () => {
  it('are recognised and retried even when no fix has loaded the client yet', async () => {
    // A scan builds its own clients; the catalog's loader has not run in this file.
    let calls = 0;
    const error = await kubeCall('get namespace shop', async () => {
      calls += 1;
      throw new ApiException(
        calls === 1 ? 503 : 404,
        'refused',
        JSON.stringify({
          kind: 'Status',
          reason: 'NotFound',
          message: 'namespaces "shop" not found',
        }),
        {},
      );
    }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(calls).toBe(2);
    expect(error).toBeInstanceOf(KubeApiError);
    expect(error).toMatchObject({ status: 404, reason: 'NotFound' });
    expect((error as Error).message).toMatch(/namespaces "shop" not found/);
  });
});
