import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ApiException,
  ApisApi,
  AppsApi,
  AppsV1Api,
  CoreApi,
  CoreV1Api,
  KubeConfig,
  PatchStrategy,
  setHeaderOptions,
  VersionApi,
  type V1Deployment,
} from '@kubernetes/client-node';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { writeSandboxKubeconfig } from '../src/sandbox/k8s/kubeconfig.ts';
import { startSandbox, type Sandbox } from '../src/sandbox/index.ts';
import { createPgStatefulSet, pgTemplate } from './helpers/kube.ts';

let sandbox: Sandbox;
let dir: string;
let kc: KubeConfig;
let core: CoreV1Api;
let apps: AppsV1Api;

beforeEach(async () => {
  sandbox = await startSandbox({ seed: 'empty' });
  dir = await mkdtemp(join(tmpdir(), 'sandbox-k8s-'));
  const path = await writeSandboxKubeconfig(join(dir, 'kubeconfig'), sandbox.url);
  kc = new KubeConfig();
  kc.loadFromFile(path);
  core = kc.makeApiClient(CoreV1Api);
  apps = kc.makeApiClient(AppsV1Api);
});

afterEach(async () => {
  await sandbox.close();
  await rm(dir, { recursive: true, force: true });
});

/** The Status object a call was refused with; fails the test when the call succeeds. */
async function refusal(call: Promise<unknown>) {
  try {
    await call;
  } catch (err) {
    expect(err).toBeInstanceOf(ApiException);
    const e = err as ApiException<string>;
    return { code: e.code, status: JSON.parse(e.body), headers: e.headers };
  }
  throw new Error('expected the call to fail, but it succeeded');
}

const merge = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
const strategic = setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch);
const jsonPatch = setHeaderOptions('Content-Type', PatchStrategy.JsonPatch);

function web(
  containers: object[] = [{ name: 'app', image: 'nginx:1.27' }],
  replicas = 2,
): V1Deployment {
  return {
    metadata: { name: 'web', labels: { app: 'web' } },
    spec: {
      replicas,
      selector: { matchLabels: { app: 'web' } },
      template: { metadata: { labels: { app: 'web' } }, spec: { containers } },
    },
  } as V1Deployment;
}

async function setup(labels: Record<string, string> = {}) {
  await core.createNamespace({ body: { metadata: { name: 'shop', labels } } });
  return apps.createNamespacedDeployment({ namespace: 'shop', body: web() });
}

const podNames = async (ns = 'shop') =>
  (await core.listNamespacedPod({ namespace: ns })).items.map((p) => p.metadata?.name ?? '');

describe('discovery', () => {
  it('answers /api, /api/v1, /apis, /apis/apps, /apis/apps/v1 and /version', async () => {
    const versions = await kc.makeApiClient(CoreApi).getAPIVersions();
    expect(versions.versions).toEqual(['v1']);
    const coreResources = await core.getAPIResources();
    expect(coreResources.groupVersion).toBe('v1');
    expect(coreResources.resources.map((r) => r.name)).toEqual(['namespaces', 'pods']);
    expect(coreResources.resources.find((r) => r.name === 'pods')).toMatchObject({
      kind: 'Pod',
      namespaced: true,
      verbs: expect.arrayContaining(['get', 'list', 'patch', 'create']),
    });
    const groups = await kc.makeApiClient(ApisApi).getAPIVersions();
    expect(groups.groups.map((g) => g.name)).toEqual(['apps']);
    expect((await kc.makeApiClient(AppsApi).getAPIGroup()).preferredVersion?.groupVersion).toBe(
      'apps/v1',
    );
    const appsResources = await apps.getAPIResources();
    expect(appsResources.resources.map((r) => r.name)).toEqual([
      'deployments',
      'replicasets',
      'statefulsets',
      'daemonsets',
    ]);
    const version = await kc.makeApiClient(VersionApi).getCode();
    expect(version).toMatchObject({ major: '1', minor: '31' });
  });

  it('answers a path it does not serve with a 404 Status, not S3', async () => {
    const res = await fetch(`${sandbox.url}/apis/batch/v1/jobs`);
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: 'the server could not find the requested resource',
      reason: 'NotFound',
      details: {},
      code: 404,
    });
    expect((await fetch(`${sandbox.url}/openapi/v3`)).status).toBe(200);
  });
});

