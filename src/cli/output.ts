import type { Action, ActionSummary, AuditEvent, PlannedCall } from '../domain/action.ts';
import type { FixOptions } from '../domain/fix-options.ts';
import type { RemediationSettings } from '../domain/settings.ts';
import type { ImportResult } from '../service/import.ts';
import type { Page } from '../store/store.ts';

/** Columns padded to their widest cell; the last column is left ragged. */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((title, i) =>
    Math.max(title.length, ...rows.map((row) => (row[i] ?? '').length)),
  );
  const line = (cells: string[]) =>
    cells
      .map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n') + '\n';
}

/** A table of one page, with the option that lists the next page when there is one. */
export function pageTable(header: string[], rows: string[][], nextCursor: string | null): string {
  const out = table(header, rows);
  return nextCursor ? `${out}more: --cursor ${nextCursor}\n` : out;
}

export function formatActionList(page: Page<ActionSummary>): string {
  if (page.items.length === 0) return 'no actions match\n';
  const rows = page.items.map((a) => [
    a.id,
    a.status + (a.requestedOp ? ` (${a.requestedOp} requested)` : ''),
    a.severity,
    a.type,
    a.source.kind,
    a.resource.name || a.resource.id,
  ]);
  return pageTable(
    ['ID', 'STATUS', 'SEVERITY', 'TYPE', 'SOURCE', 'RESOURCE'],
    rows,
    page.nextCursor,
  );
}

/** One line saying where an action stands, after a command changed it. */
export function formatActionLine(action: Action): string {
  const requested = action.requestedOp ? `, ${action.requestedOp} requested` : '';
  return `action ${action.id}: ${action.status}${requested} (${action.title})\n`;
}

export function formatAction(action: Action, events: AuditEvent[]): string {
  const out: string[] = [action.title, ''];
  const field = (name: string, value: string) => out.push(`${`${name}:`.padEnd(16)}${value}`);
  const r = action.resource;
  field('id', action.id);
  field('type', action.type);
  field('status', action.status);
  field('severity', `${action.severity} (risk of the change: ${action.risk})`);
  field('resource', `${r.id} (${r.type}, ${r.provider} ${r.account || '-'} ${r.region || '-'})`);
  field('source', `${action.source.kind}: ${action.source.origin} ${action.source.checkId}`);
  field('finding', `${action.source.title} [${action.source.findingId}]`);
  if (action.requestedOp) field('requested', `${action.requestedOp} by ${action.requestedBy}`);
  if (action.approvedBy) field('approved', `by ${action.approvedBy} at ${action.approvedAt}`);
  if (action.completedAt) field('completed', action.completedAt);
  if (action.rollbackDeadline) field('rollback until', action.rollbackDeadline);
  field('attempt', String(action.attempt));

  const plan = action.plan;
  out.push('', `Plan${action.plannedAt ? ` (live state read ${action.plannedAt})` : ''}`);
  if (plan.error) out.push(`  could not read the live state: ${plan.error.message}`);
  if (plan.refusal) out.push(`  WILL NOT RUN: ${plan.refusal}`);
  out.push(`  before: ${plan.before ? json(plan.before, 4) : 'not read yet'}`);
  out.push(`  after:  ${json(plan.after, 4)}`);
  out.push(`  already compliant: ${plan.alreadyCompliant ? 'yes' : 'no'}`);
  out.push(`  calls:${calls(plan.calls)}`);
  out.push(`  rollback calls:${calls(plan.rollbackCalls)}`);
  const note = plan.reversibility.note ? ` (${plan.reversibility.note})` : '';
  out.push(`  reversibility: ${plan.reversibility.level}${note}`);
  out.push(`  warnings:${plan.warnings.length === 0 ? ' none' : ''}`);
  for (const warning of plan.warnings) out.push(`    - ${warning}`);
  if (plan.input && Object.keys(plan.input.params).length > 0) {
    out.push(`  asked for: ${json(plan.input.params, 4)}`);
  }

  if (action.snapshot) {
    out.push('', `Snapshot (captured ${action.snapshot.capturedAt})`);
    out.push(`  ${json(action.snapshot.state, 2)}`);
  }
  if (action.result) out.push('', `Result: ${action.result.kind}: ${action.result.message}`);
  if (action.error) {
    const cloud = action.error.cloudCode ? ` [${action.error.cloudCode}]` : '';
    out.push('', `Error: ${action.error.code}${cloud}: ${action.error.message}`);
  }

  out.push('', 'Timeline');
  for (const event of events) out.push(`  ${eventLine(event)}`);
  return out.join('\n') + '\n';
}

function eventLine(event: AuditEvent): string {
  const what =
    event.type === 'transition'
      ? `${event.from ?? 'new'} -> ${event.to}`
      : event.type === 'request'
        ? `requested ${String(event.data?.request ?? '')}`.trimEnd()
        : event.type;
  const comment = event.comment ? `  "${event.comment}"` : '';
  return `${event.at}  ${event.actor.padEnd(16)}  ${what}${comment}`;
}

function calls(list: PlannedCall[]): string {
  if (list.length === 0) return ' none';
  return list
    .map((c) => `\n    ${c.service}.${c.operation} ${JSON.stringify(c.parameters)}`)
    .join('');
}

function json(value: unknown, indent: number): string {
  return JSON.stringify(value, null, 2).replaceAll('\n', `\n${' '.repeat(indent)}`);
}

export function formatImport(result: ImportResult): string {
  const names = Object.keys(result.counts) as (keyof ImportResult['counts'])[];
  const header = names.map((name) => (name === 'total' ? 'FINDINGS' : name.toUpperCase()));
  const values = names.map((name) => String(result.counts[name]));
  const stored = result.findings
    ? `stored findings: ${Object.entries(result.findings)
        .map(([name, n]) => `${n} ${name}`)
        .join(', ')}\n`
    : '';
  const warnings = (result.warnings ?? []).map((warning) => `warning: ${warning}\n`).join('');
  return `format: ${result.format}\n${table(header, [values])}${stored}${warnings}`;
}

/** Any flat group of settings, one row each; lists are comma-separated. */
export function formatSettings(settings: RemediationSettings | FixOptions | object): string {
  return table(
    ['SETTING', 'VALUE'],
    Object.entries(settings).map(([key, value]) => [
      key,
      Array.isArray(value) ? value.join(',') : String(value),
    ]),
  );
}

/**
 * A reader that stops early (`| head`) closes the pipe: the rest of the output has nowhere
 * to go, so the process ends quietly, as Unix tools do, instead of dying of an unhandled
 * EPIPE. Any other stream failure is left to surface.
 */
export function endQuietlyWhenOutputCloses(
  streams: NodeJS.EventEmitter[],
  exit: (code: number) => void,
): void {
  for (const stream of streams) {
    stream.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code !== 'EPIPE') throw error;
      exit(0);
    });
  }
}
