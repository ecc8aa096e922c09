import { DatabaseSync } from 'node:sqlite';

/** Opens the product's SQLite file with the settings every connection to it must use. */
export function openSqliteFile(path: string): DatabaseSync {
  const db = new DatabaseSync(path);
  // WAL lets readers proceed during a write; FULL sync keeps every committed approval,
  // snapshot and audit event through a power loss, not only a process crash.
  db.exec('PRAGMA journal_mode = WAL');
  db.exec('PRAGMA synchronous = FULL');
  db.exec('PRAGMA busy_timeout = 5000');
  db.exec('PRAGMA foreign_keys = ON');
  return db;
}