describe('namespaces', () => {
  it('creates, reads and lists them, with the name label the API server adds', async () => {
    const created = await core.createNamespace({
      body: { metadata: { name: 'shop', labels: { team: 'a' } } },
    });
    expect(created.metadata).toMatchObject({
      name: 'shop',
      labels: { team: 'a', 'kubernetes.io/metadata.name': 'shop' },
    });
    expect(created.metadata?.uid).toMatch(/^[0-9a-f-]{36}$/);
    expect(created.status?.phase).toBe('Active');
    expect((await core.readNamespace({ name: 'shop' })).metadata?.resourceVersion).toBe(
      created.metadata?.resourceVersion,
    );
    const all = (await core.listNamespace()).items.map((n) => n.metadata?.name);
    expect(all).toEqual(['default', 'kube-node-lease', 'kube-public', 'kube-system', 'shop']);
    const teamA = await core.listNamespace({ labelSelector: 'team in (a,b),!absent' });
    expect(teamA.items.map((n) => n.metadata?.name)).toEqual(['shop']);
  });

  it('answers a missing one with 404 NotFound and a duplicate with 409 AlreadyExists', async () => {
    const missing = await refusal(core.readNamespace({ name: 'nope' }));
    expect(missing.code).toBe(404);
    expect(missing.status).toMatchObject({
      kind: 'Status',
      reason: 'NotFound',
      message: 'namespaces "nope" not found',
      details: { name: 'nope', kind: 'namespaces' },
      code: 404,
    });
    await core.createNamespace({ body: { metadata: { name: 'shop' } } });
    const again = await refusal(core.createNamespace({ body: { metadata: { name: 'shop' } } }));
    expect(again.code).toBe(409);
    expect(again.status).toMatchObject({
      reason: 'AlreadyExists',
      message: 'namespaces "shop" already exists',
    });
  });

  it('refuses invalid names and Pod Security labels with 422 Invalid', async () => {
    const name = await refusal(core.createNamespace({ body: { metadata: { name: 'Shop_1' } } }));
    expect(name.code).toBe(422);
    expect(name.status.reason).toBe('Invalid');
    expect(name.status.message).toMatch(
      /^Namespace "Shop_1" is invalid: metadata.name: Invalid value/,
    );
    const label = await refusal(
      core.createNamespace({
        body: {
          metadata: { name: 'x', labels: { 'pod-security.kubernetes.io/enforce': 'strict' } },
        },
      }),
    );
    expect(label.code).toBe(422);
    expect(label.status.message).toContain(
      'metadata.labels[pod-security.kubernetes.io/enforce]: Unsupported value: "strict": ' +
        'supported values: "privileged", "baseline", "restricted"',
    );
  });
});

