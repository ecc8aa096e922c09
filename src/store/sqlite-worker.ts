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
// Each checkpoint copies the pages the log holds into the file and syncs it. SQLite's
// default of one every 1,000 pages (4 MiB) has a large import checkpoint every few
// batches, copying index pages again that the next batches change anyway; 4,000 pages
// take a few percent off a large import, for a log of up to 16 MiB between checkpoints.
file.exec('PRAGMA wal_autocheckpoint = 4000');
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
 * A call that arrived alone runs as it would on PostgreSQL, its transactions committing
 * themselves: a savepoint would only copy every page the call changes into a statement
 * journal, which for an import batch is hundreds of pages.
 */
async function flush() {
  while (queue.length > 0) {
    const batch = queue.splice(0, MAX_GROUP);
    const replies = batch.length === 1 ? [await reply(batch[0]!)] : await together(batch);
    for (const answer of replies) port?.postMessage(answer);
  }
  flushing = false;
  if (closing) await shutDown();
}

async function together(batch: StoreCall[]): Promise<StoreReply[]> {
  file.exec('BEGIN IMMEDIATE');
  grouped = true;
  const replies: StoreReply[] = [];
  for (const call of batch) replies.push(await reply(call));
  grouped = false;
  try {
    file.exec('COMMIT');
    return replies;
  } catch (error) {
    if (file.isTransaction) file.exec('ROLLBACK');
    return batch.map((call) => ({ id: call.id, error: describe(error) }));
  }
}

async function reply(call: StoreCall): Promise<StoreReply> {
  try {
    return { id: call.id, result: await dispatch(call) };
  } catch (error) {
    return { id: call.id, error: describe(error) };
  }
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
