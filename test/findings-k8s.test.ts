import { describe, expect, it } from 'vitest';
import { parseFindingsFile } from '../src/findings/import.ts';
import { fixTypeFor } from '../src/findings/mapping.ts';
import { summarize } from '../src/findings/summary.ts';
import { importRefusal } from './helpers/findings.ts';

const control = (controlID: string, status: unknown, extra: object = {}) => ({
  controlID,
  name: `control ${controlID}`,
  status,
  ...extra,
});

const KUBESCAPE = {
  clusterName: 'prod-eu',
  summaryDetails: { controls: { 'C-0192': { controlID: 'C-0192', scoreFactor: 4 } } },
  results: [
    {
      resourceID: 'apps/v1/shop/Deployment/web',
      controls: [
        control('C-0009', { status: 'failed' }, { severity: 'High' }),
        control('C-0057', { status: 'passed' }, { severity: 'High' }),
        control('C-0050', { status: 'skipped', subStatus: 'configuration' }),
        control('C-0016', { status: 'failed' }, { severity: 'Medium' }),
      ],
    },
    { resourceID: '/v1//Namespace/shop', controls: [control('C-0192', { status: 'failed' })] },
    { resourceID: '/v1/shop/Pod/web-7d4b9c-x2x9z', controls: [control('C-0009', 'failed')] },
    {
      resourceID: 'path=2311/api=apps/v1/default/DaemonSet/agent',
      controls: [control('C-0009', { status: 'excluded' })],
    },
    {
      resourceID: '/v1/shop/ConfigMap/cfg',
      controls: [control('C-0012', { status: 'skipped', subStatus: 'manual_review' })],
    },
  ],
};

describe('Kubescape', () => {
  it('reads each control on each resource, with the resource as a Kubernetes object', () => {
    const { format, findings } = parseFindingsFile(JSON.stringify(KUBESCAPE), {
      kubeContext: 'prod',
    });
    expect(format).toBe('kubescape');
    expect(findings).toHaveLength(8);
    expect(findings[0]).toEqual({
      source: {
        kind: 'vulnerability',
        findingId: 'kubescape:prod/apps/v1/shop/Deployment/web:C-0009',
        title: 'control C-0009',
        origin: 'kubescape',
        checkId: 'C-0009',
      },
      status: 'failed',
      severity: 'high',
      resource: {
        provider: 'kubernetes',
        account: 'prod',
        region: 'shop',
        type: 'KubernetesDeployment',
        id: 'k8s://prod/shop/Deployment/web',
        name: 'web',
      },
      related: [],
    });
    expect(findings.map((f) => f.status)).toEqual([
      'failed',
      'passed',
      'unknown',
      'failed',
      'failed',
      'failed',
      'unknown',
      'manual',
    ]);
    const namespace = findings[4];
    expect(namespace?.resource).toMatchObject({
      type: 'KubernetesNamespace',
      region: 'shop',
      id: 'k8s://prod//Namespace/shop',
    });
    expect(namespace?.severity).toBe('medium');
    expect(findings[6]?.resource).toMatchObject({
      type: 'KubernetesDaemonSet',
      region: 'default',
      name: 'agent',
    });
  });

  it('maps resource limit and Pod Security Admission controls, and nothing else', () => {
    const { findings } = parseFindingsFile(JSON.stringify(KUBESCAPE));
    expect(findings.map((f) => fixTypeFor(f) ?? null)).toEqual([
      'k8s.set-resource-limits', // C-0009 resource limits
      null, // C-0057 privileged container: a workload fix no catalog entry makes
      'k8s.set-resource-limits', // C-0050 CPU request and limit (skipped, mapped all the same)
      null, // C-0016 allow privilege escalation
      'k8s.enforce-pod-security', // C-0192 on the namespace
      'k8s.set-resource-limits', // on a Pod: resolved to its owner when the fix reads
      'k8s.set-resource-limits',
      null,
    ]);
    expect(findings[0]?.resource.account).toBe('default');
  });

  it('reads results keyed by resourceID, and refuses a resourceID it cannot read', () => {
    const keyed = {
      'apps/v1/default/DaemonSet/a': KUBESCAPE.results[0] && {
        ...KUBESCAPE.results[0],
        resourceID: 'apps/v1/default/DaemonSet/a',
      },
    };
    expect(parseFindingsFile(JSON.stringify(keyed)).findings).toHaveLength(4);
    const text = JSON.stringify({ results: [{ resourceID: 'web', controls: [] }] }, null, 2);
    const error = importRefusal(text);
    expect(error.message).toBe(
      'results[0].resourceID: expected a resourceID like "apps/v1/<namespace>/<kind>/<name>", ' +
        'found "web" (line 4, column 7); the file does not have the Kubescape JSON shape ' +
        'there and nothing was imported',
    );
  });
});