describe('workloads', () => {
  it('creates a Deployment with its ReplicaSet and pods, linked by ownerReferences', async () => {
    const deployment = await setup();
    expect(deployment.metadata?.generation).toBe(1);
    expect(deployment.status).toMatchObject({
      replicas: 2,
      readyReplicas: 2,
      observedGeneration: 1,
    });
    const [rs, ...more] = (await apps.listNamespacedReplicaSet({ namespace: 'shop' })).items;
    expect(more).toHaveLength(0);
    const hash = rs?.metadata?.labels?.['pod-template-hash'] ?? '';
    expect(hash).toMatch(/^[bcdfghjklmnpqrstvwxz2456789]{6,10}$/);
    expect(rs?.metadata?.name).toBe(`web-${hash}`);
    expect(rs?.metadata?.ownerReferences).toEqual([
      {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        name: 'web',
        uid: deployment.metadata?.uid,
        controller: true,
        blockOwnerDeletion: true,
      },
    ]);
    const pods = (
      await core.listNamespacedPod({
        namespace: 'shop',
        labelSelector: `pod-template-hash=${hash}`,
      })
    ).items;
    expect(pods).toHaveLength(2);
    for (const pod of pods) {
      expect(pod.metadata?.name).toMatch(new RegExp(`^web-${hash}-[a-z0-9]{5}$`));
      expect(pod.metadata?.ownerReferences?.[0]).toMatchObject({
        kind: 'ReplicaSet',
        name: rs?.metadata?.name,
        uid: rs?.metadata?.uid,
      });
      expect(pod.status?.phase).toBe('Running');
      expect(pod.spec?.containers[0]?.resources).toEqual({});
    }
    const everywhere = await core.listPodForAllNamespaces({
      fieldSelector: 'metadata.namespace=shop',
    });
    expect(everywhere.items).toHaveLength(2);
  });

  it('replaces the pods when the template changes, the old ReplicaSet kept at 0', async () => {
    await setup();
    const before = await podNames();
    await apps.patchNamespacedDeployment(
      {
        name: 'web',
        namespace: 'shop',
        body: {
          spec: { template: { spec: { containers: [{ name: 'app', image: 'nginx:1.28' }] } } },
        },
      },
      strategic,
    );
    const after = await podNames();
    expect(after).toHaveLength(2);
    expect(after.some((name) => before.includes(name))).toBe(false);
    const sets = (await apps.listNamespacedReplicaSet({ namespace: 'shop' })).items;
    expect(sets.map((s) => s.spec?.replicas).sort()).toEqual([0, 2]);
    const deployment = await apps.readNamespacedDeployment({ name: 'web', namespace: 'shop' });
    expect(deployment.metadata?.generation).toBe(2);
    expect(deployment.metadata?.annotations?.['deployment.kubernetes.io/revision']).toBe('2');
  });

  it('runs StatefulSet pods by ordinal and one DaemonSet pod per node', async () => {
    await core.createNamespace({ body: { metadata: { name: 'db' } } });
    const template = pgTemplate();
    await createPgStatefulSet(apps, 'db', 2);
    const first = (await core.listNamespacedPod({ namespace: 'db' })).items;
    expect(first.map((p) => p.metadata?.name)).toEqual(['pg-0', 'pg-1']);
    await apps.patchNamespacedStatefulSet(
      {
        name: 'pg',
        namespace: 'db',
        body: [
          { op: 'replace', path: '/spec/template/spec/containers/0/image', value: 'postgres:17' },
        ],
      },
      jsonPatch,
    );
    const second = (await core.listNamespacedPod({ namespace: 'db' })).items;
    expect(second.map((p) => p.metadata?.name)).toEqual(['pg-0', 'pg-1']);
    expect(second.map((p) => p.metadata?.uid)).not.toContain(first[0]?.metadata?.uid);
    expect(second[0]?.metadata?.ownerReferences?.[0]?.kind).toBe('StatefulSet');

    await apps.createNamespacedDaemonSet({
      namespace: 'db',
      body: {
        metadata: { name: 'agent' },
        spec: {
          selector: { matchLabels: { app: 'agent' } },
          template: { ...template, metadata: { labels: { app: 'agent' } } },
        },
      },
    });
    const agents = (await core.listNamespacedPod({ namespace: 'db', labelSelector: 'app=agent' }))
      .items;
    expect(agents.map((p) => p.spec?.nodeName).sort()).toEqual([
      'sandbox-node-1',
      'sandbox-node-2',
    ]);
  });

  it('refuses requests above limits, no containers and a changed selector', async () => {
    await core.createNamespace({ body: { metadata: { name: 'shop' } } });
    const tooHigh = await refusal(
      apps.createNamespacedDeployment({
        namespace: 'shop',
        body: web([
          {
            name: 'app',
            image: 'nginx',
            resources: { requests: { cpu: '600m' }, limits: { cpu: '500m' } },
          },
        ]),
      }),
    );
    expect(tooHigh.code).toBe(422);
    expect(tooHigh.status.message).toBe(
      'Deployment.apps "web" is invalid: spec.template.spec.containers[0].resources.requests: ' +
        'Invalid value: "600m": must be less than or equal to cpu limit of 500m',
    );
    const empty = await refusal(
      apps.createNamespacedDeployment({ namespace: 'shop', body: web([]) }),
    );
    expect(empty.status.message).toContain('spec.template.spec.containers: Required value');
    await apps.createNamespacedDeployment({ namespace: 'shop', body: web() });
    const selector = await refusal(
      apps.patchNamespacedDeployment(
        {
          name: 'web',
          namespace: 'shop',
          body: { spec: { selector: { matchLabels: { app: 'other' } } } },
        },
        merge,
      ),
    );
    expect(selector.code).toBe(422);
    expect(selector.status.message).toContain('field is immutable');
  });

  it('answers 404 for a missing namespace, and replaces a deleted pod', async () => {
    const missing = await refusal(
      core.createNamespacedPod({
        namespace: 'nowhere',
        body: { metadata: { name: 'p' }, spec: { containers: [{ name: 'c', image: 'busybox' }] } },
      }),
    );
    expect(missing.status).toMatchObject({
      reason: 'NotFound',
      message: 'namespaces "nowhere" not found',
    });
    await setup();
    const [victim] = await podNames();
    await core.deleteNamespacedPod({ name: victim as string, namespace: 'shop' });
    const now = await podNames();
    expect(now).toHaveLength(2);
    expect(now).not.toContain(victim);
  });
});

