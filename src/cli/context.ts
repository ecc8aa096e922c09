import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { loadConfig, type Config, type Env } from '../config.ts';
import { createApiClient, type ApiClient } from './client.ts';
import type { FlagNames } from './terms.ts';

export interface Io {
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown };
  env: Env;
  cwd: string;
}

export interface GlobalOptions {
  server?: string;
  token?: string;
  output: 'table' | 'json';
}

/** What every command gets: output streams, configuration and an API client. */
export interface CliContext {
  io: Io;
  config(): Config;
  /**
   * The API client, with the token from --token, INFRAUDIT_TOKEN or the data folder's
   * admin-token file. `flags` maps API fields to this command's flags, so the server's
   * refusals name the flag.
   */
  client(flags?: FlagNames): ApiClient;
  /** Prints `value` as JSON with `-o json`, else the text `human` makes of it. */
  show<T>(value: T, human: (value: T) => string): void;
  /** A progress or status note: stderr, so stdout stays parseable. */
  note(text: string): void;
  /** A path given on the command line, made absolute against the working folder. */
  resolvePath(given: string): string;
}

/** Thrown by a command that has already said why it failed. */
export class CommandFailed extends Error {}

/**
 * A command line the CLI finds wrong: options that do not go together, a file it names that
 * cannot be read. Exit code 2, like Commander's.
 */
export class UsageError extends Error {}

export const ADMIN_TOKEN_FILE = 'admin-token';

export function createContext(io: Io, program: Command): CliContext {
  let config: Config | undefined;
  const globals = () => program.opts<GlobalOptions>();
  const ctx: CliContext = {
    io,
    config() {
      config ??= loadConfig(io.env, io.cwd);
      return config;
    },
    client(flags) {
      const cfg = ctx.config();
      const tokenFile = path.join(cfg.dataDir, ADMIN_TOKEN_FILE);
      const [token, tokenSource] = globals().token
        ? [globals().token, '--token']
        : cfg.token
          ? [cfg.token, 'INFRAUDIT_TOKEN']
          : [readTokenFile(cfg.dataDir), tokenFile];
      if (!token) {
        throw new UsageError(
          'no API token: give one with --token or INFRAUDIT_TOKEN, or run this next to the ' +
            `server's data folder, whose admin-token file is read (looked for ${tokenFile}; ` +
            'INFRAUDIT_DATA names another folder)',
        );
      }
      return createApiClient(globals().server ?? cfg.serverUrl, token, {
        tokenSource,
        ...(flags ? { flags } : {}),
      });
    },
    show(value, human) {
      io.stdout.write(
        globals().output === 'json' ? `${JSON.stringify(value, null, 2)}\n` : human(value),
      );
    },
    note(text) {
      io.stderr.write(`${text}\n`);
    },
    resolvePath: (given) => path.resolve(io.cwd, given),
  };
  return ctx;
}

/** The token `serve` wrote into a local data folder, when there is one. */
export function readTokenFile(dataDir: string): string | undefined {
  try {
    return readFileSync(path.join(dataDir, ADMIN_TOKEN_FILE), 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}
