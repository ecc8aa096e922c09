import path from 'node:path';
import { invalidInput } from './domain/errors.ts';

/**
 * Everything the product takes from its environment, with its defaults. This is the
 * only module that reads `process.env`; command-line flags override what it returns.
 */
export interface Config {
  /** Where the CLI finds the API. */
  serverUrl: string;
  /** Bearer token the CLI sends. Secret: never logged. */
  token: string | undefined;
  /** Folder for the SQLite database, the admin token file and the demo cloud state. */
  dataDir: string;
  /** `postgres://...` to use PostgreSQL instead of SQLite. Secret: may hold a password. */
  databaseUrl: string | undefined;
  host: string;
  port: number;
  logLevel: string;
  /** How many actions one engine runs at a time. */
  engineConcurrency: number;
  /** How often the engine looks for work when nobody wakes it. */
  enginePollMs: number;
  /**
   * How long an engine's claim on running work holds without a heartbeat (renewed every
   * third of it): work a crashed server left is settled by another engine once it expires.
   */
  engineLeaseMs: number;
  /** Port of the in-process sandbox cloud under `serve --demo`; 0 picks a free one. */
  sandboxPort: number;
  /** Largest findings file the API accepts. */
  importLimitBytes: number;
}

export type Env = Record<string, string | undefined>;

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

/** Reads the configuration from `env` (the process environment unless given). */
export function loadConfig(env: Env = process.env, cwd: string = process.cwd()): Config {
  const logLevel = text(env.INFRAUDIT_LOG_LEVEL) ?? 'info';
  if (!LOG_LEVELS.includes(logLevel)) {
    throw invalidInput(
      `INFRAUDIT_LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}, got "${logLevel}"`,
    );
  }
  return {
    serverUrl: text(env.INFRAUDIT_URL) ?? 'http://127.0.0.1:8080',
    token: text(env.INFRAUDIT_TOKEN),
    dataDir: path.resolve(cwd, text(env.INFRAUDIT_DATA) ?? '.infraudit'),
    databaseUrl: text(env.DATABASE_URL),
    host: text(env.INFRAUDIT_HOST) ?? '127.0.0.1',
    port: integer(env, 'INFRAUDIT_PORT', 8080, 0, 65535),
    logLevel,
    engineConcurrency: integer(env, 'INFRAUDIT_ENGINE_CONCURRENCY', 4, 1, 64),
    enginePollMs: integer(env, 'INFRAUDIT_ENGINE_POLL_MS', 1000, 10, 600_000),
    engineLeaseMs: integer(env, 'INFRAUDIT_ENGINE_LEASE_MS', 30_000, 1000, 600_000),
    sandboxPort: integer(env, 'INFRAUDIT_SANDBOX_PORT', 0, 0, 65535),
    importLimitBytes: integer(env, 'INFRAUDIT_IMPORT_LIMIT_MB', 100, 1, 4096) * 1024 * 1024,
  };
}

function text(value: string | undefined): string | undefined {
  const trimmed = value?.trim();
  return trimmed ? trimmed : undefined;
}

function integer(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = text(env[name]);
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw invalidInput(`${name} must be a whole number from ${min} to ${max}, got "${raw}"`);
  }
  return value;
}
