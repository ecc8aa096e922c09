import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { type Command, Option } from 'commander';
import type { ActionSummary, AuditEvent } from '../../domain/action.ts';
import {
  EXCLUSION_SCOPES,
  type Exclusion,
  type Finding,
  FINDING_KINDS,
  type FindingSummary,
  STORED_FINDING_STATUSES,
} from '../../domain/finding.ts';
import { SEVERITIES } from '../../domain/status.ts';
import type { ImportResult } from '../../service/import.ts';
import { FINDING_SORTS } from '../../store/findings.ts';
import { MAX_PAGE } from '../../store/list.ts';
import type { Page } from '../../store/store.ts';
import { UsageError, type CliContext } from '../context.ts';
import { formatImport, table } from '../output.ts';
import { parseIntInRange, parseListOf } from '../parse.ts';

const LIST_FLAGS = {
  kind: '--kind',
  severity: '--severity',
  status: '--status',
  provider: '--provider',
  resourceType: '--resource-type',
  account: '--account',
  q: '--search',
  sort: '--sort',
  order: '--order',
  limit: '--limit',
  cursor: '--cursor',
};

const path = (id: string) => `/findings/${encodeURIComponent(id)}`;

export function registerFindings(program: Command, ctx: CliContext): void {
  const findings = program
    .command('findings')
    .description('scanner imports, drift and recommendations: the stored findings');

  findings
    .command('import')
    .description(
      'import a findings file: Prowler OCSF JSON, Security Hub ASFF, kubescape, Polaris, ' +
        'trivy-operator, kube-bench or Kubernetes manifests (operator). The file is streamed: ' +
        'a JSON array of any size is read one finding at a time, stored in batches of 1,000',
    )
    .argument('<file>', 'the file, or - for standard input')
    .option(
      '--kube-context <name>',
      'the kubeconfig context Kubernetes findings belong to (default: default)',
    )
    .option(
      '--progress',
      'print progress on stderr whatever the file size (default: for files of 10 MiB or more); ' +
        'for standard input, every 10 MiB',
    )
    .action(async (file: string, o: { kubeContext?: string; progress?: boolean }) => {
      const body =
        file === '-'
          ? stdinWithProgress(ctx, o.progress === true)
          : await fileWithProgress(ctx, ctx.resolvePath(file), o.progress === true);
      const query = o.kubeContext ? `?kubeContext=${encodeURIComponent(o.kubeContext)}` : '';
      const result = await ctx
        .client()
        .postStream<ImportResult>(`/findings/import/stream${query}`, body, 'application/json');
      ctx.show(result, formatImport);
    });

  findings
    .command('list')
    .description('list stored findings; filters take comma-separated values')
    .option('--kind <list>', `any of ${FINDING_KINDS.join(', ')}`, parseListOf(FINDING_KINDS))
    .option('--severity <list>', `any of ${SEVERITIES.join(', ')}`, parseListOf(SEVERITIES))
    .option(
      '--status <list>',
      `any of ${STORED_FINDING_STATUSES.join(', ')}`,
      parseListOf(STORED_FINDING_STATUSES),
    )
    .option('--provider <list>', 'aws, kubernetes')
    .option('--resource-type <list>', 'e.g. AwsS3Bucket')
    .option('--account <list>', 'AWS account ids or kube context names')
    .option('--search <text>', 'text in the title, check id, resource id or name')
    .addOption(new Option('--sort <field>', 'sort field').choices(FINDING_SORTS))
    .addOption(new Option('--order <order>', 'sort order').choices(['asc', 'desc']))
    .option('--limit <n>', `page size, 1 to ${MAX_PAGE}`, parseIntInRange(1, MAX_PAGE))
    .option('--cursor <cursor>', 'the next page, as printed after a page')
    .action(async (o: Record<string, string | number | undefined>) => {
      const page = await ctx.client(LIST_FLAGS).get<Page<FindingSummary>>('/findings', {
        kind: o.kind,
        severity: o.severity,
        status: o.status,
        provider: o.provider,
        resourceType: o.resourceType,
        account: o.account,
        q: o.search,
        sort: o.sort,
        order: o.order,
        limit: o.limit,
        cursor: o.cursor,
      });
      ctx.show(page, formatFindingList);
    });

  findings
    .command('show')
    .description('one finding: evidence or drift diff, its actions and its history')
    .argument('<id>', 'finding id')
    .action(async (id: string) => {
      const detail = await ctx.client().get<Detail>(path(id));
      ctx.show({ ...detail.finding, actions: detail.actions, events: detail.events }, () =>
        formatFinding(detail),
      );
    });

  findings
    .command('remediate')
    .description('create the action that fixes a finding, from its catalog fix (operator)')
    .argument('<id>', 'finding id')
    .action(async (id: string) => {
      const result = await ctx
        .client()
        .post<{ action: ActionSummary; created: boolean }>(`${path(id)}/remediate`);
      ctx.show(
        result,
        (r) =>
          `${r.created ? 'created' : 'linked to open'} action ${r.action.id} ` +
          `(${r.action.type}, ${r.action.status})\n`,
      );
    });

  findings
    .command('dismiss')
    .description(
      'dismiss a finding with a reason; later scans and imports keep it dismissed (admin)',
    )
    .argument('<id>', 'finding id')
    .requiredOption('--reason <text>', 'why, for the audit trail')
    .action(async (id: string, o: { reason: string }) => {
      const { finding } = await ctx
        .client({ reason: '--reason' })
        .post<{ finding: Finding }>(`${path(id)}/dismiss`, { reason: o.reason });
      ctx.show(finding, (f) => `finding ${f.id} dismissed: ${f.dismissedReason ?? ''}\n`);
    });

  findings
    .command('reopen')
    .description('reopen a dismissed finding (admin)')
    .argument('<id>', 'finding id')
    .action(async (id: string) => {
      const { finding } = await ctx.client().post<{ finding: Finding }>(`${path(id)}/reopen`);
      ctx.show(finding, (f) => `finding ${f.id} is ${f.status}\n`);
    });

  const exclusions = program
    .command('exclusions')
    .description('keep findings out of the open list by resource, tag or account');

  exclusions
    .command('list')
    .description('list the exclusions')
    .action(async () => {
      const { items } = await ctx.client().get<{ items: Exclusion[] }>('/exclusions');
      ctx.show(items, formatExclusions);
    });

  exclusions
    .command('add')
    .description(
      'exclude findings: matching open ones become excluded now, later ones are stored ' +
        'excluded (admin)',
    )
    .addOption(
      new Option('--scope <scope>', 'what to match')
        .choices(EXCLUSION_SCOPES)
        .makeOptionMandatory(),
    )
    .requiredOption(
      '--value <value>',
      'the resource id as findings show it (an ARN, or k8s://<context>/<namespace>/<Kind>/' +
        '<name>), the tag as key=value, or the account id (or kube context)',
    )
    .requiredOption('--reason <text>', 'why, for the audit trail')
    .action(async (o: { scope: string; value: string; reason: string }) => {
      const result = await ctx
        .client({ scope: '--scope', value: '--value', reason: '--reason' })
        .post<{ exclusion: Exclusion; excluded: number }>('/exclusions', {
          scope: o.scope,
          value: o.value,
          reason: o.reason,
        });
      ctx.show(
        result,
        (r) => `exclusion ${r.exclusion.id} added; ${r.excluded} open finding(s) now excluded\n`,
      );
    });

  exclusions
    .command('remove')
    .description('remove an exclusion; the findings it kept out open again (admin)')
    .argument('<id>', 'exclusion id')
    .action(async (id: string) => {
      const result = await ctx
        .client()
        .delete<{ exclusion: Exclusion; reopened: number }>(
          `/exclusions/${encodeURIComponent(id)}`,
        );
      ctx.show(
        result,
        (r) => `exclusion ${r.exclusion.id} removed; ${r.reopened} finding(s) open again\n`,
      );
    });
}

