import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import {
  ApiException,
  type V1DaemonSet,
  type V1Deployment,
  type V1Pod,
} from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Fix } from '../src/catalog/fix.ts';
import type { NormalizedFinding } from '../src/domain/finding.ts';
import { planFor } from '../src/engine/plan.ts';
import { type FindingsFormat, parseFindingsFile } from '../src/findings/import.ts';
import { fixTypeFor } from '../src/findings/mapping.ts';
import {
  CONTEXT,
  createNamespace,
  kubeContext,
  type KubeWorld,
  startKubeWorld,
} from './helpers/kube.ts';
import {
  corpusDir,
  expectCorpusImport,
  expectCorpusPresent,
  readCorpus,
} from './helpers/findings.ts';

/*
 * Every Kubernetes scanner report and manifest in the shared corpus of real public
 * inputs, with what importing it must give; then the manifests loaded into the sandbox
 * API server through client-node, and the plans their findings produce.
 */

const FOLDERS = ['kubescape', 'polaris', 'trivy-operator', 'kube-score', 'kube-bench'];

interface Imported {
  format: FindingsFormat;
  total: number;
  failed: number;
  passed: number;
  manual?: number;
  other?: number;
  supported: number;
}
interface Refused {
  refused: RegExp;
}

const manifest = (total: number, failed: number, passed: number, supported: number): Imported => ({
  format: 'k8s-manifest',
  total,
  failed,
  passed,
  supported,
});

const KS_TESTDATA = 'core__pkg__resultshandling__reporter__v2__testdata__';
const TRIVY_WORDPRESS =
  'trivy-operator/tests__envtest__testdata__fixture__replicaset-configauditreport-expected.yaml';

