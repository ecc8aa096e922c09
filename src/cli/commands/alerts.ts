import { readFile } from 'node:fs/promises';
import { Option, type Command } from 'commander';
import {
  ALERT_EVENTS,
  CHANNEL_TYPES,
  DELIVERY_STATUSES,
  type AttemptInfo,
  type ChannelInfo,
  type DeliveryInfo,
  type RuleInfo,
} from '../../alerts/model.ts';
import type { SendResult } from '../../alerts/send.ts';
import { SEVERITIES } from '../../domain/status.ts';
import { CommandFailed, UsageError, type CliContext } from '../context.ts';
import { table } from '../output.ts';
import { parseIntInRange, parseListOf, parseMatching, parsePort } from '../parse.ts';

interface ChannelOptions {
  type: string;
  url?: string;
  urlFile?: string;
  secret?: string;
  secretFile?: string;
  host?: string;
  port?: number;
  security?: string;
  username?: string;
  password?: string;
  passwordFile?: string;
  from?: string;
  to?: string[];
}

const NAME = /^[A-Za-z0-9_.@-]{1,100}$/;
const nameArgument = parseMatching(NAME, 'up to 100 letters, digits and _ . @ -');
const collect = (value: string, previous: string[] = []) => [...previous, value];

const CHANNEL_FLAGS = {
  url: '--url',
  secret: '--secret',
  host: '--host',
  port: '--port',
  security: '--security',
  username: '--username',
  password: '--password',
  from: '--from',
  to: '--to',
};

