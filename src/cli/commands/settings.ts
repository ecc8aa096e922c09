import { readFileSync } from 'node:fs';
import { InvalidArgumentError, type Command } from 'commander';
import { AppError } from '../../domain/errors.ts';
import { fixOptionProblem, type FixOptions } from '../../domain/fix-options.ts';
import { parseMaintenanceWindows, type MaintenanceWindow } from '../../domain/maintenance.ts';
import {
  BULK_LIMIT_MAX,
  ROLLBACK_WINDOW_MAX,
  ROLLBACK_WINDOW_MIN,
  type RemediationSettings,
} from '../../domain/settings.ts';
import { UsageError, type CliContext } from '../context.ts';
import { type SettingFlag, settingsSetter } from '../settings-flags.ts';
import { registerCheckSettings } from './baseline.ts';
import { registerScanSettings } from './scan.ts';
import { formatSettings } from '../output.ts';
import { parseBoolean, parseIntInRange, parsePortList, parsePositiveInt } from '../parse.ts';
import type { FlagNames } from '../terms.ts';

const REMEDIATION_FLAGS: FlagNames = {
  requireApproval: '--require-approval',
  autoExecute: '--auto-execute',
  rollbackWindowMinutes: '--rollback-window',
  allowSelfApproval: '--allow-self-approval',
  maxBulkActions: '--max-bulk-actions',
  maintenanceWindows: '--maintenance-windows',
};

interface SetOptions {
  requireApproval?: boolean;
  autoExecute?: boolean;
  rollbackWindow?: number;
  allowSelfApproval?: boolean;
  maxBulkActions?: number;
  maintenanceWindows?: MaintenanceWindow[];
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
    .option(
      '--allow-self-approval <bool>',
      'let the creator of an action approve it too (single-admin installs): true|false',
      parseBoolean,
    )
    .option(
      '--max-bulk-actions <n>',
      `most actions one bulk approve or reject may name, 1 to ${BULK_LIMIT_MAX}`,
      parseIntInRange(1, BULK_LIMIT_MAX),
    )
    .option(
      '--maintenance-windows <json|@file>',
      'the whole list of maintenance windows as JSON, or @file holding it; [] for none',
      parseWindowsOption,
    )
    .action(async (o: SetOptions) => {
      const patch: Partial<RemediationSettings> = {};
      if (o.allowSelfApproval !== undefined) patch.allowSelfApproval = o.allowSelfApproval;
      if (o.maxBulkActions !== undefined) patch.maxBulkActions = o.maxBulkActions;
      if (o.maintenanceWindows !== undefined) patch.maintenanceWindows = o.maintenanceWindows;
      if (o.requireApproval !== undefined) patch.requireApproval = o.requireApproval;
      if (o.autoExecute !== undefined) patch.autoExecute = o.autoExecute;
      if (o.rollbackWindow !== undefined) patch.rollbackWindowMinutes = o.rollbackWindow;
      if (Object.keys(patch).length === 0) {
        throw new UsageError(
          'nothing to change; give --require-approval, --auto-execute, --rollback-window, ' +
            '--allow-self-approval, --max-bulk-actions or --maintenance-windows',
        );
      }
      const updated = await ctx
        .client(REMEDIATION_FLAGS)
        .put<RemediationSettings>('/settings/remediation', patch);
      ctx.show(updated, formatSettings);
    });

  registerCheckSettings(settings, ctx);
  registerScanSettings(settings, ctx);

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
  settingsSetter(set, ctx, '/settings/fixes', FIX_FLAGS, fixOptionProblem);
}

const text = (value: string) => value;

/**
 * JSON given inline or, after `@`, read from a file; each window is checked as the server
 * checks it, so a refusal names the flag and the window's place in the list.
 */
function parseWindowsOption(value: string): MaintenanceWindow[] {
  const source = value.startsWith('@') ? readFileOrThrow(value.slice(1)) : value;
  let windows: unknown;
  try {
    windows = JSON.parse(source);
  } catch {
    throw new InvalidArgumentError(
      `expected a JSON list of windows such as '[{"name":"weekend","account":"111122223333",` +
        `"schedule":"sat,sun 02:00-06:00","timezone":"UTC"}]', got "${value}".`,
    );
  }
  try {
    return parseMaintenanceWindows(windows, '--maintenance-windows');
  } catch (error) {
    if (error instanceof AppError) throw new InvalidArgumentError(`${error.message}.`);
    throw error;
  }
}

function readFileOrThrow(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    throw new InvalidArgumentError(`cannot read ${file}: ${(error as Error).message}.`);
  }
}
/** Commander turns each flag into the camel-case option key beside it. */
const FIX_FLAGS: SettingFlag<keyof FixOptions>[] = [
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
