import { InvalidArgumentError, type Command } from 'commander';
import { fixOptionProblem, type FixOptions } from '../../domain/fix-options.ts';
import {
  ROLLBACK_WINDOW_MAX,
  ROLLBACK_WINDOW_MIN,
  type RemediationSettings,
} from '../../domain/settings.ts';
import { UsageError, type CliContext } from '../context.ts';
import { formatSettings } from '../output.ts';
import { parseBoolean, parseIntInRange, parsePortList, parsePositiveInt } from '../parse.ts';
import type { FlagNames } from '../terms.ts';

const REMEDIATION_FLAGS: FlagNames = {
  requireApproval: '--require-approval',
  autoExecute: '--auto-execute',
  rollbackWindowMinutes: '--rollback-window',
};

interface SetOptions {
  requireApproval?: boolean;
  autoExecute?: boolean;
  rollbackWindow?: number;
}

export function registerSettings(program: Command, ctx: CliContext): void {
  const settings = program.command('settings').description('read and change settings');
  const remediation = settings
    .command('remediation')
    .description('approval, auto-execution and the rollback window');

  remediation
    .command('get')
    .description('show the remediation settings')
    .action(async () => {
      const current = await ctx.client().get<RemediationSettings>('/settings/remediation');
      ctx.show(current, formatSettings);
    });

  remediation
    .command('set')
    .description('change some remediation settings (admin)')
    .option('--require-approval <bool>', 'new actions wait for approval: true|false', parseBoolean)
    .option('--auto-execute <bool>', 'approval queues execution at once: true|false', parseBoolean)
    .option(
      '--rollback-window <minutes>',
      `how long after completion a rollback is allowed, ${ROLLBACK_WINDOW_MIN} to ` +
        `${ROLLBACK_WINDOW_MAX}`,
      parseIntInRange(ROLLBACK_WINDOW_MIN, ROLLBACK_WINDOW_MAX),
    )
    .action(async (o: SetOptions) => {
      const patch: Partial<RemediationSettings> = {};
      if (o.requireApproval !== undefined) patch.requireApproval = o.requireApproval;
      if (o.autoExecute !== undefined) patch.autoExecute = o.autoExecute;
      if (o.rollbackWindow !== undefined) patch.rollbackWindowMinutes = o.rollbackWindow;
      if (Object.keys(patch).length === 0) {
        throw new UsageError(
          'nothing to change; give --require-approval, --auto-execute or --rollback-window',
        );
      }
      const updated = await ctx
        .client(REMEDIATION_FLAGS)
        .put<RemediationSettings>('/settings/remediation', patch);
      ctx.show(updated, formatSettings);
    });

  const fixes = settings
    .command('fixes')
    .description('options that shape what some fixes do (ports, RDS, Kubernetes defaults)');

  fixes
    .command('get')
    .description('show the fix options')
    .action(async () => {
      ctx.show(await ctx.client().get<FixOptions>('/settings/fixes'), formatSettings);
    });

  const set = fixes
    .command('set')
    .description('change some fix options (admin); plans already made keep their options');
  for (const [flag, key, help, parse] of FIX_FLAGS) set.option(flag, help, checked(key, parse));
  set.action(async (o: Record<string, unknown>) => {
    const patch: Record<string, unknown> = {};
    for (const [, key] of FIX_FLAGS) if (o[key] !== undefined) patch[key] = o[key];
    if (Object.keys(patch).length === 0) {
      const flags = FIX_FLAGS.map(([flag]) => flagName(flag)).join(', ');
      throw new UsageError(`nothing to change; give one of ${flags}`);
    }
    const names = Object.fromEntries(FIX_FLAGS.map(([flag, key]) => [key, flagName(flag)]));
    ctx.show(await ctx.client(names).put<FixOptions>('/settings/fixes', patch), formatSettings);
  });
}

const text = (value: string) => value;
const flagName = (flag: string) => flag.split(' ')[0] ?? flag;

/** The option's own parser, then the same check the server makes, before any request. */
function checked(key: keyof FixOptions, parse: (value: string) => unknown) {
  return (value: string) => {
    const parsed = parse(value);
    const problem = fixOptionProblem(key, parsed);
    if (problem) throw new InvalidArgumentError(`expected ${problem}, got "${value}".`);
    return parsed;
  };
}

type FixFlag = [flag: string, key: keyof FixOptions, help: string, parse: (v: string) => unknown];

/** Commander turns each flag into the camel-case option key beside it. */
const FIX_FLAGS: FixFlag[] = [
  ['--ec2-authorized-ports <ports>', 'ec2AuthorizedPorts', 'left open, e.g. 80,443', parsePortList],
  ['--rds-apply-immediately <bool>', 'rdsApplyImmediately', 'true|false', parseBoolean],
  ['--rds-backup-retention-days <days>', 'rdsBackupRetentionDays', '1 to 35', parsePositiveInt],
  ['--rds-kms-key-id <key>', 'rdsKmsKeyId', 'KMS key id, ARN or alias', text],
  ['--k8s-cpu-request <quantity>', 'k8sCpuRequest', 'e.g. 100m', text],
  ['--k8s-memory-request <quantity>', 'k8sMemoryRequest', 'e.g. 128Mi', text],
  ['--k8s-cpu-limit <quantity>', 'k8sCpuLimit', 'e.g. 500m', text],
  ['--k8s-memory-limit <quantity>', 'k8sMemoryLimit', 'e.g. 512Mi', text],
  [
    '--k8s-pod-security-level <level>',
    'k8sPodSecurityLevel',
    'privileged|baseline|restricted',
    text,
  ],
  ['--k8s-pod-security-version <version>', 'k8sPodSecurityVersion', 'latest or v1.N', text],
];
