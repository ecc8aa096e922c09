import { chmodSync, closeSync, mkdirSync, openSync, statSync } from 'node:fs';
import type { Logger } from 'pino';

/** The database and its companions: SQLite's write-ahead log and shared-memory index. */
const COMPANIONS = ['', '-wal', '-shm', '-journal'];

/**
 * The data folder holds the database, the admin token and the secret key: only the
 * server's own user may open it. A folder or file left looser by an earlier version or by
 * hand is tightened, and the log says so.
 */
export function prepareDataDir(dir: string, log: Logger | undefined): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  tighten(dir, 0o700, log);
}

/**
 * Creates the SQLite file 0600 before SQLite opens it: SQLite gives its -wal and -shm
 * files the mode of the database file, so they are born private too.
 */
export function prepareDatabaseFile(file: string, log: Logger | undefined): void {
  closeSync(openSync(file, 'a', 0o600));
  for (const suffix of COMPANIONS) tighten(file + suffix, 0o600, log);
}

function tighten(path: string, mode: number, log: Logger | undefined): void {
  let current: number;
  try {
    current = statSync(path).mode & 0o777;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw error;
  }
  if ((current & ~mode) === 0) return;
  chmodSync(path, mode);
  log?.warn(
    { path, mode: current.toString(8), now: mode.toString(8) },
    'tightened permissions: the data folder and database files are private to this user',
  );
}
