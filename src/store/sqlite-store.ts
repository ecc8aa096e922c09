import { Worker } from 'node:worker_threads';
import { AppError, type ErrorCode } from '../domain/errors.ts';
import { ALERT_STORE_METHODS } from './alerts.ts';
import { INVENTORY_STORE_METHODS } from './inventory.ts';
import type { StoreCall, StoreReply } from './sqlite-worker.ts';
import type { Store } from './store.ts';

type Method = Exclude<keyof Store, 'engine'>;

/** Every store operation, forwarded as is; `satisfies` keeps this list complete. */
const METHODS = {
  auditLog: true,
  verifyAudit: true,
  claimIdempotencyKey: true,
  settleIdempotencyKey: true,
  close: true,
  createAction: true,
  createActions: true,
  getAction: true,
  listActions: true,
  countByStatus: true,
  events: true,
  transition: true,
  request: true,
  comment: true,
  updatePlan: true,
  saveSnapshot: true,
  unplanned: true,
  claim: true,
  stranded: true,
  takeOver: true,
  renewLease: true,
  saveProgress: true,
  saveSealedSecret: true,
  takeSealedSecret: true,
  finalizable: true,
  markFinalized: true,
  getSettings: true,
  updateSettings: true,
  getFixOptions: true,
  updateFixOptions: true,
  createToken: true,
  findToken: true,
  lookupToken: true,
  countTokens: true,
  listTokens: true,
  revokeToken: true,
  opsFigures: true,
  readiness: true,
  releaseLeases: true,
  beatReplica: true,
  leaveReplica: true,
  createUser: true,
  listUsers: true,
  countUsers: true,
  userCredentials: true,
  setUserDisabled: true,
  setPassword: true,
  createSession: true,
  findSession: true,
  touchSession: true,
  revokeSession: true,
  claimLoginAttempt: true,
  releaseLoginAttempt: true,
  reportFindings: true,
  recordImport: true,
  getFinding: true,
  listFindings: true,
  countFindings: true,
  findingActions: true,
  actionFindings: true,
  findingEvents: true,
  dismissFinding: true,
  reopenFinding: true,
  listExclusions: true,
  addExclusion: true,
  removeExclusion: true,
  ensureBaselines: true,
  captureBaselines: true,
  baselineTargets: true,
  listBaselines: true,
  getBaseline: true,
  activeBaselines: true,
  getCheckSettings: true,
  updateCheckSettings: true,
  ...ALERT_STORE_METHODS,
  ...INVENTORY_STORE_METHODS,
} as const satisfies Record<Method, true>;

type Pending = { resolve: (value: unknown) => void; reject: (error: Error) => void };

/**
 * The SQLite store, served from a worker thread (sqlite-worker.ts). To its callers it is
 * the same `Store` as the PostgreSQL one: errors keep their codes and messages.
 */
export async function openSqliteStore(
  path: string,
  opts: { secretKey: Buffer | undefined },
): Promise<SqliteStore> {
  const worker = new Worker(new URL('./sqlite-worker.ts', import.meta.url), {
    workerData: { path, secretKey: opts.secretKey },
    // The worker's garbage is short-lived (statements, rows, messages): a small young
    // generation collects it as often and keeps tens of megabytes off the process. It
    // holds one call's rows at a time, far under a gigabyte; naming that ceiling also has
    // V8 size the old generation to it, collecting sooner rather than growing it towards
    // the process's default (a quarter of the machine's memory) first.
    resourceLimits: { maxYoungGenerationSizeMb: 8, maxOldGenerationSizeMb: 1024 },
  });
  const pending = new Map<number, Pending>();
  let nextId = 1;
  let closed = false;

  const failAll = (error: Error) => {
    for (const waiting of pending.values()) waiting.reject(error);
    pending.clear();
  };
  worker.on('message', (reply: StoreReply) => {
    const waiting = pending.get(reply.id);
    pending.delete(reply.id);
    if (!waiting) return;
    if ('error' in reply) waiting.reject(rebuild(reply.error));
    else waiting.resolve(reply.result);
  });
  worker.on('error', failAll);
  worker.on('exit', (code) => {
    closed = true;
    failAll(new Error(`the SQLite store's worker stopped (exit code ${code})`));
  });

  const send = (call: Omit<StoreCall, 'id'> & { id?: number }) =>
    new Promise<unknown>((resolve, reject) => {
      if (closed) return reject(new Error('the SQLite store is closed'));
      const id = call.id ?? nextId++;
      pending.set(id, { resolve, reject });
      worker.postMessage({ ...call, id });
    });

  // The worker migrates the file, then answers the call numbered 0.
  await new Promise<unknown>((resolve, reject) => pending.set(0, { resolve, reject })).catch(
    async (error: unknown) => {
      await worker.terminate();
      throw error;
    },
  );

  const store = { engine: 'sqlite' } as SqliteStore;
  for (const method of Object.keys(METHODS) as Method[]) {
    Object.assign(store, {
      [method]: (...args: unknown[]) => send({ method, args } as StoreCall),
    });
  }
  store.close = async () => {
    if (closed) return;
    const exited = new Promise((resolve) => worker.once('exit', resolve));
    worker.postMessage('close');
    await exited;
  };
  store.rawQuery = (sql, params = []) =>
    send({ raw: sql, params } as StoreCall) as Promise<unknown[]>;
  return store;
}

export interface SqliteStore extends Store {
  /** Runs one SQL statement directly on the worker's connection; for benchmarks and diagnostics. */
  rawQuery(sql: string, params?: unknown[]): Promise<unknown[]>;
}

function rebuild(error: Extract<StoreReply, { error: unknown }>['error']): Error {
  if (error.app) {
    return new AppError(
      error.code as ErrorCode,
      error.message,
      error.details as Record<string, unknown> | undefined,
    );
  }
  return Object.assign(new Error(error.message), { code: error.code });
}
