import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { loadConfig } from '../src/config.ts';
import { createCatalog } from '../src/catalog/index.ts';
import { buildApp } from '../src/api/app.ts';
import { createRemediationService } from '../src/service/remediation.ts';
import type { Store } from '../src/store/store.ts';
import { createTestDatabase, type TestDatabase } from './helpers/databases.ts';
import { REPO } from './helpers/cli.ts';

const DEPLOY = path.join(REPO, 'deploy');
const KUBE = path.join(DEPLOY, 'kubernetes');

type Doc = Record<string, any>;

function manifests(): Doc[] {
  return readdirSync(KUBE)
    .filter((f) => f.endsWith('.yaml'))
    .flatMap((f) =>
      parseAllDocuments(readFileSync(path.join(KUBE, f), 'utf8')).map((d) => {
        expect(d.errors, f).toEqual([]);
        return d.toJS() as Doc;
      }),
    );
}

const byKind = (kind: string) => manifests().filter((m) => m.kind === kind);

/**
 * The manifests cannot be applied here (no cluster, no Docker), so this checks what a
 * mistake would break: the probes name real routes, every variable is one the server reads,
 * the grace periods agree, and the pods run unprivileged.
 */
describe('deployment files', () => {
  let database: TestDatabase;
  let store: Store;
  let app: Awaited<ReturnType<typeof buildApp>>;

  beforeAll(async () => {
    database = await createTestDatabase('postgres');
    store = await database.open();
    app = await buildApp({
      service: createRemediationService({ store, catalog: createCatalog() }),
      store,
      log: pino({ level: 'silent' }),
    });
  });
  afterAll(async () => {
    await app.close();
    await store.close();
    await database.drop();
  });

  const deployment = () => byKind('Deployment')[0]!;
  const container = () => deployment().spec.template.spec.containers[0];
  const envOf = () =>
    Object.fromEntries(
      (container().env as { name: string; value?: string }[]).map((e) => [e.name, e.value]),
    );

  it('parses, with one Deployment of several replicas, a Service, a Secret and a budget', () => {
    expect(byKind('Deployment')).toHaveLength(1);
    expect(deployment().spec.replicas).toBeGreaterThanOrEqual(2);
    const service = byKind('Service')[0]!;
    expect(service.spec.selector).toEqual(deployment().spec.selector.matchLabels);
    const pdb = byKind('PodDisruptionBudget')[0]!;
    expect(pdb.spec.minAvailable).toBeLessThan(deployment().spec.replicas);
    expect(pdb.spec.selector.matchLabels).toEqual(deployment().spec.selector.matchLabels);
    const kustomization = byKind('Kustomization')[0]!;
    const files = readdirSync(KUBE).filter((f) => f.endsWith('.yaml') && !f.startsWith('kust'));
    expect([...kustomization.resources].sort()).toEqual(files.sort());
  });

  it('points every probe at a route the server answers', async () => {
    const c = container();
    const probes = [c.startupProbe, c.livenessProbe, c.readinessProbe];
    expect(c.readinessProbe.httpGet.path).toBe('/health/ready');
    expect(c.livenessProbe.httpGet.path).toBe('/health/live');
    for (const probe of probes) {
      expect(probe.httpGet.port).toBe(c.ports[0].name);
      const response = await app.inject({ method: 'GET', url: probe.httpGet.path });
      expect(response.statusCode, probe.httpGet.path).toBe(200);
    }
    const template = deployment().spec.template.metadata.annotations;
    const scrape = await app.inject({ method: 'GET', url: template['prometheus.io/path'] });
    expect(scrape.statusCode).toBe(200);
    expect(scrape.body).toContain('infraudit_queue_depth');
    expect(Number(template['prometheus.io/port'])).toBe(c.ports[0].containerPort);
    expect(envOf().INFRAUDIT_PORT).toBe(String(c.ports[0].containerPort));
  });

  it('sets only variables the server reads, with values it accepts', () => {
    const source = readFileSync(path.join(REPO, 'src/config.ts'), 'utf8');
    const known = new Set(source.match(/\b(?:INFRAUDIT|AWS)_[A-Z0-9_]+|\bDATABASE_URL\b/g));
    const names = (container().env as { name: string }[]).map((e) => e.name);
    for (const name of names) expect(known, name).toContain(name);
    // Read with the server's own loader: a value it would refuse fails here.
    const values = Object.fromEntries(
      Object.entries(envOf()).filter(([, v]) => v !== undefined),
    ) as Record<string, string>;
    const config = loadConfig({ ...values, DATABASE_URL: 'postgres://x@db/x' }, '/');
    expect(config.host).toBe('0.0.0.0');
    expect(config.dataDir).toBe('/data');

    const database = container().env.find((e: Doc) => e.name === 'DATABASE_URL');
    const secret = byKind('Secret')[0]!;
    expect(database.valueFrom.secretKeyRef).toEqual({
      name: secret.metadata.name,
      key: 'DATABASE_URL',
    });
    expect(Object.keys(secret.stringData)).toEqual(['DATABASE_URL', 'INFRAUDIT_SECRET_KEY']);
    // Every replica must hold the same key, or none could read the others' channel secrets.
    const key = container().env.find((e: Doc) => e.name === 'INFRAUDIT_SECRET_KEY');
    expect(key.valueFrom.secretKeyRef).toEqual({
      name: secret.metadata.name,
      key: 'INFRAUDIT_SECRET_KEY',
    });
    expect(() =>
      loadConfig({ INFRAUDIT_SECRET_KEY: secret.stringData.INFRAUDIT_SECRET_KEY }, '/'),
    ).toThrow(/INFRAUDIT_SECRET_KEY must be 32 random bytes/);
    const replica = container().env.find((e: Doc) => e.name === 'INFRAUDIT_REPLICA_ID');
    expect(replica.valueFrom.fieldRef.fieldPath).toBe('metadata.name');
  });

  it('gives the pod longer to stop than the server’s grace period and the preStop pause', () => {
    const spec = deployment().spec.template.spec;
    const graceMs = loadConfig(
      { INFRAUDIT_SHUTDOWN_GRACE_MS: envOf().INFRAUDIT_SHUTDOWN_GRACE_MS },
      '/',
    ).shutdownGraceMs;
    const preStop = Number(container().lifecycle.preStop.exec.command[1]);
    expect(spec.terminationGracePeriodSeconds * 1000).toBeGreaterThanOrEqual(
      graceMs + preStop * 1000 + 5_000,
    );
  });

  it('runs unprivileged on a read-only root filesystem, within resource limits', () => {
    const spec = deployment().spec.template.spec;
    const c = container();
    expect(spec.securityContext.runAsNonRoot).toBe(true);
    expect(spec.securityContext.runAsUser).toBeGreaterThan(0);
    expect(c.securityContext).toMatchObject({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ['ALL'] },
    });
    expect(c.resources.limits.cpu).toBeTruthy();
    expect(c.resources.limits.memory).toBeTruthy();
    expect(c.resources.requests.memory).toBeTruthy();
    const mounts = (c.volumeMounts as { mountPath: string }[]).map((m) => m.mountPath);
    expect(mounts).toContain(envOf().INFRAUDIT_DATA);
    expect(mounts).toContain('/tmp');
  });

  it('builds a non-root Node 24 image with production dependencies and a health check', () => {
    const dockerfile = readFileSync(path.join(DEPLOY, 'Dockerfile'), 'utf8');
    const froms = [...dockerfile.matchAll(/^FROM (\S+)/gm)].map((m) => m[1]!);
    for (const image of froms) expect(image).toMatch(/^node:24\b/);
    const final = dockerfile.slice(dockerfile.lastIndexOf('\nFROM '));
    expect(final).toMatch(/npm ci --omit=dev/);
    expect(final).toMatch(/^USER node$/m);
    expect(final).toMatch(/^HEALTHCHECK .*\n?.*\/health\/live/m);
    // Started through the script, so node gets the runtime flags on its first line.
    expect(final).toMatch(/ENTRYPOINT \["bin\/infraudit.js"\]/);
    const launcher = readFileSync(path.join(REPO, 'bin/infraudit.js'), 'utf8').split('\n')[0];
    expect(launcher).toMatch(/^#!\/usr\/bin\/env -S node --max-semi-space-size=\d+$/);
    for (const copied of final.matchAll(/^COPY (?!--from)(\S+)/gm)) {
      const first = copied[1]!;
      if (first.endsWith('.json')) continue;
      expect(readdirSync(path.join(REPO, first)).length, first).toBeGreaterThan(0);
    }
  });
});