describe('patches and resourceVersion', () => {
  it('merges containers by name in a strategic merge patch, keeping the other fields', async () => {
    await core.createNamespace({ body: { metadata: { name: 'shop' } } });
    await apps.createNamespacedDeployment({
      namespace: 'shop',
      body: web([
        { name: 'app', image: 'nginx:1.27', ports: [{ containerPort: 80 }] },
        { name: 'sidecar', image: 'envoy:1' },
      ]),
    });
    const patched = await apps.patchNamespacedDeployment(
      {
        name: 'web',
        namespace: 'shop',
        body: {
          spec: {
            template: {
              spec: { containers: [{ name: 'sidecar', resources: { limits: { cpu: '100m' } } }] },
            },
          },
        },
      },
      strategic,
    );
    const containers = patched.spec?.template.spec?.containers ?? [];
    expect(containers.map((c) => c.name)).toEqual(['app', 'sidecar']);
    expect(containers[0]?.ports).toEqual([{ containerPort: 80 }]);
    expect(containers[1]).toMatchObject({
      image: 'envoy:1',
      resources: { limits: { cpu: '100m' } },
    });
    // A merge patch replaces lists wholesale.
    const merged = await apps.patchNamespacedDeployment(
      {
        name: 'web',
        namespace: 'shop',
        body: { spec: { template: { spec: { containers: [{ name: 'only', image: 'x:1' }] } } } },
      },
      merge,
    );
    expect(merged.spec?.template.spec?.containers.map((c) => c.name)).toEqual(['only']);
  });

  it('bumps resourceVersion on every write and refuses a stale one with 409 Conflict', async () => {
    const created = await setup();
    const rv = created.metadata?.resourceVersion as string;
    const labelled = await apps.patchNamespacedDeployment(
      {
        name: 'web',
        namespace: 'shop',
        body: { metadata: { resourceVersion: rv, labels: { tier: 'front' } } },
      },
      merge,
    );
    const next = labelled.metadata?.resourceVersion as string;
    expect(Number(next)).toBeGreaterThan(Number(rv));
    const stale = await refusal(
      apps.patchNamespacedDeployment(
        {
          name: 'web',
          namespace: 'shop',
          body: [
            { op: 'replace', path: '/metadata/resourceVersion', value: rv },
            { op: 'add', path: '/metadata/labels/x', value: 'y' },
          ],
        },
        jsonPatch,
      ),
    );
    expect(stale.code).toBe(409);
    expect(stale.status).toMatchObject({
      reason: 'Conflict',
      message:
        'Operation cannot be fulfilled on deployments.apps "web": the object has been modified; ' +
        'please apply your changes to the latest version and try again',
      details: { name: 'web', group: 'apps', kind: 'deployments' },
    });
    const put = await refusal(
      apps.replaceNamespacedDeployment({
        name: 'web',
        namespace: 'shop',
        body: { ...web(), metadata: { ...web().metadata, resourceVersion: rv } },
      }),
    );
    expect(put.code).toBe(409);
    const unversioned = await refusal(
      apps.replaceNamespacedDeployment({ name: 'web', namespace: 'shop', body: web() }),
    );
    expect(unversioned.code).toBe(422);
    const current = await apps.readNamespacedDeployment({ name: 'web', namespace: 'shop' });
    expect(current.metadata?.resourceVersion).toBe(next);
    expect(current.metadata?.labels).toEqual({ app: 'web', tier: 'front' });
  });

  it('answers a failed JSON patch test with 422 and a malformed one with 400', async () => {
    await setup();
    const test = await refusal(
      apps.patchNamespacedDeployment(
        {
          name: 'web',
          namespace: 'shop',
          body: [{ op: 'test', path: '/spec/replicas', value: 5 }],
        },
        jsonPatch,
      ),
    );
    expect(test.code).toBe(422);
    expect(test.status.message).toContain('testing value /spec/replicas failed');
    const bad = await refusal(
      apps.patchNamespacedDeployment(
        { name: 'web', namespace: 'shop', body: [{ op: 'bogus', path: '/a' }] },
        jsonPatch,
      ),
    );
    expect(bad.code).toBe(400);
  });

  it('answers an unsupported patch type with 415 UnsupportedMediaType', async () => {
    await setup();
    const apply = await refusal(
      apps.patchNamespacedDeployment(
        { name: 'web', namespace: 'shop', body: { spec: {} }, fieldManager: 'me' },
        setHeaderOptions('Content-Type', PatchStrategy.ServerSideApply),
      ),
    );
    expect(apply.code).toBe(415);
    expect(apply.status.reason).toBe('UnsupportedMediaType');
  });

  it('does not persist or log a dry run, and refuses an unknown dryRun value', async () => {
    await setup();
    sandbox.clearMutations();
    const dry = await apps.patchNamespacedDeployment(
      { name: 'web', namespace: 'shop', dryRun: 'All', body: { spec: { replicas: 5 } } },
      merge,
    );
    expect(dry.spec?.replicas).toBe(5);
    expect(
      (await apps.readNamespacedDeployment({ name: 'web', namespace: 'shop' })).spec?.replicas,
    ).toBe(2);
    expect(await podNames()).toHaveLength(2);
    expect(sandbox.mutations()).toEqual([]);
    const bad = await refusal(
      apps.patchNamespacedDeployment(
        { name: 'web', namespace: 'shop', dryRun: 'Some', body: {} },
        merge,
      ),
    );
    expect(bad.code).toBe(400);
  });

  it('logs each applied change with its request, and a no-op patch not at all', async () => {
    await setup();
    const body = { metadata: { labels: { tier: 'front' } } };
    await apps.patchNamespacedDeployment({ name: 'web', namespace: 'shop', body }, merge);
    await apps.patchNamespacedDeployment({ name: 'web', namespace: 'shop', body }, merge);
    const log = sandbox.mutations();
    expect(log.map((m) => m.operation)).toEqual([
      'createNamespace',
      'createNamespacedDeployment',
      'patchNamespacedDeployment',
    ]);
    expect(log[2]).toMatchObject({
      service: 'kubernetes',
      resource: 'deployments/web',
      account: 'sandbox',
      region: 'shop',
      params: { name: 'web', namespace: 'shop', contentType: 'application/merge-patch+json', body },
    });
  });
});