export function registerAlerts(program: Command, ctx: CliContext): void {
  const alerts = program
    .command('alerts')
    .description('alert channels, the rules that route events to them, and the delivery log');

  const channels = alerts.command('channels').description('where alerts are sent');
  channels
    .command('list')
    .description('list the channels with their health; secrets are shown masked')
    .action(async () => {
      const listed = await ctx.client().get<{ items: ChannelInfo[] }>('/alerts/channels');
      ctx.show(listed, (l) =>
        l.items.length === 0
          ? 'no alert channels\n'
          : table(
              ['ID', 'NAME', 'TYPE', 'HEALTH', 'TARGET'],
              l.items.map((c) => [c.id, c.name, c.type, health(c), c.target]),
            ),
      );
    });

  channels
    .command('add')
    .description('add a channel (admin); give secrets in a file to keep them out of shell history')
    .argument('<name>', 'a unique name, used by rules', nameArgument)
    .addOption(
      new Option('--type <type>', 'slack, webhook or email')
        .choices(CHANNEL_TYPES)
        .makeOptionMandatory(),
    )
    .option('--url <url>', 'slack, webhook: the URL to POST to (it holds a secret)')
    .option('--url-file <path>', 'slack, webhook: read the URL from this file')
    .option('--secret <key>', 'webhook: the HMAC-SHA256 key, at least 16 characters')
    .option('--secret-file <path>', 'webhook: read the HMAC key from this file')
    .option('--host <host>', 'email: the SMTP server')
    .option(
      '--port <port>',
      'email: SMTP port (default 587, or 465 with --security tls)',
      parsePort,
    )
    .addOption(
      new Option('--security <mode>', 'email: starttls (default), tls or none').choices([
        'starttls',
        'tls',
        'none',
      ]),
    )
    .option('--username <user>', 'email: SMTP user name')
    .option('--password <password>', 'email: SMTP password')
    .option('--password-file <path>', 'email: read the SMTP password from this file')
    .option('--from <address>', 'email: sender address')
    .option('--to <address>', 'email: a recipient; repeat for more', collect)
    .action(async (name: string, o: ChannelOptions) => {
      const body: Record<string, unknown> = { name, type: o.type };
      const url = await valueOrFile(ctx, o.url, o.urlFile, '--url');
      const secret = await valueOrFile(ctx, o.secret, o.secretFile, '--secret');
      const password = await valueOrFile(ctx, o.password, o.passwordFile, '--password');
      const fields = {
        url,
        secret,
        password,
        host: o.host,
        port: o.port,
        security: o.security,
        username: o.username,
        from: o.from,
        to: o.to,
      };
      for (const [key, value] of Object.entries(fields)) if (value !== undefined) body[key] = value;
      const added = await ctx
        .client(CHANNEL_FLAGS)
        .post<{ channel: ChannelInfo }>('/alerts/channels', body);
      ctx.show(
        added,
        (a) => `alert channel ${a.channel.id} (${a.channel.name}) added: ${a.channel.target}\n`,
      );
    });

  channels
    .command('remove')
    .description('remove a channel (admin); refused while a rule uses it')
    .argument('<channel>', 'channel id or name, as `alerts channels list` shows it')
    .action(async (id: string) => {
      const removed = await ctx
        .client()
        .delete<{ channel: ChannelInfo }>(`/alerts/channels/${encodeURIComponent(id)}`);
      ctx.show(removed, (r) => `alert channel ${r.channel.id} (${r.channel.name}) removed\n`);
    });

  channels
    .command('test')
    .description('send a test message now and show how the receiver answered (admin)')
    .argument('<channel>', 'channel id or name')
    .action(async (id: string) => {
      const result = await ctx
        .client()
        .post<SendResult>(`/alerts/channels/${encodeURIComponent(id)}/test`);
      ctx.show(result, (r) =>
        r.ok ? `delivered (${r.statusCode ?? 'ok'}, ${r.durationMs} ms)\n` : '',
      );
      if (!result.ok) {
        const why = result.error ?? 'unknown error';
        ctx.io.stderr.write(`error: not delivered: ${why} (${result.durationMs} ms)\n`);
      }
      if (!result.ok) throw new CommandFailed();
    });

  const rules = alerts.command('rules').description('which events go to which channels');
  rules
    .command('list')
    .description('list the rules')
    .action(async () => {
      const listed = await ctx.client().get<{ items: RuleInfo[] }>('/alerts/rules');
      ctx.show(listed, (l) =>
        l.items.length === 0
          ? 'no alert rules\n'
          : table(
              ['ID', 'NAME', 'MIN SEVERITY', 'EVENTS', 'CHANNELS'],
              l.items.map((r) => [
                r.id,
                r.name,
                r.minSeverity,
                r.events.join(','),
                r.channels.map((c) => c.name || c.id).join(','),
              ]),
            ),
      );
    });

  rules
    .command('add')
    .description('add a rule (admin): these events, at or above this severity, to these channels')
    .argument('<name>', 'a unique name', nameArgument)
    .requiredOption(
      '--events <events>',
      `comma-separated: ${ALERT_EVENTS.join(', ')}`,
      parseListOf(ALERT_EVENTS),
    )
    .addOption(
      new Option('--min-severity <severity>', 'the least severity that alerts')
        .choices(SEVERITIES)
        .default('informational'),
    )
    .requiredOption('--channel <id-or-name>', 'a channel; repeat for more', collect)
    .action(async (name: string, o: { events: string; minSeverity: string; channel: string[] }) => {
      const added = await ctx
        .client({ events: '--events', minSeverity: '--min-severity', channels: '--channel' })
        .post<{ rule: RuleInfo }>('/alerts/rules', {
          name,
          events: o.events.split(','),
          minSeverity: o.minSeverity,
          channels: o.channel,
        });
      ctx.show(added, (a) => `alert rule ${a.rule.id} (${a.rule.name}) added\n`);
    });

  rules
    .command('remove')
    .description('remove a rule (admin); alerts already queued are still sent')
    .argument('<id>', 'rule id, as `alerts rules list` shows it')
    .action(async (id: string) => {
      const removed = await ctx
        .client()
        .delete<{ rule: RuleInfo }>(`/alerts/rules/${encodeURIComponent(id)}`);
      ctx.show(removed, (r) => `alert rule ${r.rule.id} (${r.rule.name}) removed\n`);
    });

  alerts
    .command('deliveries')
    .description('the delivery log, newest first; with an id, one delivery and its attempts')
    .argument('[id]', 'a delivery id')
    .option(
      '--status <status>',
      `comma-separated: ${DELIVERY_STATUSES.join(', ')}`,
      parseListOf(DELIVERY_STATUSES),
    )
    .option('--channel <id-or-name>', 'only this channel; an unknown one is an error')
    .option('--limit <n>', 'at most this many (1 to 500, default 50)', parseIntInRange(1, 500))
    .action(
      async (id: string | undefined, o: { status?: string; channel?: string; limit?: number }) => {
        if (id) {
          if (o.status || o.channel || o.limit) {
            throw new UsageError('--status, --channel and --limit list deliveries; give no id');
          }
          const one = await ctx
            .client()
            .get<{ delivery: DeliveryInfo & { attemptLog: AttemptInfo[] } }>(
              `/alerts/deliveries/${encodeURIComponent(id)}`,
            );
          ctx.show(one, (d) => formatDelivery(d.delivery));
          return;
        }
        const listed = await ctx.client().get<{ items: DeliveryInfo[] }>('/alerts/deliveries', {
          status: o.status,
          channel: o.channel,
          limit: o.limit,
        });
        ctx.show(listed, (l) =>
          l.items.length === 0
            ? 'no deliveries match\n'
            : table(
                ['ID', 'STATUS', 'TRIES', 'EVENT', 'SEVERITY', 'CHANNEL', 'CREATED', 'LAST ERROR'],
                l.items.map((d) => [
                  d.id,
                  d.status,
                  String(d.attempts),
                  d.event,
                  d.severity,
                  d.channel.name,
                  d.createdAt,
                  d.lastError ?? '',
                ]),
              ),
        );
      },
    );

  alerts
    .command('retry')
    .description(
      'send a failed or expired delivery now, or with --channel every failed delivery of a ' +
        'channel, in event order (admin)',
    )
    .argument('[id]', 'delivery id')
    .option('--channel <id-or-name>', 'every failed delivery of this channel')
    .action(async (id: string | undefined, o: { channel?: string }) => {
      if ((id === undefined) === (o.channel === undefined)) {
        throw new UsageError('give a delivery id or --channel <id-or-name>, not both');
      }
      if (o.channel !== undefined) {
        const path = `/alerts/channels/${encodeURIComponent(o.channel)}/retry`;
        const retried = await ctx
          .client()
          .post<{ channel: { id: string; name: string }; queued: number }>(path);
        ctx.show(
          retried,
          (r) => `${r.queued} failed alert deliveries of channel ${r.channel.name} queued again\n`,
        );
        return;
      }
      const retried = await ctx
        .client()
        .post<{ delivery: DeliveryInfo }>(`/alerts/deliveries/${encodeURIComponent(id!)}/retry`);
      ctx.show(retried, (r) => `alert delivery ${r.delivery.id} queued again\n`);
    });
}

