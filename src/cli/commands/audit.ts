import type { Command } from 'commander';
import type { AuditEntry, AuditVerifyResult } from '../../store/audit.ts';
import type { Page } from '../../store/store.ts';
import { CommandFailed, type CliContext } from '../context.ts';
import { table } from '../output.ts';
import { parseIntInRange } from '../parse.ts';

interface ListOptions {
  action?: string;
  actor?: string;
  type?: string;
  since?: string;
  until?: string;
  order?: 'asc' | 'desc';
  limit?: number;
  cursor?: string;
}

export function registerAudit(program: Command, ctx: CliContext): void {
  const audit = program.command('audit').description('the audit log: read, verify, export');

  audit
    .command('list')
    .description('audit log entries, newest first, filtered and paged')
    .option('--action <id>', 'entries of one action')
    .option('--actor <actor>', 'entries by one actor, e.g. token:ci or user:alice')
    .option('--type <types>', 'comma-separated types: transition, comment, request, settings, ...')
    .option('--since <time>', 'at or after this ISO-8601 time')
    .option('--until <time>', 'before this ISO-8601 time')
    .option('--order <order>', 'asc or desc (default desc)')
    .option('--limit <n>', 'entries per page, 1 to 1000', parseIntInRange(1, 1000))
    .option('--cursor <cursor>', "the previous page's nextCursor")
    .action(async (o: ListOptions) => {
      const page = await ctx
        .client({ actionId: '--action', limit: '--limit', cursor: '--cursor', order: '--order' })
        .get<Page<AuditEntry>>('/audit', {
          actionId: o.action,
          actor: o.actor,
          type: o.type,
          since: o.since,
          until: o.until,
          order: o.order,
          limit: o.limit,
          cursor: o.cursor,
        });
      ctx.show(page, (p) => {
        const rows = p.items.map((e) => [
          String(e.seq),
          e.at,
          e.actor,
          e.type,
          e.actionId ?? '-',
          e.from || e.to ? `${e.from ?? ''} -> ${e.to ?? ''}` : '',
          e.comment ?? '',
        ]);
        const body = table(['SEQ', 'AT', 'ACTOR', 'TYPE', 'ACTION', 'STATUS', 'COMMENT'], rows);
        return p.nextCursor ? `${body}next page: --cursor ${p.nextCursor}\n` : body;
      });
    });

  audit
    .command('verify')
    .description('walk the hash chain; exit 1 at the first edited, deleted or inserted entry')
    .action(async () => {
      const result = await ctx.client().get<AuditVerifyResult>('/audit/verify');
      ctx.show(result, (r) =>
        r.ok
          ? `audit log verified: ${r.entries} entries, head ${r.head.seq} ${r.head.hash}\n`
          : `audit log BROKEN (${r.problem!.kind}): ${r.problem!.message}\n`,
      );
      if (!result.ok) throw new CommandFailed();
    });

  audit
    .command('export')
    .description('the audit log as JSON lines on stdout, oldest first: audit export > log.jsonl')
    .option('--since <time>', 'entries at or after this ISO-8601 time')
    .option('--until <time>', 'entries before this ISO-8601 time')
    .action(async (o: { since?: string; until?: string }) => {
      const decoder = new TextDecoder();
      await ctx
        .client()
        .download('/audit/export', { since: o.since, until: o.until }, (chunk) =>
          ctx.io.stdout.write(decoder.decode(chunk, { stream: true })),
        );
      ctx.io.stdout.write(decoder.decode());
    });
}
