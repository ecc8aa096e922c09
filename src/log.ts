import pino, { type Logger } from 'pino';

export type { Logger } from 'pino';

/** Paths pino blanks out wherever they appear in a log line. */
export const REDACTED_PATHS = [
  'req.headers.authorization',
  'headers.authorization',
  'authorization',
  'token',
  '*.token',
  'databaseUrl',
  '*.databaseUrl',
];

export interface LoggerOptions {
  level?: string;
  /** File descriptor to write to; 2 (stderr) keeps stdout free for command output. */
  fd?: number;
}

/** The product's logger: JSON lines, secrets redacted. Modules take it as a parameter. */
export function createLogger(opts: LoggerOptions = {}): Logger {
  return pino(
    {
      name: 'infraudit',
      level: opts.level ?? 'info',
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
    },
    pino.destination({ fd: opts.fd ?? 2, sync: true }),
  );
}
