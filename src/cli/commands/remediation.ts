import { Command, Option } from 'commander';
import type { Action, ActionSummary, AuditEvent } from '../../domain/action.ts';
import { SEVERITIES, SOURCE_KINDS, STATUSES } from '../../domain/status.ts';
import { MAX_PAGE } from '../../store/list.ts';
import type { Page } from '../../store/store.ts';
import { SORT_FIELDS } from '../../store/store.ts';
import { executeAndCollect, type ExecuteFlags } from '../collect-secret.ts';
import { CommandFailed, type CliContext } from '../context.ts';
import { formatAction, formatActionLine, formatActionList } from '../output.ts';
import { parseIntInRange, parseListOf, parsePositiveInt } from '../parse.ts';
import { waitForSettled } from '../wait.ts';
import type { Waiting } from '../../domain/maintenance.ts';

const path = (id: string, op = '') => `/actions/${encodeURIComponent(id)}${op ? `/${op}` : ''}`;

/** Fields of POST /actions by the `suggest` flag that sets each. */
const SUGGEST_FLAGS = {
  type: '--type',
  'resource.id': '--resource-id',
  'resource.type': '--resource-type',
  'resource.name': '--resource-name',
  'resource.account': '--account',
  'resource.region': '--region',
  kind: '--kind',
  severity: '--severity',
  findingId: '--finding-id',
  title: '--title',
  origin: '--origin',
  checkId: '--check-id',
};

/** Query parameters of GET /actions by the `list` flag that sets each. */
const LIST_FLAGS = {
  status: '--status',
  severity: '--severity',
  sourceKind: '--source-kind',
  resourceType: '--resource-type',
  provider: '--provider',
  q: '--search',
  sort: '--sort',
  order: '--order',
  limit: '--limit',
  cursor: '--cursor',
};