const EXPECTED: Record<string, Imported | Refused> = {
  // Two DaemonSets failing C-0009 (both supported) and a Pod; 10 controls skipped for
  // want of configuration are counted as "other".
  'kubescape/core__pkg__opaprocessor__testdata__resourcesResultObjMock__extract.json': {
    format: 'kubescape',
    total: 63,
    failed: 26,
    passed: 27,
    other: 10,
    supported: 2,
  },
  // A live Deployment whose pod template has no containers: the API would refuse it too.
  [`kubescape/${KS_TESTDATA}ks-deployment-without-container.json`]: {
    refused: /^spec\.template\.spec\.containers: expected at least one container: .* \(line \d+,/,
  },
  // The same live Deployment with `resources: {}`: all four values missing.
  [`kubescape/${KS_TESTDATA}ks-deployment.json`]: manifest(13, 7, 6, 4),
  // Every check passed; the two workloads listed twice are read once.
  'polaris/pkg__config__examples__output.json': {
    format: 'polaris',
    total: 46,
    failed: 0,
    passed: 46,
    supported: 0,
  },
  // A CPU limit only: both requests and the memory limit are missing.
  'polaris/test__checks__memoryLimitsMissing__failure.cpu.yaml': manifest(13, 6, 7, 3),
  // Polaris's own fix of it: requests still missing.
  'polaris/test__checks__memoryLimitsMissing__mutated.cpu.yaml': manifest(13, 5, 8, 2),
  'polaris/test__checks__privilegeEscalationAllowed__failure.pod_unspecified.yaml': manifest(
    13,
    7,
    6,
    4,
  ),
  // Containers without names: not a pod Kubernetes would accept.
  'polaris/test__checks__runAsPrivileged__failure.two_cont_one_unspecified.yaml': {
    refused: /^spec\.containers\[0\]\.name: expected the container's name.* \(line 11, column 5\)/,
  },
  'trivy-operator/docs__docs__crds__configaudit-report.md__example.yaml': {
    format: 'trivy-operator',
    total: 5,
    failed: 2,
    passed: 3,
    supported: 0,
  },
  // KSV011, KSV015, KSV016 and KSV018 about ReplicaSet wordpress-84bbf6f4dd.
  [TRIVY_WORDPRESS]: {
    format: 'trivy-operator',
    total: 13,
    failed: 13,
    passed: 0,
    supported: 4,
  },
  // Limits but no requests: the two request checks fail.
  'kube-score/score__testdata__deployment-test-resources.yaml': manifest(13, 5, 8, 2),
  // A List of a Service (nothing to check) and a Deployment without resources.
  'kube-score/score__testdata__list.yaml': manifest(13, 7, 6, 4),
  'kube-score/score__testdata__pod-container-memory-requests.yaml': manifest(13, 3, 10, 0),
  'kube-score/score__testdata__pod-test-resources-limits-and-requests-no-cpu-limit.yaml': manifest(
    13,
    4,
    9,
    1,
  ),
  'kube-score/score__testdata__security-inherit-pod-security-context.yaml': manifest(13, 7, 6, 4),
  // Node and control-plane CIS checks: counted, never actions.
  'kube-bench/cmd__testdata__result.json': {
    format: 'kube-bench',
    total: 3,
    failed: 0,
    passed: 2,
    manual: 1,
    supported: 0,
  },
};

const read = readCorpus;

function corpusFiles(): string[] {
  return FOLDERS.flatMap((folder) => {
    const dir = path.join(corpusDir, folder);
    return existsSync(dir) ? readdirSync(dir).map((name) => `${folder}/${name}`) : [];
  }).sort();
}

describe('Kubernetes corpus', () => {
  it('is present, with an expectation for every file and a file for each', () => {
    expectCorpusPresent();
    expect(corpusFiles()).toEqual(Object.keys(EXPECTED).sort());
  });

  it.each(Object.entries(EXPECTED))('%s', (file, expected) => {
    const findings = expectCorpusImport(read(file), expected);
    for (const finding of findings) expect(finding.resource.provider).toBe('kubernetes');
  });
});

describe('corpus manifests loaded into the sandbox', () => {
  let world: KubeWorld;

  beforeAll(async () => {
    world = await startKubeWorld();
    await createNamespace(world, 'testspace');
  });
  afterAll(async () => {
    await world?.close();
  });

  const documents = (file: string) =>
    parseAllDocuments(read(file)).map((d) => d.toJS() as Record<string, unknown>);

  /** The plan of the one fix the file's failed findings ask for, on the named resource. */
  async function planOf(file: string, resourceName: string) {
    const findings = parseFindingsFile(read(file), { kubeContext: CONTEXT }).findings.filter(
      (f: NormalizedFinding) =>
        f.status === 'failed' && f.resource.name === resourceName && fixTypeFor(f),
    );
    const types = new Set(findings.map((f) => fixTypeFor(f)));
    expect(types.size).toBe(1);
    const fix = world.catalog.get([...types][0] as string) as Fix;
    const ctx = kubeContext(world);
    const ref = (findings[0] as NormalizedFinding).resource;
    return { plan: planFor(fix, ref, await fix.read(ctx, ref), ctx), fix, ref, ctx };
  }

  it('gives a Deployment with limits but no requests its requests only', async () => {
    const file = 'kube-score/score__testdata__deployment-test-resources.yaml';
    const [raw] = documents(file) as unknown as V1Deployment[];
    // As the API does, the sandbox wants a selector that matches the template's labels.
    const refused = await world.apps
      .createNamespacedDeployment({ namespace: 'default', body: raw as V1Deployment })
      .then(
        () => null,
        (err: ApiException<string>) => JSON.parse(err.body) as { message: string },
      );
    expect(refused?.message).toContain('spec.selector: Required value');
    const body = structuredClone(raw) as V1Deployment;
    body.spec!.selector = { matchLabels: { app: 'deployment-test-1' } };
    body.spec!.template.metadata = { labels: { app: 'deployment-test-1' } };
    await world.apps.createNamespacedDeployment({ namespace: 'default', body });

    const { plan, fix, ref, ctx } = await planOf(file, 'deployment-test-1');
    expect(plan.calls[0]?.parameters.body).toMatchObject({
      spec: {
        template: {
          spec: {
            containers: [
              {
                name: 'foobar',
                resources: {
                  requests: { cpu: '100m', memory: '128Mi' },
                  limits: { cpu: '200m', memory: '1Gi' },
                },
              },
            ],
          },
        },
      },
    });
    await fix.apply(ctx, ref, await fix.read(ctx, ref));
    const live = await world.apps.readNamespacedDeployment({
      name: 'deployment-test-1',
      namespace: 'default',
    });
    expect(JSON.parse(JSON.stringify(live.spec?.template.spec?.containers[0]?.resources))).toEqual({
      requests: { cpu: '100m', memory: '128Mi' },
      limits: { cpu: '200m', memory: '1Gi' },
    });
  });

  it('gives the Deployment of a kind: List all four values', async () => {
    const file = 'kube-score/score__testdata__list.yaml';
    const [list] = documents(file) as { items: Record<string, unknown>[] }[];
    const deployment = list?.items.find((i) => i.kind === 'Deployment') as V1Deployment;
    await world.apps.createNamespacedDeployment({ namespace: 'default', body: deployment });
    const { plan } = await planOf(file, 'list-deployment-test');
    expect(plan.after.containers).toEqual([
      {
        name: 'nginx',
        init: false,
        resources: {
          requests: { cpu: '100m', memory: '128Mi' },
          limits: { cpu: '500m', memory: '512Mi' },
        },
      },
    ]);
  });

  it("plans for Kubescape's live Deployment (resources: {}) created again", async () => {
    const file = `kubescape/${KS_TESTDATA}ks-deployment.json`;
    const live = JSON.parse(read(file)) as V1Deployment & { status?: unknown };
    const {
      managedFields: _m,
      resourceVersion: _r,
      uid: _u,
      creationTimestamp: _c,
      generation: _g,
      ...meta
    } = live.metadata ?? {};
    await world.apps.createNamespacedDeployment({
      namespace: 'default',
      body: { apiVersion: live.apiVersion, kind: live.kind, metadata: meta, spec: live.spec },
    });
    const { plan } = await planOf(file, 'demoservice-server');
    expect(plan.before?.containers).toEqual([{ name: 'demoservice', init: false, resources: {} }]);
    expect(plan.refusal).toBeNull();
    expect(plan.calls).toHaveLength(1);
  });

  it("resolves trivy-operator's ReplicaSet report to the Deployment that owns it", async () => {
    const wordpress = {
      metadata: { name: 'wordpress', labels: { app: 'wordpress' } },
      spec: {
        replicas: 1,
        selector: { matchLabels: { app: 'wordpress' } },
        template: {
          metadata: { labels: { app: 'wordpress' } },
          spec: { containers: [{ name: 'wordpress', image: 'wordpress:6' }] },
        },
      },
    };
    const owner = await world.apps.createNamespacedDeployment({
      namespace: 'default',
      body: wordpress,
    });
    await world.apps.createNamespacedReplicaSet({
      namespace: 'default',
      body: {
        metadata: {
          name: 'wordpress-84bbf6f4dd',
          labels: { app: 'wordpress', 'pod-template-hash': '84bbf6f4dd' },
          ownerReferences: [
            {
              apiVersion: 'apps/v1',
              kind: 'Deployment',
              name: 'wordpress',
              uid: owner.metadata?.uid as string,
              controller: true,
            },
          ],
        },
        spec: {
          replicas: 0,
          selector: { matchLabels: { app: 'wordpress', 'pod-template-hash': '84bbf6f4dd' } },
          template: {
            metadata: { labels: { app: 'wordpress', 'pod-template-hash': '84bbf6f4dd' } },
            spec: wordpress.spec.template.spec,
          },
        },
      },
    });
    const { plan } = await planOf(TRIVY_WORDPRESS, 'wordpress-84bbf6f4dd');
    expect(plan.before).toMatchObject({
      kind: 'Deployment',
      name: 'wordpress',
      resolvedFrom: { kind: 'ReplicaSet' },
    });
    expect(plan.calls[0]).toMatchObject({
      operation: 'patchNamespacedDeployment',
      parameters: { name: 'wordpress' },
    });
  });

  it("plans for Kubescape's DaemonSets", async () => {
    for (const name of ['fake-pod-1', 'fake-pod-10']) {
      const body: V1DaemonSet = {
        metadata: { name },
        spec: {
          selector: { matchLabels: { app: name } },
          template: {
            metadata: { labels: { app: name } },
            spec: { containers: [{ name: 'app', image: 'nginx' }] },
          },
        },
      };
      await world.apps.createNamespacedDaemonSet({ namespace: 'default', body });
      const { plan } = await planOf(
        'kubescape/core__pkg__opaprocessor__testdata__resourcesResultObjMock__extract.json',
        name,
      );
      expect(plan.calls[0]?.operation).toBe('patchNamespacedDaemonSet');
    }
  });

  it("refuses Polaris's bare pod; the API refuses kube-score's imageless container", async () => {
    const file = 'polaris/test__checks__memoryLimitsMissing__failure.cpu.yaml';
    const [pod] = documents(file) as unknown as V1Pod[];
    await world.core.createNamespacedPod({ namespace: 'default', body: pod as V1Pod });
    const { plan } = await planOf(file, 'nginx');
    expect(plan.refusal).toMatch(
      /^Pod default\/nginx cannot be given requests and limits here: nothing controls it/,
    );

    const [noImage] = documents(
      'kube-score/score__testdata__security-inherit-pod-security-context.yaml',
    );
    const refused = await world.apps
      .createNamespacedDeployment({ namespace: 'default', body: noImage as V1Deployment })
      .then(
        () => null,
        (err: ApiException<string>) => err.code,
      );
    expect(refused).toBe(422);
  });
});