type Detail = { finding: Finding; actions: ActionSummary[]; events: AuditEvent[] };

function formatFindingList(page: Page<FindingSummary>): string {
  if (page.items.length === 0) return 'no findings match\n';
  const rows = page.items.map((f) => [
    f.id,
    f.kind,
    f.status,
    f.severity,
    f.checkId,
    f.resource.name || f.resource.id,
  ]);
  const out = table(['ID', 'KIND', 'STATUS', 'SEVERITY', 'CHECK', 'RESOURCE'], rows);
  return page.nextCursor ? `${out}next page: --cursor ${page.nextCursor}\n` : out;
}

/** Why a finding is dismissed or resolved, when it says. */
function statusReason(f: Detail['finding']): string {
  if (f.dismissedReason) return ` (${f.dismissedReason}, by ${f.dismissedBy})`;
  return f.status === 'resolved' && f.resolution ? ` (${f.resolution})` : '';
}

function formatFinding(detail: Detail): string {
  const { finding: f, actions, events } = detail;
  const lines = [
    `${f.title}`,
    `id:        ${f.id}`,
    `kind:      ${f.kind}${f.driftType ? ` (${f.driftType})` : ''}`,
    `status:    ${f.status}${statusReason(f)}`,
    `severity:  ${f.severity}`,
    `check:     ${f.origin} ${f.checkId}`,
    `standard:  ${f.standard ?? '-'}${f.controlIds.length ? ` [${f.controlIds.join(', ')}]` : ''}`,
    `resource:  ${f.resource.type} ${f.resource.id}`,
    `account:   ${f.resource.account || '-'}  region: ${f.resource.region || '-'}`,
    `seen:      ${f.firstSeen} .. ${f.lastSeen}${f.resolvedAt ? `, resolved ${f.resolvedAt}` : ''}`,
    `fix:       ${f.remedy ? f.remedy.type : 'none in the catalog'}`,
  ];
  if (f.description) lines.push('', f.description);
  const changes = (f.evidence as { changes?: unknown[] } | null)?.changes;
  if (Array.isArray(changes)) {
    lines.push('', 'changes:');
    for (const change of changes) lines.push(`  ${describeChange(change)}`);
  } else if (f.evidence !== null && f.evidence !== undefined) {
    lines.push('', 'evidence:', JSON.stringify(f.evidence, null, 2));
  }
  lines.push('', actions.length ? 'actions:' : 'actions: none');
  for (const a of actions) lines.push(`  ${a.id}  ${a.status}  ${a.type}`);
  if (events.length) lines.push('', 'history:');
  for (const e of events) {
    const change = (e.data as { change?: string } | null)?.change ?? e.type;
    lines.push(`  ${e.at}  ${e.actor}  ${change}${e.comment ? `: ${e.comment}` : ''}`);
  }
  return `${lines.join('\n')}\n`;
}