describe('Pod Security Admission', () => {
  const enforce = (level: string, dryRun = true) =>
    core.patchNamespaceWithHttpInfo(
      {
        name: 'shop',
        ...(dryRun ? { dryRun: 'All' } : {}),
        body: { metadata: { labels: { 'pod-security.kubernetes.io/enforce': level } } },
      },
      merge,
    );

  it('warns, as the API server words it, about the pods a tighter level would refuse', async () => {
    await core.createNamespace({ body: { metadata: { name: 'shop' } } });
    await apps.createNamespacedDeployment({
      namespace: 'shop',
      body: web([{ name: 'app', image: 'nginx', securityContext: { privileged: true } }]),
    });
    await core.createNamespacedPod({
      namespace: 'shop',
      body: {
        metadata: { name: 'agent' },
        spec: {
          hostNetwork: true,
          containers: [
            { name: 'a', image: 'busybox', ports: [{ containerPort: 9100, hostPort: 9100 }] },
          ],
        },
      },
    });
    const [first] = (await podNames()).filter((n) => n.startsWith('web-')).sort();
    const baseline = await enforce('baseline');
    expect(baseline.headers.warning).toBe(
      '299 - "existing pods in namespace \\"shop\\" violate the new PodSecurity enforce ' +
        'level \\"baseline:latest\\"", ' +
        '299 - "agent: host namespaces, hostPort", ' +
        `299 - "${first} (and 1 other pod): privileged"`,
    );
    expect(baseline.data.metadata?.labels?.['pod-security.kubernetes.io/enforce']).toBe('baseline');
    expect((await core.readNamespace({ name: 'shop' })).metadata?.labels).not.toHaveProperty(
      'pod-security.kubernetes.io/enforce',
    );
    const restricted = await enforce('restricted');
    expect(restricted.headers.warning).toContain(
      `${first} (and 1 other pod): allowPrivilegeEscalation != false, unrestricted capabilities, ` +
        'privileged, runAsNonRoot != true, seccompProfile',
    );
  });

  it('is silent unless the level tightens, and refuses violating pods once enforced', async () => {
    await core.createNamespace({ body: { metadata: { name: 'shop' } } });
    expect((await enforce('privileged')).headers.warning).toBeUndefined();
    await enforce('baseline', false);
    expect((await enforce('baseline')).headers.warning).toBeUndefined();
    const refused = await refusal(
      core.createNamespacedPod({
        namespace: 'shop',
        body: {
          metadata: { name: 'root' },
          spec: {
            containers: [{ name: 'c', image: 'busybox', securityContext: { privileged: true } }],
          },
        },
      }),
    );
    expect(refused.code).toBe(403);
    expect(refused.status.message).toBe(
      'pods "root" is forbidden: violates PodSecurity "baseline:latest": privileged ' +
        '(container "c" must not set securityContext.privileged=true)',
    );
    await apps.createNamespacedDeployment({
      namespace: 'shop',
      body: web([{ name: 'app', image: 'nginx', securityContext: { privileged: true } }]),
    });
    expect(await podNames()).toEqual([]);
    const [rs] = (await apps.listNamespacedReplicaSet({ namespace: 'shop' })).items;
    expect(rs?.status?.conditions?.[0]).toMatchObject({
      type: 'ReplicaFailure',
      reason: 'FailedCreate',
    });
  });
});

