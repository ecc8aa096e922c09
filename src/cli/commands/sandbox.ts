import { Option, type Command } from 'commander';
import { startSandbox } from '../../sandbox/index.ts';
import type { CliContext } from '../context.ts';
import { parsePort } from '../parse.ts';
import { untilSignal } from '../signals.ts';

interface SandboxOptions {
  port: number;
  host: string;
  state?: string;
  seed: 'demo' | 'empty';
}

export function registerSandbox(program: Command, ctx: CliContext): void {
  program
    .command('sandbox')
    .description('run the sandbox cloud alone (S3 wire protocol on loopback) until Ctrl-C')
    .option('--port <port>', 'port; 0 picks a free one', parsePort, 4566)
    .option('--host <host>', 'loopback address to listen on', '127.0.0.1')
    .option('--state <file>', 'load the state from this file if it exists; save it on exit')
    .addOption(
      new Option('--seed <seed>', 'state to start from without a state file')
        .choices(['demo', 'empty'])
        .default('demo'),
    )
    .action(async (o: SandboxOptions) => {
      const statePath = o.state ? ctx.resolvePath(o.state) : undefined;
      const sandbox = await startSandbox({
        host: o.host,
        port: o.port,
        seed: o.seed,
        ...(statePath ? { statePath, autosave: true } : {}),
      });
      ctx.io.stdout.write(`sandbox: ${sandbox.url}\n`);

      await untilSignal(() => process.exit(130));
      if (statePath) {
        await sandbox.save();
        ctx.note(`sandbox state saved to ${statePath}`);
      }
      await sandbox.close();
    });
}
