import path from 'node:path';
import { invalidInput } from './domain/errors.ts';
import { ROLLBACK_WINDOW_MAX } from './domain/settings.ts';
import { parseSecretKey } from './secrets/secret-key.ts';

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
  /** Alert delivery: tries, timeout, backoff, the rollback-window warning, console links. */
  alerts: AlertConfig;
  /** Console sign-in: session lifetimes, the cookie's Secure flag, the sign-in rate limit. */
  auth: AuthConfig;
  /** Names this replica in logs, metrics and leases; unique per process unless set. */
  replicaId: string | undefined;
  /** The accounts file (JSON or YAML) naming the AWS accounts and kube contexts to scan and fix. */
  accountsFile: string | undefined;
  /** How often each server looks whether a scheduled scan is due. */
  scanTickMs: number;
  /** The region scanned without an accounts file: the SDK's own AWS_REGION setting. */
  awsRegion: string | undefined;
  /** How long a stopping server lets running work finish before handing it back. */
  shutdownGraceMs: number;
  /** Executions started per rolling hour across all replicas; 0 means no limit. */
  maxExecutionsPerHour: number;
  /** Executions started per rolling hour for one cloud account; 0 means no limit. */
  maxExecutionsPerHourPerAccount: number;
  /** Cloud calls the engine has in flight at once, per account and service, per replica. */
  cloudConcurrency: number;
  /** Cloud calls per second the engine sends, per account and service, per replica. */
  cloudRatePerSecond: number;
  /**
   * The AES-256 key channel secrets are encrypted under; the data folder's `secret.key`
   * when unset. Secret: never logged.
   */
  secretKey: Buffer | undefined;
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
    alerts: {
      publicUrl: publicUrl(env),
      attempts: integer(env, 'INFRAUDIT_ALERT_ATTEMPTS', 3, 1, 20),
      timeoutMs: integer(env, 'INFRAUDIT_ALERT_TIMEOUT_MS', 10_000, 100, 120_000),
      backoffMs: integer(env, 'INFRAUDIT_ALERT_BACKOFF_MS', 5_000, 10, 3_600_000),
      pollMs: integer(env, 'INFRAUDIT_ALERT_POLL_MS', 1_000, 10, 600_000),
      // A warning as long as the longest rollback window would go out at completion.
      windowWarningMs:
        integer(env, 'INFRAUDIT_ALERT_WINDOW_WARNING_MINUTES', 5, 1, ROLLBACK_WINDOW_MAX - 1) *
        60_000,
      recoveryMs: integer(env, 'INFRAUDIT_ALERT_RECOVERY_MINUTES', 5, 1, 1440) * 60_000,
      maxAgeMs: integer(env, 'INFRAUDIT_ALERT_MAX_AGE_DAYS', 7, 1, 365) * 86_400_000,
    },
    auth: {
      sessionMaxMs: integer(env, 'INFRAUDIT_SESSION_HOURS', 12, 1, 720) * 3_600_000,
      sessionIdleMs: integer(env, 'INFRAUDIT_SESSION_IDLE_MINUTES', 30, 1, 1440) * 60_000,
      cookieSecure: choice(env, 'INFRAUDIT_COOKIE_SECURE', ['auto', 'always', 'never'], 'auto'),
      loginMaxFailures: integer(env, 'INFRAUDIT_LOGIN_MAX_FAILURES', 5, 1, 1000),
      loginMaxFailuresPerIp: integer(env, 'INFRAUDIT_LOGIN_MAX_FAILURES_PER_IP', 20, 1, 100_000),
      loginWindowMs: integer(env, 'INFRAUDIT_LOGIN_WINDOW_MINUTES', 15, 1, 1440) * 60_000,
    },
    replicaId: text(env.INFRAUDIT_REPLICA_ID),
    accountsFile: optionalPath(cwd, text(env.INFRAUDIT_ACCOUNTS_FILE)),
    scanTickMs: integer(env, 'INFRAUDIT_SCAN_TICK_MS', 60_000, 100, 3_600_000),
    awsRegion: text(env.AWS_REGION) ?? text(env.AWS_DEFAULT_REGION),
    shutdownGraceMs: integer(env, 'INFRAUDIT_SHUTDOWN_GRACE_MS', 25_000, 0, 3_600_000),
    maxExecutionsPerHour: integer(env, 'INFRAUDIT_MAX_EXECUTIONS_PER_HOUR', 0, 0, 1_000_000),
    maxExecutionsPerHourPerAccount: integer(
      env,
      'INFRAUDIT_MAX_EXECUTIONS_PER_HOUR_PER_ACCOUNT',
      0,
      0,
      1_000_000,
    ),
    cloudConcurrency: integer(env, 'INFRAUDIT_CLOUD_CONCURRENCY', 8, 1, 256),
    cloudRatePerSecond: integer(env, 'INFRAUDIT_CLOUD_RATE_PER_SECOND', 20, 1, 10_000),
    secretKey: secretKey(env),
  };
}

function optionalPath(cwd: string, value: string | undefined): string | undefined {
  return value === undefined ? undefined : path.resolve(cwd, value);
}

export interface AuthConfig {
  /** Absolute lifetime of a sign-in session. */
  sessionMaxMs: number;
  /** A session unused this long ends. */
  sessionIdleMs: number;
  /** `auto`: Secure when the request came over https; `always` behind a TLS-terminating proxy. */
  cookieSecure: 'auto' | 'always' | 'never';
  /** Failed sign-ins per username within the window before 429. */
  loginMaxFailures: number;
  /** Failed sign-ins per client address within the window before 429. */
  loginMaxFailuresPerIp: number;
  loginWindowMs: number;
}

export const DEFAULT_AUTH: AuthConfig = loadConfig({}).auth;

export interface AlertConfig {
  /** The console's address people open; alerts link `<publicUrl>/actions/<id>`. */
  publicUrl: string | undefined;
  /** Tries per alert before it is recorded as failed. */
  attempts: number;
  /** How long one send may take. */
  timeoutMs: number;
  /** The wait before the first retry, doubled for each one after. */
  backoffMs: number;
  /** How often each server reads the alert outbox. */
  pollMs: number;
  /** How long before a rollback deadline the window-closing alert goes out. */
  windowWarningMs: number;
  /** The longest wait between rounds of tries of an undelivered alert. */
  recoveryMs: number;
  /** An alert not delivered within this long after it was raised is given up (`expired`). */
  maxAgeMs: number;
}

function secretKey(env: Env): Buffer | undefined {
  const raw = text(env.INFRAUDIT_SECRET_KEY);
  return raw === undefined ? undefined : parseSecretKey(raw, 'INFRAUDIT_SECRET_KEY');
}

function publicUrl(env: Env): string | undefined {
  const raw = text(env.INFRAUDIT_PUBLIC_URL);
  if (raw === undefined) return undefined;
  if (!/^https?:\/\/[^\s/]+/.test(raw)) {
    throw invalidInput(`INFRAUDIT_PUBLIC_URL must be an http(s) address, got "${raw}"`);
  }
  return raw.replace(/\/+$/, '');
}

function choice<T extends string>(env: Env, name: string, values: readonly T[], fallback: T): T {
  const raw = text(env[name]);
  if (raw === undefined) return fallback;
  if (!(values as readonly string[]).includes(raw)) {
    throw invalidInput(`${name} must be one of ${values.join(', ')}, got "${raw}"`);
  }
  return raw as T;
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
