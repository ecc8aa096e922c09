import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { ApiError } from './api-error.ts';
import { CONTROL_PREFIX, handleControl } from './control.ts';
import { FaultTable, seededRandom } from './faults.ts';
import { isKubernetesPath } from './k8s/index.ts';
import { MutationLog } from './mutations.ts';
import { createServiceModules } from './services.ts';
import { DEMO_ACCOUNT, demoDocument } from './seed.ts';
import { readSigner } from './signer.ts';
import { emptyDocument, readStateFile, writeStateFile } from './state-file.ts';
import { assumedKeyAccount } from './sts/index.ts';
import type {
  ActiveFault,
  FaultSpec,
  Mutation,
  SandboxRequest,
  SandboxResponse,
  ServiceContext,
  ServiceModule,
  StateDocument,
} from './types.ts';

export interface SandboxOptions {
  /** Loopback by default; the sandbox is never meant to be reachable from elsewhere. */
  host?: string;
  /** 0 (the default) picks a free port; read it back from `url`. */
  port?: number;
  /** Loaded at start when the file exists; the default target of `save()`. */
  statePath?: string;
  /** The state to start from when there is no state file. `empty` by default. */
  seed?: 'demo' | 'empty';
  /** The account requests act as unless their access key is listed under another. */
  accountId?: string;
  /** Seeds the generator behind probabilistic faults, to replay a run. */
  faultSeed?: number;
  /**
   * Writes the state to `statePath` shortly after every change, so a killed process
   * loses at most the last fraction of a second of the cloud's state.
   */
  autosave?: boolean;
  /** Receives handler failures that are the sandbox's own bugs, e.g. a pino logger. */
  log?: { error(obj: object, msg: string): void };
}

export interface Sandbox {
  /** Base URL to give the SDK as `endpoint`, e.g. `http://127.0.0.1:40123`. */
  url: string;
  close(): Promise<void>;
  /** Writes the state as JSON to `path`, or to the `statePath` it was started with. */
  save(path?: string): Promise<void>;
  /** The changes applied so far, oldest first. */
  mutations(): Mutation[];
  clearMutations(): void;
  injectFault(f: FaultSpec): ActiveFault;
  faults(): ActiveFault[];
  clearFaults(): void;
  /** A copy of the current state, in the saved form. */
  state(): StateDocument;
}

const MAX_BODY_BYTES = 16 * 1024 * 1024;
const AUTOSAVE_DELAY_MS = 100;

