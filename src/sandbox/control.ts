import { SandboxInputError } from './api-error.ts';
import type { FaultTable } from './faults.ts';
import type { MutationLog } from './mutations.ts';
import { parseDocument } from './state-file.ts';
import type { FaultSpec, StateDocument } from './types.ts';

/** The control path's prefix; no bucket name can start with `_`, so nothing collides. */
export const CONTROL_PREFIX = '/_sandbox/';

export interface ControlTarget {
  log: MutationLog;
  faults: FaultTable;
  services: string[];
  state(): StateDocument;
  replaceState(doc: StateDocument): void;
  /** Saves to the configured state path and returns it. */
  save(): Promise<string>;
}

export interface ControlReply {
  status: number;
  json?: unknown;
}

/**
 * The sandbox's own HTTP API, for tests and the demo: read the mutation log, inject
 * faults, read or replace the state. See docs/sandbox.md.
 */
export async function handleControl(
  method: string,
  path: string,
  query: URLSearchParams,
  body: Buffer,
  target: ControlTarget,
): Promise<ControlReply> {
  const route = `${method} ${path.slice(CONTROL_PREFIX.length)}`;
  try {
    switch (route) {
      case 'GET health':
        return { status: 200, json: { ok: true, services: target.services } };
      case 'GET mutations':
        return { status: 200, json: { mutations: target.log.list(since(query)) } };
      case 'DELETE mutations':
        target.log.clear();
        return { status: 204 };
      case 'GET faults':
        return { status: 200, json: { faults: target.faults.list() } };
      case 'POST faults': {
        const raw = parseJson(body);
        const specs = (Array.isArray(raw) ? raw : [raw]) as FaultSpec[];
        return { status: 201, json: { faults: target.faults.addAll(specs) } };
      }
      case 'DELETE faults':
        target.faults.clear();
        return { status: 204 };
      case 'GET state':
        return { status: 200, json: target.state() };
      case 'PUT state':
        target.replaceState(parseDocument(parseJson(body), 'from PUT /_sandbox/state'));
        return { status: 204 };
      case 'POST save':
        return { status: 200, json: { path: await target.save() } };
      default:
        return {
          status: 404,
          json: { error: `no control operation ${route}; see docs/sandbox.md for the list` },
        };
    }
  } catch (err) {
    if (err instanceof SandboxInputError) return { status: 400, json: { error: err.message } };
    throw err;
  }
}

function since(query: URLSearchParams): number {
  const raw = query.get('since');
  if (raw === null) return 0;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) {
    throw new SandboxInputError(`since must be a mutation sequence number, got "${raw}"`);
  }
  return n;
}

function parseJson(body: Buffer): unknown {
  try {
    return JSON.parse(body.toString('utf8'));
  } catch (err) {
    throw new SandboxInputError(`the request body must be JSON: ${(err as Error).message}`);
  }
}
