import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApi, type ApiHarness } from './helpers/api.ts';
import { cli } from './helpers/cli.ts';

const MANIFEST = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: checkout
  namespace: shop
spec:
  selector:
    matchLabels: { app: checkout }
  template:
    metadata:
      labels: { app: checkout }
    spec:
      containers:
        - name: web
          image: example/checkout:1.4
`;

describe('importing Kubernetes findings for a named context', () => {
  let api: ApiHarness;
  beforeAll(async () => {
    api = await startApi();
  });
  afterAll(async () => api?.close());

  it('attributes the actions to the context given with --kube-context', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'infraudit-kctx-')), 'checkout.yaml');
    writeFileSync(file, MANIFEST);
    const env = { INFRAUDIT_URL: api.url, INFRAUDIT_TOKEN: api.tokens.operator };
    const out = await cli(
      ['-o', 'json', 'findings', 'import', file, '--kube-context', 'prod-eu'],
      env,
    );
    expect(out.code).toBe(0);
    const result = JSON.parse(out.stdout);
    expect(result.counts.created).toBeGreaterThan(0);
    const action = (await api.store.getAction(result.actions[0].id))!;
    expect(action.resource).toMatchObject({
      provider: 'kubernetes',
      account: 'prod-eu',
      region: 'shop',
    });
    expect(action.resource.id.startsWith('k8s://prod-eu/shop/')).toBe(true);
  });

  it('refuses an empty context name', async () => {
    const res = await api.call('POST', '/api/v1/findings/import?kubeContext=', {
      as: 'operator',
      raw: MANIFEST,
    });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('invalid_input');
  });
});