describe('Polaris', () => {
  const container = (name: string, success: boolean) => ({
    Name: name,
    Results: {
      cpuLimitsMissing: {
        ID: 'cpuLimitsMissing',
        Message: success ? 'CPU limits are set' : 'CPU limits should be set',
        Success: success,
        Severity: 'warning',
        Category: 'Resources',
      },
    },
  });
  const workload = {
    Name: 'web',
    Namespace: 'shop',
    Kind: 'Deployment',
    Results: {},
    PodResult: {
      Name: '',
      Results: {
        hostPIDSet: {
          ID: 'hostPIDSet',
          Message: 'Host PID is not configured',
          Success: true,
          Severity: 'danger',
          Category: 'Security',
        },
      },
      ContainerResults: [
        container('app', false),
        container('sidecar', true),
        container('init', false),
      ],
    },
  };
  const report = {
    PolarisOutputVersion: '1.0',
    AuditTime: '2025-01-01T00:00:00Z',
    Results: [workload, workload],
  };

  it('merges container results per check, naming failing containers, once per workload', () => {
    const { format, findings } = parseFindingsFile(JSON.stringify(report));
    expect(format).toBe('polaris');
    expect(findings).toHaveLength(2);
    expect(findings[0]).toMatchObject({
      source: {
        findingId: 'polaris:default/shop/Deployment/web:hostPIDSet',
        checkId: 'hostPIDSet',
        origin: 'polaris',
      },
      status: 'passed',
      severity: 'high',
    });
    expect(findings[1]).toMatchObject({
      source: { title: 'CPU limits should be set (app, init)', checkId: 'cpuLimitsMissing' },
      status: 'failed',
      severity: 'medium',
      related: ['Polaris Resources'],
    });
    expect(fixTypeFor(findings[1]!)).toBe('k8s.set-resource-limits');
  });
});

describe('trivy-operator', () => {
  const yamlReports = `apiVersion: v1
kind: List
items:
  - apiVersion: aquasecurity.github.io/v1alpha1
    kind: ConfigAuditReport
    metadata:
      name: replicaset-web-6d4cf56db6
      namespace: shop
      labels:
        trivy-operator.resource.kind: ReplicaSet
        trivy-operator.resource.name: web-6d4cf56db6
        trivy-operator.resource.namespace: shop
    report:
      checks:
        - checkID: KSV011
          title: CPU not limited
          severity: LOW
          success: false
          scope: { type: Container, value: app }
        - checkID: KSV012
          severity: MEDIUM
          success: false
          messages: ["Container 'app' should set 'securityContext.runAsNonRoot' to true"]
  - apiVersion: aquasecurity.github.io/v1alpha1
    kind: ConfigAuditReport
    metadata:
      name: pod-debug
      namespace: batch
      ownerReferences: [{ apiVersion: v1, kind: Pod, name: debug, uid: u1 }]
    report:
      checks:
        - { checkID: KSV018, severity: LOW, success: true }
`;

  it('reads each check about the object the report names, from YAML', () => {
    const { format, findings } = parseFindingsFile(yamlReports);
    expect(format).toBe('trivy-operator');
    expect(
      findings.map((f) => [
        f.source.findingId,
        f.status,
        f.severity,
        f.resource.type,
        f.resource.name,
      ]),
    ).toEqual([
      [
        'trivy-operator:default/shop/ReplicaSet/web-6d4cf56db6:KSV011:app',
        'failed',
        'low',
        'KubernetesReplicaSet',
        'web-6d4cf56db6',
      ],
      [
        'trivy-operator:default/shop/ReplicaSet/web-6d4cf56db6:KSV012',
        'failed',
        'medium',
        'KubernetesReplicaSet',
        'web-6d4cf56db6',
      ],
      ['trivy-operator:default/batch/Pod/debug:KSV018', 'passed', 'low', 'KubernetesPod', 'debug'],
    ]);
    expect(findings[1]?.source.title).toBe(
      "Container 'app' should set 'securityContext.runAsNonRoot' to true",
    );
    expect(findings.map((f) => fixTypeFor(f) ?? null)).toEqual([
      'k8s.set-resource-limits',
      null,
      'k8s.set-resource-limits',
    ]);
  });

  it('refuses a report that does not say what it is about, with the line', () => {
    const text = yamlReports.replace(/      ownerReferences:.*\n/, '');
    const error = importRefusal(text);
    expect(error.message).toMatch(
      /^items\[1\]\.metadata\.labels: expected the trivy-operator.* \(line 27, column 7\);/,
    );
  });
});

