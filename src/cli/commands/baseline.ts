import type { Command } from 'commander';
import { CHECK_DAYS_MAX, checkSettingProblem, type CheckSettings } from '../../checks/settings.ts';
import type { Baseline } from '../../drift/detect.ts';
import type { BaselineChange } from '../../service/baselines.ts';
import { UsageError, type CliContext } from '../context.ts';
import { formatSettings, table } from '../output.ts';
import { parseIntInRange, parsePortList } from '../parse.ts';
import { type SettingFlag, settingsSetter } from '../settings-flags.ts';

interface ListOptions {
  resource?: string;
  type?: string;
  account?: string;
  allVersions?: boolean;
  limit?: number;
  offset?: number;
}

const listRows = (items: Baseline[]) =>
  table(
    ['RESOURCE', 'TYPE', 'VERSION', 'ACTIVE', 'REASON', 'CAPTURED', 'BY', 'ID'],
    items.map((b) => [
      b.resourceId,
      b.type,
      String(b.version),
      b.active ? 'yes' : 'no',
      b.reason,
      b.capturedAt,
      b.capturedBy,
      b.id,
    ]),
  );

const changeText = (c: BaselineChange) =>
  `${listRows(c.baselines)}${c.baselines.length} baseline(s) recorded from the live ` +
  `configuration (read from the cloud now, not the last scan); ` +
  `${c.findings.resolved} drift finding(s) resolved\n`;

export function registerBaseline(program: Command, ctx: CliContext): void {
  const baseline = program
    .command('baseline')
    .description("resources' reference configurations, which drift is measured against");

  baseline
    .command('create')
    .description(
      'read the named resources live from the cloud, or every resource in the inventory with ' +
        '--all, and make that configuration their new baseline (admin)',
    )
    .argument('[resource-id...]', 'resource ids, as `resources list` shows them')
    .option('--all', 'every resource in the inventory')
    .action(async (ids: string[], o: { all?: boolean }) => {
      if (o.all && ids.length > 0) {
        throw new UsageError('give resource ids or --all, not both');
      }
      if (!o.all && ids.length === 0) {
        throw new UsageError('give one or more resource ids, or --all');
      }
      const body = o.all ? { all: true } : { resourceIds: ids };
      const created = await ctx
        .client({ resourceIds: '<resource-id>', all: '--all' })
        .post<BaselineChange>('/baselines', body);
      ctx.show(created, changeText);
    });

  baseline
    .command('promote')
    .description(
      'after a planned change: read the resource live from the cloud and make that ' +
        'configuration its baseline, resolving its drift finding (admin)',
    )
    .argument('<resource-id>', 'resource id, as `resources list` shows it')
    .action(async (id: string) => {
      const promoted = await ctx
        .client({ resourceId: '<resource-id>' })
        .post<BaselineChange>('/baselines/promote', { resourceId: id });
      ctx.show(promoted, changeText);
    });

  baseline
    .command('list')
    .description('list the active baselines, or every version with --all-versions')
    .option('--resource <id>', 'only this resource')
    .option('--type <type>', 'only this resource type, e.g. AwsS3Bucket')
    .option('--account <account>', 'only this account or kube context')
    .option('--all-versions', 'earlier versions too')
    .option('--limit <n>', 'at most this many, 1 to 1000 (default 100)', parseIntInRange(1, 1000))
    .option('--offset <n>', 'skip this many first', parseIntInRange(0, Number.MAX_SAFE_INTEGER))
    .action(async (o: ListOptions) => {
      const listed = await ctx
        .client({ resourceId: '--resource', allVersions: '--all-versions' })
        .get<{ items: Baseline[]; total: number }>('/baselines', {
          resourceId: o.resource,
          type: o.type,
          account: o.account,
          allVersions: o.allVersions ? 'true' : undefined,
          limit: o.limit,
          offset: o.offset,
        });
      ctx.show(listed, (l) => `${listRows(l.items)}${l.items.length} of ${l.total}\n`);
    });

  baseline
    .command('show')
    .description('show one baseline version with its configuration')
    .argument('<baseline-id>', 'baseline id, as `baseline list` shows it')
    .action(async (id: string) => {
      const found = await ctx.client().get<Baseline>(`/baselines/${encodeURIComponent(id)}`);
      ctx.show(
        found,
        (b) =>
          `${listRows([b])}tags: ${JSON.stringify(b.tags)}\n` +
          `config:\n${JSON.stringify(b.config, null, 2)}\n`,
      );
    });
}

const names = (value: string) =>
  value
    .split(',')
    .map((n) => n.trim())
    .filter(Boolean);

const CHECK_FLAGS: SettingFlag<keyof CheckSettings>[] = [
  ['--sensitive-ports <ports>', 'sensitivePorts', 'e.g. 22,3389,5432', parsePortList],
  ['--key-rotation-days <days>', 'keyRotationDays', `1 to ${CHECK_DAYS_MAX}`, Number],
  ['--key-unused-days <days>', 'keyUnusedDays', `1 to ${CHECK_DAYS_MAX}`, Number],
  [
    '--pod-security-exempt-namespaces <names>',
    'podSecurityExemptNamespaces',
    'comma-separated, e.g. kube-system,kube-public',
    names,
  ],
];

/** `infraudit settings checks get|set`, under the `settings` command. */
export function registerCheckSettings(settings: Command, ctx: CliContext): void {
  const checks = settings
    .command('checks')
    .description('what the built-in checks judge by: sensitive ports, key ages');

  checks
    .command('get')
    .description('show the check settings')
    .action(async () => {
      ctx.show(await ctx.client().get<CheckSettings>('/settings/checks'), formatSettings);
    });

  const set = checks.command('set').description('change some check settings (admin)');
  settingsSetter(set, ctx, '/settings/checks', CHECK_FLAGS, checkSettingProblem);
}
