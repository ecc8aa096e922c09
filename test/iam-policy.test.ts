import { describe, expect, it } from 'vitest';
import { createCatalog } from '../src/catalog/index.ts';
import { iamPolicy, kubernetesRules } from '../src/catalog/permissions.ts';
import { cli } from './helpers/cli.ts';

const catalog = createCatalog();

describe('least-privilege permissions', () => {
  it('grants exactly the actions the chosen fixes name, one statement per service', () => {
    const policy = iamPolicy([catalog.get('s3.enable-versioning')!]);
    expect(policy).toEqual({
      Version: '2012-10-17',
      Statement: [
        {
          Sid: 'InfraAuditS3',
          Effect: 'Allow',
          Action: ['s3:GetBucketVersioning', 's3:PutBucketVersioning'],
          Resource: '*',
        },
      ],
    });
  });

  it('covers every permission of every AWS fix in the catalog', () => {
    const granted = new Set(iamPolicy(catalog.all()).Statement.flatMap((s) => s.Action));
    for (const fix of catalog.all()) {
      for (const permission of fix.permissions) {
        if (permission.includes(':')) expect(granted).toContain(permission);
      }
    }
  });

  it('turns Kubernetes permissions into RBAC rules', () => {
    const fix = {
      ...catalog.all()[0]!,
      permissions: ['patch deployments.apps', 'get pods', 'get deployments.apps'],
    };
    expect(kubernetesRules([fix])).toEqual([
      { apiGroups: [''], resources: ['pods'], verbs: ['get'] },
      { apiGroups: ['apps'], resources: ['deployments'], verbs: ['get', 'patch'] },
    ]);
  });

  it('prints the policy from the CLI without a server, and refuses an unknown fix', async () => {
    const out = await cli(['iam-policy', '--fix', 's3.block-public-access']);
    expect(out.code).toBe(0);
    expect(JSON.parse(out.stdout).Statement[0].Action).toEqual([
      's3:GetBucketPublicAccessBlock',
      's3:PutBucketPublicAccessBlock',
    ]);
    const bad = await cli(['iam-policy', '--fix', 's3.nope']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(
      /no fix "s3.nope" in the catalog; known fixes: .*s3.enable-versioning/,
    );
  });
});

describe('iam-policy for fixes that need no AWS permission', () => {
  it('says to use --kubernetes instead of printing an empty policy', async () => {
    const out = await cli(['iam-policy', '--fix', 'k8s.set-resource-limits']);
    expect(out.code).toBe(2);
    expect(out.stderr).toMatch(/need no AWS permissions .* use --kubernetes/);
    const rbac = await cli(['iam-policy', '--kubernetes', '--fix', 'k8s.set-resource-limits']);
    expect(rbac.code).toBe(0);
    expect(JSON.parse(rbac.stdout)).toMatchObject({ kind: 'ClusterRole' });
    expect(JSON.parse(rbac.stdout).rules.length).toBeGreaterThan(0);
  });
});