/** Starts the sandbox cloud on loopback. */
export async function startSandbox(opts: SandboxOptions = {}): Promise<Sandbox> {
  const log = new MutationLog();
  const faults = new FaultTable(seededRandom(opts.faultSeed ?? Date.now()));
  const ctx: ServiceContext = {
    record: (change) => {
      const recorded = log.record(change, new Date());
      scheduleSave();
      return recorded;
    },
    now: () => new Date(),
  };
  const modules: ServiceModule[] = createServiceModules(ctx);
  const fallback = modules[0] as ServiceModule;

  let defaultAccount = '';
  let accounts: StateDocument['accounts'] = {};
  let keyOwners = new Map<string, string>();

  const load = (doc: StateDocument) => {
    for (const m of modules) m.load(doc);
    accounts = {};
    keyOwners = new Map();
    for (const [id, account] of Object.entries(doc.accounts)) {
      accounts[id] = {
        ...(account.accessKeyIds ? { accessKeyIds: account.accessKeyIds } : {}),
        regions: {},
      };
      for (const key of account.accessKeyIds ?? []) keyOwners.set(key, id);
    }
    defaultAccount = opts.accountId ?? doc.defaultAccount;
    accounts[defaultAccount] ??= { regions: {} };
  };

  const state = (): StateDocument => {
    const doc: StateDocument = {
      version: 1,
      defaultAccount,
      accounts: structuredClone(accounts),
    };
    for (const m of modules) m.save(doc);
    return doc;
  };

  const save = async (path = opts.statePath): Promise<string> => {
    if (!path) {
      throw new Error(
        'the sandbox has no state path: pass save(path) or start it with { statePath }',
      );
    }
    await writeStateFile(path, state());
    return path;
  };

  // Saves run one at a time; changes made during a save are written by the next one.
  let saveTimer: NodeJS.Timeout | undefined;
  let saving: Promise<unknown> = Promise.resolve();
  function scheduleSave() {
    if (!opts.autosave || !opts.statePath || saveTimer) return;
    saveTimer = setTimeout(() => {
      saveTimer = undefined;
      saving = saving
        .then(() => save())
        .catch((err: unknown) => opts.log?.error({ err }, 'sandbox autosave failed'));
    }, AUTOSAVE_DELAY_MS);
  }
  const flushSaves = async () => {
    if (saveTimer) {
      clearTimeout(saveTimer);
      saveTimer = undefined;
      saving = saving.then(() => save());
    }
    await saving;
  };

  const account = opts.accountId ?? DEMO_ACCOUNT;
  const saved = opts.statePath ? await readStateFile(opts.statePath) : null;
  load(saved ?? (opts.seed === 'demo' ? demoDocument(account) : emptyDocument(account)));

  let nextRequest = 0;
  const requestPrefix = Math.floor(Math.random() * 0xffffffff)
    .toString(16)
    .toUpperCase()
    .padStart(8, '0');

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const raw = req.url ?? '/';
    const q = raw.indexOf('?');
    const path = safeDecode(q === -1 ? raw : raw.slice(0, q));
    const query = new URLSearchParams(q === -1 ? '' : raw.slice(q + 1));
    const body = await readBody(req);
    const method = req.method ?? 'GET';

    if (path.startsWith(CONTROL_PREFIX)) {
      const reply = await handleControl(method, path, query, body, {
        log,
        faults,
        services: modules.map((m) => m.name),
        state,
        replaceState: load,
        save,
      });
      return sendJson(res, reply.status, reply.json);
    }

    nextRequest += 1;
    const signer = readSigner(req.headers, query);
    const request: SandboxRequest = {
      method,
      path,
      query,
      headers: req.headers,
      body,
      signer,
      account:
        (signer && (keyOwners.get(signer.accessKeyId) ?? assumedKeyAccount(signer.accessKeyId))) ??
        defaultAccount,
      requestId: requestPrefix + nextRequest.toString(16).toUpperCase().padStart(8, '0'),
    };
    const service = signer?.service ?? (isKubernetesPath(path) ? 'kubernetes' : undefined);
    const module = modules.find((m) => m.name === service) ?? fallback;
    send(res, request, module, await serve(module, request));
  };

  const serve = async (module: ServiceModule, req: SandboxRequest): Promise<SandboxResponse> => {
    const route = module.match(req);
    if (!route) return module.renderError(new ApiError(UNROUTED), req);
    const draw = faults.draw(module.name, route.operation);
    if (draw.latencyMs > 0) await sleep(draw.latencyMs);
    const failure = draw.failure;
    if (failure?.when === 'before') return module.renderError(module.faultError(failure.kind), req);

    let response: SandboxResponse;
    try {
      response = route.run();
    } catch (err) {
      if (!(err instanceof ApiError)) {
        opts.log?.error({ err, operation: route.operation }, 'sandbox handler failed');
      }
      response = module.renderError(
        err instanceof ApiError ? err : module.faultError('error'),
        req,
      );
    }
    if (failure) return module.renderError(module.faultError(failure.kind), req);
    return response;
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      opts.log?.error({ err }, 'sandbox request failed');
      if (err instanceof BodyTooLarge) return sendJson(res, 413, { error: err.message });
      if (!res.headersSent) sendJson(res, 500, { error: 'sandbox failure' });
      else res.destroy();
    });
  });
  server.keepAliveTimeout = 30_000;

  const host = opts.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    close: async () => {
      await new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      });
      if (opts.autosave) await flushSaves();
    },
    save: async (path) => {
      await save(path);
    },
    mutations: () => log.list(),
    clearMutations: () => log.clear(),
    injectFault: (f) => faults.add(f),
    faults: () => faults.list(),
    clearFaults: () => faults.clear(),
    state,
  };
}

const UNROUTED = {
  status: 400,
  code: 'InvalidRequest',
  message: 'the sandbox does not emulate this request',
};

class BodyTooLarge extends Error {}

/** Reads the whole body; an oversized one is drained and refused once it has ended. */
function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_BODY_BYTES) chunks.push(chunk);
    });
    req.on('end', () => {
      if (size > MAX_BODY_BYTES) {
        reject(new BodyTooLarge(`the request body is over ${MAX_BODY_BYTES} bytes`));
      } else {
        resolve(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks));
      }
    });
    req.on('error', reject);
  });
}

function send(
  res: ServerResponse,
  req: SandboxRequest,
  module: ServiceModule,
  out: SandboxResponse,
): void {
  const body = req.method === 'HEAD' ? '' : (out.body ?? '');
  res.writeHead(out.status, {
    ...out.headers,
    ...module.responseHeaders(req),
    'content-length': Buffer.byteLength(body),
  });
  res.end(body);
}

function sendJson(res: ServerResponse, status: number, json: unknown): void {
  const body = json === undefined ? '' : JSON.stringify(json);
  res.writeHead(status, {
    ...(body ? { 'content-type': 'application/json' } : {}),
    'content-length': Buffer.byteLength(body),
  });
  res.end(body);
}

function safeDecode(path: string): string {
  try {
    return decodeURIComponent(path);
  } catch {
    return path;
  }
}