export function registerRemediation(program: Command, ctx: CliContext): void {
  const remediation = program
    .command('remediation')
    .description('list, inspect and act on remediation actions');

  remediation
    .command('list')
    .description('list actions; filters take comma-separated values')
    .option('--status <list>', 'e.g. pending_approval,failed', parseListOf(STATUSES))
    .option('--severity <list>', `any of ${SEVERITIES.join(', ')}`, parseListOf(SEVERITIES))
    .option('--source-kind <list>', `any of ${SOURCE_KINDS.join(', ')}`, parseListOf(SOURCE_KINDS))
    .option('--resource-type <list>', 'e.g. AwsS3Bucket')
    .option('--provider <list>', 'e.g. aws')
    .option('--search <text>', 'text in the title, resource id or name')
    .addOption(new Option('--sort <field>', 'sort field').choices(SORT_FIELDS))
    .addOption(new Option('--order <order>', 'sort order').choices(['asc', 'desc']))
    .option('--limit <n>', `page size, 1 to ${MAX_PAGE}`, parseIntInRange(1, MAX_PAGE))
    .option('--cursor <cursor>', 'the next page, as printed after a page')
    .action(async (o: Record<string, string | number | undefined>) => {
      const page = await ctx.client(LIST_FLAGS).get<Page<ActionSummary>>('/actions', {
        status: o.status,
        severity: o.severity,
        sourceKind: o.sourceKind,
        resourceType: o.resourceType,
        provider: o.provider,
        q: o.search,
        sort: o.sort,
        order: o.order,
        limit: o.limit,
        cursor: o.cursor,
      });
      ctx.show(page, formatActionList);
    });

  remediation
    .command('show')
    .description('one action: plan before and after, reversibility, warnings, snapshot, timeline')
    .argument('<id>', 'action id')
    .action(async (id: string) => {
      const detail = await ctx
        .client()
        .get<{ action: Action; events: AuditEvent[]; waiting?: Waiting | null }>(path(id));
      ctx.show(
        detail,
        (d) => (d.waiting ? `${d.waiting.message}\n` : '') + formatAction(d.action, d.events),
      );
    });

  remediation
    .command('suggest')
    .description('suggest an action for a finding named by hand')
    .requiredOption('--type <fix>', 'catalog fix id, e.g. s3.enable-default-encryption')
    .requiredOption('--resource-id <id>', 'the resource ARN')
    .requiredOption('--resource-type <type>', 'Security Hub resource type, e.g. AwsS3Bucket')
    .option('--resource-name <name>', 'default: the last part of the ARN')
    .option('--account <id>', 'default: from the ARN')
    .option('--region <region>', 'default: from the ARN')
    .addOption(new Option('--kind <kind>', 'what found it').choices(SOURCE_KINDS))
    .addOption(new Option('--severity <severity>', 'default medium').choices(SEVERITIES))
    .option('--finding-id <id>', 'the finding id in its origin')
    .option('--title <title>', 'the finding title')
    .option('--origin <origin>', 'where the finding came from, default manual')
    .option('--check-id <id>', 'the check or control id')
    .action(async (o: Record<string, string | undefined>) => {
      const resource = {
        type: o.resourceType,
        id: o.resourceId,
        ...(o.resourceName ? { name: o.resourceName } : {}),
        ...(o.account ? { account: o.account } : {}),
        ...(o.region ? { region: o.region } : {}),
      };
      const optional = ['kind', 'severity', 'findingId', 'title', 'origin', 'checkId'] as const;
      const body: Record<string, unknown> = { type: o.type, resource };
      for (const key of optional) if (o[key]) body[key] = o[key];
      const result = await ctx
        .client(SUGGEST_FLAGS)
        .post<{ action: Action; created: boolean }>('/actions', body);
      ctx.show(
        result,
        (r) =>
          (r.created ? '' : 'already open for this resource; linked to:\n') +
          formatActionLine(r.action),
      );
    });

  remediation
    .command('approve')
    .description('approve a pending action (admin)')
    .argument('<id>', 'action id')
    .option('--comment <text>', 'why, for the audit trail')
    .action(async (id: string, o: { comment?: string }) => {
      await change(ctx, id, 'approve', o.comment);
    });

  remediation
    .command('reject')
    .description('reject an action (admin); a comment is required')
    .argument('<id>', 'action id')
    .requiredOption('--comment <text>', 'why, for the audit trail')
    .action(async (id: string, o: { comment: string }) => {
      await change(ctx, id, 'reject', o.comment);
    });

  const queued = (name: string, op: string, expected: Action['status'], description: string) =>
    remediation
      .command(name)
      .description(description)
      .argument('<id>', 'action id')
      .option('--comment <text>', 'why, for the audit trail')
      .option('--wait', `wait until the action settles; exit 1 unless it ends ${expected}`)
      .option('--timeout <seconds>', 'how long --wait waits', parsePositiveInt, 300)
      .action(
        async (
          id: string,
          o: { comment?: string; wait?: boolean; timeout: number; force?: boolean },
        ) => {
          await change(ctx, id, op, o.comment, o.force ? { force: true } : {});
          if (o.wait) await settle(ctx, id, expected, o.timeout);
        },
      );

  const executing = (op: 'execute' | 'retry', description: string) =>
    remediation
      .command(op)
      .description(description)
      .argument('<id>', 'action id')
      .option('--comment <text>', 'why, for the audit trail')
      .option('--wait', 'wait until the action settles; exit 1 unless it ends completed')
      .option('--timeout <seconds>', 'how long --wait waits', parsePositiveInt, 300)
      .option(
        '--secret-file <path>',
        'with --wait: write a secret the fix creates (a new access key) to this new file, ' +
          'mode 0600, instead of stdout',
      )
      .action((id: string, o: ExecuteFlags) => executeAndCollect(ctx, id, op, o));

  executing('execute', 'queue the fix for the engine (admin); a fix making a secret needs --wait');
  executing('retry', 'queue a failed action again (admin); a fix making a secret needs --wait');
  queued(
    'rollback',
    'rollback',
    'rolled_back',
    'undo a completed fix within the window (admin)',
  ).option(
    '--force',
    'restore the snapshot even over a change made after the fix (needs --comment); the ' +
      'audit trail keeps what was overwritten',
  );

  remediation
    .command('comment')
    .description('add a comment to the audit trail (operator)')
    .argument('<id>', 'action id')
    .argument('<text>', 'the comment')
    .action(async (id: string, text: string) => {
      const result = await ctx.client().post<{ event: AuditEvent }>(path(id, 'comments'), { text });
      ctx.show(result, (r) => `comment added to action ${id} at ${r.event.at}\n`);
    });
}

async function change(
  ctx: CliContext,
  id: string,
  op: string,
  comment?: string,
  extra: Record<string, unknown> = {},
): Promise<void> {
  const body = { ...(comment === undefined ? {} : { comment }), ...extra };
  const { action } = await ctx.client().post<{ action: Action }>(path(id, op), body);
  ctx.show({ action }, (r) => formatActionLine(r.action));
}

async function settle(
  ctx: CliContext,
  id: string,
  expected: Action['status'],
  timeoutSeconds: number,
): Promise<void> {
  const action = await waitForSettled(ctx.client(), id, {
    timeoutMs: timeoutSeconds * 1000,
    onProgress: (a) => {
      ctx.note(`action ${a.id}: ${a.status}${a.requestedOp ? ` (${a.requestedOp} queued)` : ''}`);
    },
  });
  ctx.show({ action }, (r) => formatActionLine(r.action));
  if (action.status !== expected) {
    const reason = action.error ? `: ${action.error.message}` : '';
    ctx.io.stderr.write(`error: action ${id} ended ${action.status}, not ${expected}${reason}\n`);
    throw new CommandFailed();
  }
}
