import type { Fix } from './fix.ts';

export interface IamPolicy {
  Version: '2012-10-17';
  Statement: { Sid: string; Effect: 'Allow'; Action: string[]; Resource: '*' }[];
}

/**
 * The least-privilege IAM policy for a set of fixes: exactly the actions their
 * `permissions` name, one statement per service. Kubernetes fixes state RBAC rules
 * instead and are left to `kubernetesRules`.
 */
export function iamPolicy(fixes: readonly Fix[]): IamPolicy {
  const byService = new Map<string, Set<string>>();
  for (const fix of fixes) {
    for (const permission of fix.permissions) {
      const match = /^([a-z0-9-]+):[A-Za-z0-9*]+$/.exec(permission);
      if (!match) continue;
      const service = match[1] as string;
      if (!byService.has(service)) byService.set(service, new Set());
      byService.get(service)!.add(permission);
    }
  }
  const services = [...byService.keys()].sort();
  return {
    Version: '2012-10-17',
    Statement: services.map((service) => ({
      Sid: `InfraAudit${pascal(service)}`,
      Effect: 'Allow',
      Action: [...byService.get(service)!].sort(),
      Resource: '*',
    })),
  };
}

/** `s3` -> `S3`, `resource-groups` -> `ResourceGroups`: IAM statement ids are alphanumeric. */
function pascal(service: string): string {
  return service.replace(/(^|-)([a-z0-9])/g, (_, __, c: string) => c.toUpperCase());
}

export interface RbacRule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
}

/**
 * RBAC rules for the Kubernetes fixes, from permissions written `verb resource.group`
 * (`patch deployments.apps`; no group for the core API: `get pods`).
 */
export function kubernetesRules(fixes: readonly Fix[]): RbacRule[] {
  const verbs = new Map<string, Set<string>>();
  for (const fix of fixes) {
    for (const permission of fix.permissions) {
      const match = /^([a-z]+) ([a-z]+)(?:\.([a-z0-9.-]+))?$/.exec(permission);
      if (!match) continue;
      const [, verb, resource, group = ''] = match as unknown as [string, string, string, string?];
      const key = `${group}/${resource}`;
      if (!verbs.has(key)) verbs.set(key, new Set());
      verbs.get(key)!.add(verb);
    }
  }
  return [...verbs.keys()].sort().map((key) => {
    const [group, resource] = key.split('/') as [string, string];
    return { apiGroups: [group], resources: [resource], verbs: [...verbs.get(key)!].sort() };
  });
}
