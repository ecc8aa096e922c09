import { parentPort, workerData } from 'node:worker_threads';
import { Kysely, SqliteDialect } from 'kysely';
import { AppError } from '../domain/errors.ts';
import { kyselyStore } from './kysely-store.ts';
import { migrate } from './migrate.ts';
import type { Database } from './schema.ts';
import { adaptNodeSqlite } from './sqlite-adapter.ts';
import { openSqliteFile } from './sqlite-file.ts';
import type { Store } from './store.ts';

/**
 * The embedded store runs on this worker thread. node:sqlite is synchronous and a
 * durable commit waits for the disk; here that wait blocks only this thread, while the
 * main thread goes on serving requests and talking to the cloud. Each store call is one
 * message each way, whatever the number of statements inside it.
 */
export type StoreCall =
  | { id: number; method: keyof Store; args: unknown[] }
  | { id: number; raw: string; params: unknown[] };

export type StoreReply =
  | { id: number; result: unknown }
  | { id: number; error: { app: boolean; code?: string; message: string; details?: unknown } };

const port = parentPort;
if (!port) throw new Error('sqlite-worker.ts runs only as a worker thread');

const file = openSqliteFile(workerData.path as string);
// SQLite's default 2 MiB page cache holds too little of the findings table's indexes: a
// large import rereads index pages from the file batch after batch. 8 MiB keeps the hot
// part (rows have time-ordered ids, so new entries land together) in memory; more buys
// little and stays resident in every server.
file.exec('PRAGMA cache_size = -8192');
let grouped = false;
const database = adaptNodeSqlite(file, { open: () => grouped });
const db = new Kysely<Database>({ dialect: new SqliteDialect({ database }) });
let store: Store | undefined;

const MAX_GROUP = 256;
const queue: StoreCall[] = [];
let flushing = false;
let closing = false;

port.on('message', (call: StoreCall | 'close') => {
  if (call === 'close') {
    closing = true;
    if (!flushing) void shutDown();
    return;
  }
  queue.push(call);
  if (!flushing) {
    flushing = true;
    setImmediate(() => void flush());
  }
});

/**
 * Group commit: the calls that arrived together run one after another inside one
 * transaction, each in its own savepoint, and the disk is synced once for all of them.
 * Nobody hears back before that sync, so every acknowledged write is durable; if the
 * commit itself fails, every call in the group is told so and none of them took effect.
 */
async function flush() {
  while (queue.length > 0) {
    const batch = queue.splice(0, MAX_GROUP);
    let replies: StoreReply[] = [];
    file.exec('BEGIN IMMEDIATE');
    grouped = true;
    for (const call of batch) {
      try {
        replies.push({ id: call.id, result: await dispatch(call) });
      } catch (error) {
        replies.push({ id: call.id, error: describe(error) });
      }
    }
    grouped = false;
    try {
      file.exec('COMMIT');
    } catch (error) {
      if (file.isTransaction) file.exec('ROLLBACK');
      replies = batch.map((call) => ({ id: call.id, error: describe(error) }));
    }
    for (const reply of replies) port?.postMessage(reply);
  }
  flushing = false;
  if (closing) await shutDown();
}

async function shutDown() {
  await db.destroy();
  port?.close();
}

async function dispatch(call: StoreCall): Promise<unknown> {
  if ('raw' in call) {
    // Diagnostics and benchmarks: one prepared statement, no store logic around it.
    return file.prepare(call.raw).all(...(call.params as never[]));
  }
  if (!store) throw new Error('the store is not open yet');
  const method = store[call.method] as (...args: unknown[]) => Promise<unknown>;
  return method(...call.args);
}

function describe(error: unknown): Extract<StoreReply, { error: unknown }>['error'] {
  if (error instanceof AppError) {
    return { app: true, code: error.code, message: error.message, details: error.details };
  }
  const e = error as { message?: string; code?: string; cause?: { message?: string } };
  const cause = e.cause?.message ? ` (${e.cause.message})` : '';
  return { app: false, code: e.code, message: `${e.message ?? String(error)}${cause}` };
}

try {
  await migrate(db, 'sqlite');
  const key = workerData.secretKey as Uint8Array | undefined;
  store = kyselyStore(db, 'sqlite', key ? Buffer.from(key) : undefined);
  port.postMessage({ id: 0, result: null } satisfies StoreReply);
} catch (error) {
  port.postMessage({ id: 0, error: describe(error) } satisfies StoreReply);
}
