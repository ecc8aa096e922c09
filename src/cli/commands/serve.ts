import type { Command } from 'commander';
import { createLogger } from '../../log.ts';
import type { CliContext } from '../context.ts';
import { parsePort } from '../parse.ts';
import { startServer } from '../server.ts';
import { untilSignal } from '../signals.ts';

interface ServeOptions {
  demo?: boolean;
  data?: string;
  database?: string;
  port?: number;
  host?: string;
  sandboxPort?: number;
}

export function registerServe(program: Command, ctx: CliContext): void {
  program
    .command('serve')
    .description('run the API and the engine (Ctrl-C stops them after running work ends)')
    .option('--demo', 'run against a built-in sandbox cloud seeded with demo buckets and findings')
    .option('--data <dir>', 'data folder (env INFRAUDIT_DATA; default ./.infraudit)')
    .option('--database <url>', 'postgres://... instead of SQLite (env DATABASE_URL)')
    .option('--port <port>', 'API port; 0 picks a free one (default 8080)', parsePort)
    .option('--host <host>', 'API address (env INFRAUDIT_HOST; default 127.0.0.1)')
    .option('--sandbox-port <port>', 'sandbox port with --demo (default: a free one)', parsePort)
    .action(async (o: ServeOptions) => {
      const config = ctx.config();
      const log = createLogger({ level: config.logLevel });
      const server = await startServer({
        dataDir: o.data ? ctx.resolvePath(o.data) : config.dataDir,
        databaseUrl: o.database ?? config.databaseUrl,
        host: o.host ?? config.host,
        port: o.port ?? config.port,
        demo: o.demo ?? false,
        sandboxPort: o.sandboxPort ?? config.sandboxPort,
        engineConcurrency: config.engineConcurrency,
        enginePollMs: config.enginePollMs,
        engineLeaseMs: config.engineLeaseMs,
        importLimitBytes: config.importLimitBytes,
        log,
      });

      const out = ctx.io.stdout;
      out.write(`api: ${server.apiUrl}\n`);
      out.write(`docs: ${server.apiUrl}/api/v1/docs\n`);
      if (server.sandboxUrl) out.write(`sandbox: ${server.sandboxUrl}\n`);
      if (server.tokenFile) {
        out.write(`admin token: ${server.tokenFile}\n`);
      } else {
        ctx.note(
          'note: this database already has tokens but this data folder has no admin-token ' +
            'file; create one with `infraudit tokens create --role admin --data DIR`',
        );
      }

      const signal = await untilSignal(() => process.exit(130));
      log.info({ signal }, 'shutting down: waiting for running work to finish');
      await server.close();
      log.info('stopped');
    });
}
