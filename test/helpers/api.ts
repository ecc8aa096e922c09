import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import pino from 'pino';
import { buildApp } from '../../src/api/app.ts';
import { DEFAULT_AUTH, type AuthConfig } from '../../src/config.ts';
import { createCatalog } from '../../src/catalog/index.ts';
import type { Role } from '../../src/domain/status.ts';
import { createRemediationService } from '../../src/service/remediation.ts';
import { openStore } from '../../src/store/connect.ts';
import type { Scanner } from '../../src/inventory/scan.ts';
import type { Store } from '../../src/store/store.ts';
import type { TestDatabase } from './databases.ts';

export interface ApiHarnessOptions {
  clock?: () => Date;
  /** Wraps the store the app sees, e.g. to make one call fail. */
  wrapStore?: (store: Store) => Store;
  /** A database from createTestDatabase (its engine is used; the caller drops it). */
  database?: TestDatabase;
  /** Sign-in sessions and their rate limit, instead of the defaults. */
  auth?: Partial<AuthConfig>;
  /** The scanner `POST /scans` runs, made over the harness's store. */
  scanner?: (store: Store) => Scanner;
}

export interface CallOptions {
  /** A role picks that role's token; a string is sent as is; null sends none. */
  as?: Role | null | { token: string };
  body?: unknown;
  /** Sent verbatim instead of JSON: text as UTF-8, or the bytes given. */
  raw?: string | Buffer;
  contentType?: string;
  /** Extra request headers, e.g. `idempotency-key`. */
  headers?: Record<string, string>;
}

export interface CallResult {
  status: number;
  body: any;
  text: string;
  headers: Headers;
}

/** A temp data folder with an SQLite store, the service and the API on 127.0.0.1:0. */
export async function startApi(opts: ApiHarnessOptions = {}) {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'infraudit-api-'));
  const store = await openStore(
    opts.database?.url ? { dataDir, databaseUrl: opts.database.url } : { dataDir },
  );
  const logLines: string[] = [];
  const log = pino(
    { level: 'info', redact: ['req.headers.authorization'] },
    new Writable({
      write(chunk, _encoding, done) {
        logLines.push(String(chunk));
        done();
      },
    }),
  );
  let wakes = 0;
  const appStore = opts.wrapStore ? opts.wrapStore(store) : store;
  const service = createRemediationService({
    store: appStore,
    catalog: createCatalog(),
    ...(opts.clock ? { clock: opts.clock } : {}),
    onWork: () => {
      wakes += 1;
    },
  });
  const app: FastifyInstance = await buildApp({
    service,
    store: appStore,
    log,
    importLimitBytes: 2 * 1024 * 1024,
    auth: { ...DEFAULT_AUTH, ...opts.auth },
    ...(opts.scanner ? { scanner: opts.scanner(appStore) } : {}),
    ...(opts.clock ? { clock: opts.clock } : {}),
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  const url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;

  const tokens = {} as Record<Role, string>;
  for (const role of ['viewer', 'operator', 'admin'] as const) {
    tokens[role] = (await store.createToken({ role, name: `${role}-test`, now: new Date() })).token;
  }

  async function call(method: string, route: string, o: CallOptions = {}): Promise<CallResult> {
    const headers: Record<string, string> = { ...o.headers };
    const as = o.as === undefined ? 'admin' : o.as;
    if (as !== null) {
      headers.authorization = `Bearer ${typeof as === 'string' ? tokens[as] : as.token}`;
    }
    let body: string | Buffer | undefined;
    if (o.raw !== undefined) {
      body = o.raw;
      headers['content-type'] = o.contentType ?? 'text/plain';
    } else if (o.body !== undefined) {
      body = JSON.stringify(o.body);
      headers['content-type'] = o.contentType ?? 'application/json';
    }
    const response = await fetch(`${url}${route}`, {
      method,
      headers,
      ...(body === undefined ? {} : { body }),
    });
    const text = await response.text();
    let parsed: unknown;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = undefined;
    }
    return { status: response.status, body: parsed, text, headers: response.headers };
  }

  return {
    url,
    dataDir,
    store,
    service,
    app,
    tokens,
    logLines,
    wakes: () => wakes,
    call,
    async close() {
      await app.close();
      await store.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

export type ApiHarness = Awaited<ReturnType<typeof startApi>>;

/** The body of `POST /actions` for an S3 bucket. */
export function suggestion(bucket: string, extra: Record<string, unknown> = {}) {
  return {
    type: 's3.enable-default-encryption',
    resource: { type: 'AwsS3Bucket', id: `arn:aws:s3:::${bucket}` },
    severity: 'high',
    ...extra,
  };
}