describe('the sandbox around it', () => {
  it('throttles with 429 and Retry-After, and fails with 500 on an error fault', async () => {
    await core.createNamespace({ body: { metadata: { name: 'shop' } } });
    sandbox.injectFault({ service: 'kubernetes', operation: 'readNamespace', kind: 'throttle' });
    const throttled = await refusal(core.readNamespace({ name: 'shop' }));
    expect(throttled.code).toBe(429);
    expect(throttled.headers['retry-after']).toBe('1');
    expect(throttled.status).toMatchObject({
      reason: 'TooManyRequests',
      details: { retryAfterSeconds: 1 },
    });
    sandbox.injectFault({
      service: 'kubernetes',
      operation: 'patchNamespace',
      kind: 'error',
      when: 'after',
    });
    const failed = await refusal(
      core.patchNamespace({ name: 'shop', body: { metadata: { labels: { a: 'b' } } } }, merge),
    );
    expect(failed.code).toBe(500);
    expect(failed.status.reason).toBe('InternalError');
    expect((await core.readNamespace({ name: 'shop' })).metadata?.labels?.a).toBe('b');
  });

  it('saves and reloads clusters, and picks the cluster by bearer token', async () => {
    await setup();
    const path = join(dir, 'state.json');
    await sandbox.save(path);
    const saved = JSON.parse(await readFile(path, 'utf8'));
    expect(saved.kubernetes.defaultCluster).toBe('sandbox');
    expect(saved.kubernetes.clusters.sandbox.deployments[0].metadata.name).toBe('web');
    saved.kubernetes.clusters.other = {
      tokens: ['other-token'],
      namespaces: [{ metadata: { name: 'lonely' } }],
    };
    const reloaded = await startSandbox({ statePath: path });
    try {
      await reloaded.save(path);
      expect(reloaded.state().kubernetes).toEqual(sandbox.state().kubernetes);
      const response = await fetch(`${reloaded.url}/_sandbox/state`, {
        method: 'PUT',
        body: JSON.stringify(saved),
      });
      expect(response.status).toBe(204);
      const other = await fetch(`${reloaded.url}/api/v1/namespaces`, {
        headers: { authorization: 'Bearer other-token' },
      });
      const names = ((await other.json()) as { items: { metadata: { name: string } }[] }).items.map(
        (n) => n.metadata.name,
      );
      expect(names).toEqual(['lonely']);
    } finally {
      await reloaded.close();
    }
  });

  it('refuses a state document whose objects do not fit', async () => {
    const doc = sandbox.state();
    (doc as { kubernetes: unknown }).kubernetes = {
      clusters: {
        c: { namespaces: [], deployments: [{ metadata: { name: 'd', namespace: 'gone' } }] },
      },
    };
    const response = await fetch(`${sandbox.url}/_sandbox/state`, {
      method: 'PUT',
      body: JSON.stringify(doc),
    });
    expect(response.status).toBe(400);
    expect(((await response.json()) as { error: string }).error).toContain(
      'kubernetes.clusters.c.deployments[0].metadata.namespace must name a namespace',
    );
  });

  it('writes an owner-only kubeconfig that client-node reads as it is', async () => {
    const path = join(dir, 'kubeconfig');
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect(kc.getCurrentContext()).toBe('default');
    expect(kc.getCurrentCluster()?.server).toBe(sandbox.url);
    expect(kc.getCurrentUser()?.token).toBe('sandbox');
  });

  it('seeds the demo cluster with its workloads and pods and logs nothing', async () => {
    const demo = await startSandbox({ seed: 'demo' });
    try {
      const path = await writeSandboxKubeconfig(join(dir, 'demo-kubeconfig'), demo.url);
      const demoKc = new KubeConfig();
      demoKc.loadFromFile(path);
      const demoCore = demoKc.makeApiClient(CoreV1Api);
      const demoApps = demoKc.makeApiClient(AppsV1Api);
      const pods = (await demoCore.listPodForAllNamespaces()).items.map(
        (p) => `${p.metadata?.namespace}/${p.metadata?.name}`,
      );
      expect(pods).toContain('batch/debug-shell');
      expect(pods).toContain('shop/orders-db-0');
      expect(pods.filter((p) => p.startsWith('monitoring/node-exporter-'))).toHaveLength(2);
      const deployments = await demoApps.listNamespacedDeployment({ namespace: 'shop' });
      expect(deployments.items.map((d) => d.metadata?.name)).toEqual(['api', 'checkout', 'web']);
      const payments = await demoCore.readNamespace({ name: 'payments' });
      expect(payments.metadata?.labels?.['pod-security.kubernetes.io/enforce']).toBe('restricted');
      expect(demo.mutations()).toEqual([]);
    } finally {
      await demo.close();
    }
  });
});