function health(c: ChannelInfo): string {
  const h = c.health;
  if (h.state === 'failing') return `FAILING (${h.consecutiveFailures} in a row: ${h.lastError})`;
  if (h.state === 'untested') return 'untested';
  return `ok (last success ${h.lastSuccessAt ?? 'never'})`;
}

function formatDelivery(d: DeliveryInfo & { attemptLog: AttemptInfo[] }): string {
  const lines = [
    `delivery ${d.id}: ${d.status}`,
    `event:     ${d.event} (${d.severity}), audit event ${d.eventId}`,
    `action:    ${d.actionId ?? '-'}`,
    `channel:   ${d.channel.name} (${d.channel.id})`,
    `created:   ${d.createdAt}`,
  ];
  if (d.deliveredAt) lines.push(`delivered: ${d.deliveredAt}`);
  if (d.nextAttemptAt) lines.push(`next try:  ${d.nextAttemptAt}`);
  lines.push('');
  if (d.attemptLog.length === 0) lines.push('no attempts yet');
  else {
    lines.push(
      table(
        ['ATTEMPT', 'AT', 'RESULT', 'DURATION'],
        d.attemptLog.map((a) => [
          String(a.attempt),
          a.at,
          a.ok ? `ok ${a.statusCode ?? ''}`.trim() : (a.error ?? `failed ${a.statusCode ?? ''}`),
          `${a.durationMs} ms`,
        ]),
      ).trimEnd(),
    );
  }
  return `${lines.join('\n')}\n`;
}

/** A secret given inline or in a file; both at once is a usage error. */
async function valueOrFile(
  ctx: CliContext,
  value: string | undefined,
  file: string | undefined,
  flag: string,
): Promise<string | undefined> {
  if (value !== undefined && file !== undefined) {
    throw new UsageError(`give ${flag} or ${flag}-file, not both`);
  }
  if (file === undefined) return value;
  const text = await readFile(ctx.resolvePath(file), 'utf8').catch(
    (error: NodeJS.ErrnoException) => {
      throw new UsageError(`cannot read ${flag}-file ${file}: ${error.code ?? error.message}`);
    },
  );
  const trimmed = text.trim();
  if (!trimmed) throw new UsageError(`${flag}-file ${file} is empty`);
  return trimmed;
}