describe('kube-bench', () => {
  it('counts node checks and turns none of them into actions', () => {
    const result = {
      Controls: [
        {
          id: '4',
          version: 'cis-1.8',
          node_type: 'node',
          text: 'Worker Node Security Configuration',
          tests: [
            {
              section: '4.2',
              results: [
                {
                  test_number: '4.2.1',
                  test_desc: 'Ensure that the --anonymous-auth argument is set to false',
                  status: 'FAIL',
                },
                {
                  test_number: '4.2.2',
                  test_desc: 'Ensure --authorization-mode is not AlwaysAllow',
                  status: 'PASS',
                },
                {
                  test_number: '4.2.9',
                  test_desc: 'Ensure the eventRecordQPS is set',
                  status: 'WARN',
                },
              ],
            },
          ],
        },
      ],
      Totals: { total_pass: 1, total_fail: 1, total_warn: 1, total_info: 0 },
    };
    const { format, findings } = parseFindingsFile(JSON.stringify(result));
    expect(format).toBe('kube-bench');
    expect(summarize(findings, fixTypeFor)).toMatchObject({
      total: 3,
      failed: 1,
      passed: 1,
      manual: 1,
      supported: 0,
    });
    expect(findings[0]).toMatchObject({
      source: { origin: 'kube-bench', checkId: '4.2.1' },
      resource: { type: 'KubernetesNode', name: 'node', id: 'k8s://default//Node/node' },
      related: ['CIS Kubernetes cis-1.8 4.2.1'],
    });
  });
});

describe('manifests', () => {
  const manifests = `# the shop
apiVersion: v1
kind: Namespace
metadata:
  name: shop
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
spec:
  template:
    spec:
      initContainers:
        - name: migrate
          image: migrate:1
      containers:
        - name: app
          image: app:1
          resources:
            limits: { cpu: 200m, memory: 1Gi }
          securityContext:
            privileged: true
---
apiVersion: v1
kind: Service
metadata:
  name: web
`;

  it('checks pod templates for resources and pod security, namespaces for enforcement', () => {
    const { format, findings } = parseFindingsFile(manifests, { kubeContext: 'staging' });
    expect(format).toBe('k8s-manifest');
    expect(findings).toHaveLength(14);
    const byCheck = Object.fromEntries(findings.map((f) => [f.source.checkId, f]));
    expect(byCheck.podSecurityNotEnforced).toMatchObject({
      status: 'failed',
      resource: { type: 'KubernetesNamespace', id: 'k8s://staging//Namespace/shop' },
    });
    expect(byCheck.cpuRequestsMissing?.source.title).toBe('CPU requests are not set: migrate, app');
    expect(byCheck.cpuLimitsMissing?.source.title).toBe('CPU limits are not set: migrate');
    expect(byCheck.privileged).toMatchObject({
      status: 'failed',
      severity: 'high',
      related: ['PSS baseline'],
    });
    expect(byCheck.hostPorts?.status).toBe('passed');
    expect(byCheck.hostPorts?.source.title).toBe('No host ports');
    expect(findings.filter((f) => f.status === 'failed').map((f) => fixTypeFor(f) ?? null)).toEqual(
      [
        'k8s.enforce-pod-security',
        'k8s.set-resource-limits',
        'k8s.set-resource-limits',
        'k8s.set-resource-limits',
        'k8s.set-resource-limits',
        null,
        null,
        null,
        null,
      ],
    );
  });

  it('reads a JSON kind: List, putting objects without a namespace in default', () => {
    const list = {
      apiVersion: 'v1',
      kind: 'List',
      items: [
        {
          apiVersion: 'v1',
          kind: 'Pod',
          metadata: { name: 'p' },
          spec: { containers: [{ name: 'c', image: 'i' }] },
        },
      ],
    };
    const { format, findings } = parseFindingsFile(JSON.stringify(list));
    expect(format).toBe('k8s-manifest');
    expect(findings[0]?.resource).toMatchObject({
      type: 'KubernetesPod',
      region: 'default',
      id: 'k8s://default/default/Pod/p',
    });
  });

  it('refuses a container without a name, naming the document, the field and the line', () => {
    const error = importRefusal(
      manifests.replace('        - name: app\n          image: app:1', '        - image: app:1'),
    );
    expect(error.message).toBe(
      "document 2, spec.template.spec.containers[0].name: expected the container's name, it is " +
        'missing: Kubernetes refuses a container without one (line 19, column 11); the file does ' +
        'not have the Kubernetes manifest shape there and nothing was imported',
    );
    expect(error.details).toMatchObject({
      format: 'k8s-manifest',
      document: 2,
      line: 19,
      column: 11,
    });
  });

  it('refuses YAML that is not valid, or not Kubernetes objects', () => {
    const broken = importRefusal('apiVersion: v1\nkind: Pod\nmetadata: { name: [\n');
    expect(broken.message).toMatch(/^not valid YAML: .* at line \d+, column \d+/);
    expect(broken.details).toMatchObject({ line: expect.any(Number), column: expect.any(Number) });
    const other = importRefusal('name: value\nother: 1\n---\nkey: 2\n');
    expect(other.message).toMatch(
      /^not a findings file: YAML document 1 is not a Kubernetes object/,
    );
  });

  it('still refuses JSON that is none of the formats, naming the Kubernetes ones too', () => {
    expect(importRefusal('{"Buckets": []}').message).toContain(
      'Kubescape JSON results, Polaris audit output',
    );
  });
});
