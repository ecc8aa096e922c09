import type { Command } from 'commander';
import type { ActionSummary } from '../../domain/action.ts';
import type { FindingSummary } from '../../domain/finding.ts';
import type { ResourceSummary, StoredResource } from '../../inventory/runs.ts';
import type { CliContext } from '../context.ts';
import { pageTable, table } from '../output.ts';
import { parseIntInRange } from '../parse.ts';

interface ListOptions {
  provider?: string;
  account?: string;
  region?: string;
  type?: string;
  q?: string;
  includeGone?: boolean;
  limit: number;
  cursor?: string;
}

interface Shown {
  resource: StoredResource;
  findings: FindingSummary[];
  actions: ActionSummary[];
}

function formatShown(shown: Shown): string {
  const r = shown.resource;
  const tags = Object.entries(r.tags)
    .map(([k, v]) => `${k}=${v}`)
    .join(', ');
  const head = [
    `${r.type} ${r.name}`,
    `id: ${r.id}`,
    `${r.provider === 'aws' ? 'account' : 'context'}: ${r.account}  ` +
      `${r.provider === 'aws' ? 'region' : 'namespace'}: ${r.region || '-'}`,
    `first seen: ${r.firstSeen}  last seen: ${r.lastSeen}${r.goneAt ? `  gone: ${r.goneAt}` : ''}`,
    `tags: ${tags || '-'}`,
    'config:',
    JSON.stringify(r.config, null, 2)
      .split('\n')
      .map((l) => `  ${l}`)
      .join('\n'),
  ].join('\n');
  const findings = shown.findings.length
    ? table(
        ['FINDING', 'KIND', 'SEVERITY', 'STATUS', 'TITLE'],
        shown.findings.map((f) => [f.id, f.kind, f.severity, f.status, f.title]),
      )
    : 'no findings\n';
  const actions = shown.actions.length
    ? table(
        ['ACTION', 'STATUS', 'TYPE', 'TITLE'],
        shown.actions.map((a) => [a.id, a.status, a.type, a.title]),
      )
    : 'no actions\n';
  return `${head}\n${findings}${actions}`;
}

export function registerResources(program: Command, ctx: CliContext): void {
  const resources = program
    .command('resources')
    .description('the inventory: resources scans discovered');

  resources
    .command('list')
    .description('list discovered resources, by id')
    .option('--provider <providers>', 'aws or kubernetes, comma-separated')
    .option('--account <accounts>', 'AWS account ids or kube contexts, comma-separated')
    .option('--region <regions>', 'regions or namespaces, comma-separated')
    .option('--type <types>', 'resource types, e.g. AwsS3Bucket, comma-separated')
    .option('--q <text>', 'text in the id or name')
    .option('--include-gone', 'also list resources a complete scan no longer found')
    .option('--limit <n>', 'at most this many', parseIntInRange(1, 500), 50)
    .option('--cursor <cursor>', 'the next page, from a previous listing')
    .action(async (o: ListOptions) => {
      const page = await ctx
        .client({ q: '--q', includeGone: '--include-gone' })
        .get<{ items: ResourceSummary[]; nextCursor: string | null }>('/resources', {
          provider: o.provider,
          account: o.account,
          region: o.region,
          type: o.type,
          q: o.q,
          includeGone: o.includeGone ? 'true' : undefined,
          limit: o.limit,
          cursor: o.cursor,
        });
      ctx.show(page, (p) => {
        const rows = p.items.map((r) => [
          r.type,
          r.account,
          r.region,
          r.name,
          r.goneAt ? `gone ${r.goneAt}` : r.lastSeen,
          r.id,
        ]);
        return pageTable(
          ['TYPE', 'ACCOUNT', 'REGION', 'NAME', 'LAST SEEN', 'ID'],
          rows,
          p.nextCursor,
        );
      });
    });

  resources
    .command('show <id>')
    .description('one resource: its configuration as last read, its findings and actions')
    .action(async (id: string) => {
      const shown = await ctx.client().get<Shown>(`/resources/${encodeURIComponent(id)}`);
      ctx.show(shown, formatShown);
    });
}
