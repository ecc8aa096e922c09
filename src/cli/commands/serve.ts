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
  accounts?: string;
}

export function registerServe(program: Command, ctx: CliContext): void {
  program
    .command('serve')
    .description('run the API and the engine (Ctrl-C stops them; running work gets a grace period)')
    .option('--demo', 'run against a built-in sandbox cloud seeded with demo buckets and findings')
    .option('--data <dir>', 'data folder (env INFRAUDIT_DATA; default ./.infraudit)')
    .option('--database <url>', 'postgres://... instead of SQLite (env DATABASE_URL)')
    .option('--port <port>', 'API port; 0 picks a free one (default 8080)', parsePort)
    .option('--host <host>', 'API address (env INFRAUDIT_HOST; default 127.0.0.1)')
    .option('--sandbox-port <port>', 'sandbox port with --demo (default: a free one)', parsePort)
    .option(
      '--accounts <file>',
      'accounts file (JSON or YAML) of AWS accounts and kube contexts (env INFRAUDIT_ACCOUNTS_FILE)',
    )
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
        replicaId: config.replicaId,
        shutdownGraceMs: config.shutdownGraceMs,
        cloudLimits: {
          concurrency: config.cloudConcurrency,
          ratePerSecond: config.cloudRatePerSecond,
        },
        executionLimits: {
          maxExecutionsPerHour: config.maxExecutionsPerHour,
          maxExecutionsPerHourPerAccount: config.maxExecutionsPerHourPerAccount,
        },
        importLimitBytes: config.importLimitBytes,
        auth: config.auth,
        alerts: config.alerts,
        secretKey: config.secretKey,
        accountsFile: o.accounts ? ctx.resolvePath(o.accounts) : config.accountsFile,
        awsRegion: config.awsRegion,
        scanTickMs: config.scanTickMs,
        log,
      });

      const out = ctx.io.stdout;
      out.write(`console: ${server.apiUrl}/\n`);
      out.write(`api: ${server.apiUrl}\n`);
      out.write(`docs: ${server.apiUrl}/api/v1/docs\n`);
      if (server.sandboxUrl) out.write(`sandbox: ${server.sandboxUrl}\n`);
      if (server.adminLogin) {
        const { username, password, oneTime } = server.adminLogin;
        // Printed here once and never logged; only its hash is stored.
        out.write(
          `admin login: ${username} / ${password}` +
            (oneTime ? ' (one-time password: change it at first sign-in)\n' : ' (demo)\n'),
        );
      }
      if (server.tokenFile) {
        out.write(`admin token: ${server.tokenFile}\n`);
      } else {
        ctx.note(
          'note: this database already has tokens but this data folder has no admin-token ' +
            'file; create one with `infraudit tokens create --role admin --data DIR`',
        );
      }

      const signal = await untilSignal(() => process.exit(130));
      log.info(
        { signal, graceMs: config.shutdownGraceMs },
        'shutting down: running work gets the grace period to finish, then is handed back',
      );
      await server.close();
      log.info('stopped');
    });
}