/** A drift change as `path: before -> after`, whatever else it carries. */
function describeChange(change: unknown): string {
  if (typeof change !== 'object' || change === null) return JSON.stringify(change);
  const c = change as Record<string, unknown>;
  const where = Array.isArray(c.path) ? c.path.join('.') : String(c.path ?? c.attribute ?? '');
  if ('before' in c || 'after' in c) {
    return `${where}: ${JSON.stringify(c.before)} -> ${JSON.stringify(c.after)}`;
  }
  return JSON.stringify(change);
}

function formatExclusions(items: Exclusion[]): string {
  if (items.length === 0) return 'no exclusions\n';
  return table(
    ['ID', 'SCOPE', 'VALUE', 'BY', 'REASON'],
    items.map((e) => [e.id, e.scope, e.value, e.createdBy, e.reason]),
  );
}

/**
 * Standard input as it is read. Its size is not known beforehand, so with `--progress`
 * the bytes sent are noted every 10 MiB rather than every tenth.
 */
async function* stdinWithProgress(ctx: CliContext, progress: boolean): AsyncIterable<Uint8Array> {
  let sent = 0;
  for await (const chunk of process.stdin) {
    const before = Math.floor(sent / PROGRESS_FROM_BYTES);
    sent += (chunk as Buffer).length;
    if (progress && Math.floor(sent / PROGRESS_FROM_BYTES) > before) {
      ctx.note(`sent ${mebibytes(sent)} from standard input`);
    }
    yield chunk as Buffer;
  }
  if (progress) ctx.note(`sent ${mebibytes(sent)} from standard input (all of it)`);
}

/**
 * The file's bytes as they are read, with a progress note on stderr every tenth of the
 * file: the server reads the upload as it stores it, so the bytes sent follow the import.
 */
async function fileWithProgress(
  ctx: CliContext,
  file: string,
  always: boolean,
): Promise<AsyncIterable<Uint8Array>> {
  let size: number;
  try {
    const info = await stat(file);
    if (!info.isFile()) throw Object.assign(new Error('not a file'), { code: 'not a file' });
    size = info.size;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'unreadable';
    throw new UsageError(`cannot read the findings file ${file} (${code}); check the path`);
  }
  const showProgress = always || size >= PROGRESS_FROM_BYTES;
  return (async function* () {
    let sent = 0;
    let shown = 0;
    for await (const chunk of createReadStream(file)) {
      sent += (chunk as Buffer).length;
      const tenth = Math.floor((sent / size) * 10);
      if (showProgress && tenth > shown) {
        shown = tenth;
        ctx.note(`sent ${mebibytes(sent)} of ${mebibytes(size)} (${tenth * 10}%)`);
      }
      yield chunk as Buffer;
    }
  })();
}

/** Files smaller than this import in a moment; progress would only be noise. */
const PROGRESS_FROM_BYTES = 10 * 1024 * 1024;

const mebibytes = (bytes: number) => `${(bytes / (1024 * 1024)).toFixed(1)} MiB`;
