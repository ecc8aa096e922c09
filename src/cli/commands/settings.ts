import type { Command } from 'commander';
import type { RemediationSettings } from '../../domain/settings.ts';
import type { CliContext } from '../context.ts';
import { formatSettings } from '../output.ts';
import { parseBoolean, parsePositiveInt } from '../parse.ts';

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
      'how long after completion a rollback is allowed, 5 to 120',
      parsePositiveInt,
    )
    .action(async (o: SetOptions) => {
      const patch: Partial<RemediationSettings> = {};
      if (o.requireApproval !== undefined) patch.requireApproval = o.requireApproval;
      if (o.autoExecute !== undefined) patch.autoExecute = o.autoExecute;
      if (o.rollbackWindow !== undefined) patch.rollbackWindowMinutes = o.rollbackWindow;
      if (Object.keys(patch).length === 0) {
        throw new Error(
          'nothing to change; give --require-approval, --auto-execute or --rollback-window',
        );
      }
      const updated = await ctx.client().put<RemediationSettings>('/settings/remediation', patch);
      ctx.show(updated, formatSettings);
    });
}
