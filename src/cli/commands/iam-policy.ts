import type { Command } from 'commander';
import { createCatalog } from '../../catalog/index.ts';
import { iamPolicy, kubernetesRules } from '../../catalog/permissions.ts';
import { UsageError, type CliContext } from '../context.ts';

export function registerIamPolicy(program: Command, ctx: CliContext): void {
  program
    .command('iam-policy')
    .description(
      'print the least-privilege IAM policy (and, with --kubernetes, the RBAC rules) ' +
        'the fixes need; works without a server',
    )
    .option('--fix <type...>', 'only these fixes (default: every fix in the catalog)')
    .option('--kubernetes', 'print the Kubernetes RBAC rules instead, as a ClusterRole')
    .action((o: { fix?: string[]; kubernetes?: boolean }) => {
      const catalog = createCatalog();
      const fixes = (o.fix ?? catalog.all().map((f) => f.type)).map((type) => {
        const fix = catalog.get(type);
        if (!fix) {
          const known = catalog
            .all()
            .map((f) => f.type)
            .join(', ');
          throw new UsageError(`no fix "${type}" in the catalog; known fixes: ${known}`);
        }
        return fix;
      });
      const policy = iamPolicy(fixes);
      if (!o.kubernetes && policy.Statement.length === 0) {
        throw new UsageError(
          'these fixes need no AWS permissions (they act through Kubernetes); use --kubernetes',
        );
      }
      const document = o.kubernetes
        ? {
            apiVersion: 'rbac.authorization.k8s.io/v1',
            kind: 'ClusterRole',
            metadata: { name: 'infraudit-remediation' },
            rules: kubernetesRules(fixes),
          }
        : policy;
      ctx.io.stdout.write(`${JSON.stringify(document, null, 2)}\n`);
    });
}
