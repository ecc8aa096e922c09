import { readFileSync } from 'node:fs';
import { Command, CommanderError, Option } from 'commander';
import { AppError } from '../domain/errors.ts';
import { ApiError } from './client.ts';
import { CommandFailed, createContext, UsageError, type Io } from './context.ts';
import { registerBaseline } from './commands/baseline.ts';
import { registerFindings } from './commands/findings.ts';
import { registerRemediation } from './commands/remediation.ts';
import { registerSandbox } from './commands/sandbox.ts';
import { registerResources } from './commands/resources.ts';
import { registerScan } from './commands/scan.ts';
import { registerServe } from './commands/serve.ts';
import { registerSettings } from './commands/settings.ts';
import { registerIamPolicy } from './commands/iam-policy.ts';
import { registerAlerts } from './commands/alerts.ts';
import { registerAudit } from './commands/audit.ts';
import { registerTokens } from './commands/tokens.ts';
import { registerUsers } from './commands/users.ts';

export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

/** The version in package.json, which is what a release publishes. */
export const VERSION = (
  JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
    version: string;
  }
).version;

export function buildProgram(io: Io): Command {
  const program = new Command('infraudit')
    .description('Safe, approved, reversible remediation of cloud misconfigurations')
    .configureOutput({
      writeOut: (text) => io.stdout.write(text),
      writeErr: (text) => io.stderr.write(text),
    })
    .version(VERSION, '-V, --version', 'print the version and exit')
    .exitOverride()
    .showHelpAfterError('(run with --help for usage)')
    .option('--server <url>', 'API server URL (env INFRAUDIT_URL; default http://127.0.0.1:8080)')
    .option(
      '--token <token>',
      'API token (env INFRAUDIT_TOKEN; else the admin-token file of the local data folder)',
    )
    .addOption(
      new Option('-o, --output <format>', 'output format')
        .choices(['table', 'json'])
        .default('table'),
    );

  const ctx = createContext(io, program);
  registerServe(program, ctx);
  registerFindings(program, ctx);
  registerBaseline(program, ctx);
  registerScan(program, ctx);
  registerResources(program, ctx);
  registerRemediation(program, ctx);
  registerSettings(program, ctx);
  registerTokens(program, ctx);
  registerAudit(program, ctx);
  registerAlerts(program, ctx);
  registerUsers(program, ctx);
  registerSandbox(program, ctx);
  registerIamPolicy(program, ctx);
  return program;
}

/**
 * Whether the command line itself is wrong, however late that was found: by Commander, by a
 * command's own checks, or by the server refusing what it was given as invalid input (400).
 * Running it again unchanged cannot work. Every other refusal or failure depends on the
 * state of the server or the cloud, and exits 1.
 */
export function isUsageError(error: unknown): boolean {
  return (
    error instanceof UsageError ||
    (error instanceof ApiError && error.status === 400) ||
    (error instanceof AppError && error.code === 'invalid_input')
  );
}

/** Runs one command line and returns the exit code: 0, 1 on failure, 2 on usage errors. */
export async function runCli(argv: string[], io: Io): Promise<number> {
  const program = buildProgram(io);
  try {
    await program.parseAsync(argv, { from: 'user' });
    return 0;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Commander has printed its message already; only help and version end well.
      return error.exitCode === 0 ? 0 : EXIT_USAGE;
    }
    if (error instanceof CommandFailed) return EXIT_FAILURE;
    io.stderr.write(`error: ${error instanceof Error ? error.message : String(error)}\n`);
    return isUsageError(error) ? EXIT_USAGE : EXIT_FAILURE;
  }
}
