import { setTimeout as sleep } from 'node:timers/promises';
import type { Command } from 'commander';
import type { ReadError } from '../../inventory/reads.ts';
import {
  SCAN_INTERVAL_MAX,
  type ScanRun,
  type ScanSettings,
  type ScanUnitProgress,
} from '../../inventory/runs.ts';
import { ApiError } from '../client.ts';
import { CommandFailed, UsageError, type CliContext } from '../context.ts';
import { formatSettings, pageTable, table } from '../output.ts';
import { parseIntInRange, parsePositiveInt } from '../parse.ts';

const unitName = (u: Pick<ScanUnitProgress, 'provider' | 'account' | 'region' | 'service'>) =>
  u.provider === 'kubernetes'
    ? `kubernetes ${u.account}`
    : `aws ${u.account || '(unknown account)'} ${u.region} ${u.service}`;

function formatCouldNotRead(errors: readonly ReadError[]): string {
  if (errors.length === 0) return '';
  const lines = errors.map(
    (e) =>
      `  ${unitName(e)} ${e.operation}${e.resourceId ? ` ${e.resourceId}` : ''}: ${e.code}: ` +
      e.message,
  );
  return `could not read (${errors.length}):\n${lines.join('\n')}\n`;
}

export function formatScan(run: ScanRun): string {
  const lines = [
    `scan ${run.id}: ${run.status} (${run.trigger}, by ${run.actor})`,
    `started: ${run.startedAt}${run.finishedAt ? `  finished: ${run.finishedAt}` : ''}`,
  ];
  if (run.error) lines.push(`error: ${run.error}`);
  const units = table(
    ['PROVIDER', 'ACCOUNT', 'REGION', 'SERVICE', 'STATUS', 'RESOURCES', 'ERRORS'],
    run.units.map((u) => [
      u.provider,
      u.account,
      u.region,
      u.service,
      u.status,
      String(u.resources),
      String(u.errors),
    ]),
  );
  let text = `${lines.join('\n')}\n${units}`;
  const s = run.summary;
  if (s) {
    text +=
      `resources: ${s.resources} (${s.added} new, ${s.updated} seen again, ${s.gone} gone)\n` +
      `findings: ${s.findings.opened} opened, ${s.findings.updated} still open, ` +
      `${s.findings.resolved} resolved, ${s.findings.dismissed} dismissed, ` +
      `${s.findings.excluded} excluded\n` +
      formatCouldNotRead(s.couldNotRead);
  }
  return text;
}

/** Polls a scan until it ends, noting each unit's change of state on stderr. */
async function follow(ctx: CliContext, id: string, timeoutSeconds: number): Promise<ScanRun> {
  const client = ctx.client();
  const deadline = Date.now() + timeoutSeconds * 1000;
  const seen = new Map<string, string>();
  for (;;) {
    const run = await client.get<ScanRun>(`/scans/${encodeURIComponent(id)}`);
    for (const u of run.units) {
      const key = unitName(u);
      const state = `${u.status}:${u.resources}:${u.errors}`;
      if (seen.get(key) === state || u.status === 'pending') continue;
      seen.set(key, state);
      const detail =
        u.status === 'running'
          ? 'reading'
          : `${u.status}, ${u.resources} resources${u.errors ? `, ${u.errors} could not be read` : ''}`;
      ctx.note(`${key}: ${detail}`);
    }
    if (run.status !== 'running') return run;
    if (Date.now() >= deadline) {
      throw new Error(
        `gave up waiting for scan ${id} after ${timeoutSeconds} s; it is still running. ` +
          `Follow it with: infraudit scans show ${id}`,
      );
    }
    await sleep(250);
  }
}

export function registerScan(program: Command, ctx: CliContext): void {
  program
    .command('scan')
    .description(
      'scan every configured account, region and cluster (operator); with --wait, follow ' +
        'it and print the summary',
    )
    .option('--wait', 'follow the scan to its end; exit 1 if it fails')
    .option('--timeout <seconds>', 'how long --wait waits', parsePositiveInt, 1800)
    .action(async (o: { wait?: boolean; timeout: number }) => {
      let id: string;
      try {
        const started = await ctx.client().post<ScanRun>('/scans', { trigger: 'cli' });
        if (!o.wait) {
          ctx.show(
            started,
            (r) => `scan ${r.id}: ${r.status}; follow it with: infraudit scans show ${r.id}\n`,
          );
          return;
        }
        id = started.id;
        ctx.note(`scan ${id} started`);
      } catch (error) {
        // One scan runs at a time: waiting for the running one gives what was asked for.
        const running =
          error instanceof ApiError && error.status === 409 ? error.details?.scanId : undefined;
        if (!o.wait || typeof running !== 'string') throw error;
        id = running;
        ctx.note(`scan ${id} is already running; following it instead of starting another`);
      }
      const run = await follow(ctx, id, o.timeout);
      ctx.show(run, formatScan);
      if (run.status !== 'completed') {
        ctx.io.stderr.write(
          `error: scan ${run.id} ${run.status}: ${run.error ?? 'no reason given'}\n`,
        );
        throw new CommandFailed();
      }
    });

  const scans = program.command('scans').description('scans run so far');
  scans
    .command('list')
    .description('list scans, newest first')
    .option('--limit <n>', 'at most this many', parseIntInRange(1, 500), 20)
    .option('--cursor <cursor>', 'the next page, from a previous listing')
    .action(async (o: { limit: number; cursor?: string }) => {
      const page = await ctx
        .client()
        .get<{ items: ScanRun[]; nextCursor: string | null }>('/scans', {
          limit: o.limit,
          cursor: o.cursor,
        });
      ctx.show(page, (p) => {
        const rows = p.items.map((r) => [
          r.id,
          r.status,
          r.trigger,
          r.startedAt,
          r.summary ? String(r.summary.resources) : '',
          r.summary ? String(r.summary.findings.opened) : '',
          r.summary ? String(r.summary.couldNotRead.length) : '',
        ]);
        return pageTable(
          ['ID', 'STATUS', 'TRIGGER', 'STARTED', 'RESOURCES', 'OPENED', 'UNREAD'],
          rows,
          p.nextCursor,
        );
      });
    });
  scans
    .command('show <id>')
    .description('one scan: progress per account, region and service, and its summary')
    .action(async (id: string) => {
      ctx.show(await ctx.client().get<ScanRun>(`/scans/${encodeURIComponent(id)}`), formatScan);
    });
}

/** `settings scan get|set`: the schedule of scans. */
export function registerScanSettings(settings: Command, ctx: CliContext): void {
  const scan = settings.command('scan').description('the scan schedule');
  scan
    .command('get')
    .description('show the scan schedule')
    .action(async () => {
      ctx.show(await ctx.client().get<ScanSettings>('/settings/scan'), formatSettings);
    });
  scan
    .command('set')
    .description('change the scan schedule (admin)')
    .option(
      '--interval <minutes>',
      `minutes between scheduled scans, 0 (off) to ${SCAN_INTERVAL_MAX}`,
      parseIntInRange(0, SCAN_INTERVAL_MAX),
    )
    .action(async (o: { interval?: number }) => {
      if (o.interval === undefined) throw new UsageError('nothing to change; give --interval');
      const updated = await ctx
        .client({ intervalMinutes: '--interval' })
        .put<ScanSettings>('/settings/scan', { intervalMinutes: o.interval });
      ctx.show(updated, formatSettings);
    });
}
