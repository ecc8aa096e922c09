import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { SandboxInputError } from './api-error.ts';
import type { StateDocument } from './types.ts';

const ACCOUNT_ID = /^\d{12}$/;
const REGION = /^[a-z]{2}(-[a-z]+)+-\d+$/;

export function emptyDocument(account: string): StateDocument {
  return { version: 1, defaultAccount: account, accounts: { [account]: { regions: {} } } };
}

/** Reads a saved state; null when the file does not exist. */
export async function readStateFile(path: string): Promise<StateDocument | null> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new SandboxInputError(
      `sandbox state file ${path} is not valid JSON (${(err as Error).message}); ` +
        'fix it or delete it to start from the seed',
    );
  }
  return parseDocument(raw, path);
}

/** Writes the state through a temporary file, so a crash never leaves half a file. */
export async function writeStateFile(path: string, doc: StateDocument): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  // The state holds the secret keys the fake IAM issued: readable by its owner only.
  await writeFile(tmp, `${JSON.stringify(doc, null, 2)}\n`, { encoding: 'utf8', mode: 0o600 });
  await rename(tmp, path);
}

/**
 * Checks the document's frame (version, accounts, regions); each service module checks
 * its own part when it loads.
 */
export function parseDocument(raw: unknown, source: string): StateDocument {
  const fail = (what: string) => new SandboxInputError(`sandbox state ${source}: ${what}`);
  if (!isObject(raw)) throw fail('must be a JSON object');
  if (raw.version !== 1) {
    throw fail(`version must be 1, got ${JSON.stringify(raw.version)}`);
  }
  if (!isObject(raw.accounts)) throw fail('"accounts" must be an object keyed by account id');
  for (const [id, account] of Object.entries(raw.accounts)) {
    if (!ACCOUNT_ID.test(id)) throw fail(`account id "${id}" must be 12 digits`);
    if (!isObject(account) || !isObject(account.regions ?? {})) {
      throw fail(`accounts.${id} must be an object with "regions"`);
    }
    const keys = account.accessKeyIds ?? [];
    if (!Array.isArray(keys) || keys.some((k) => typeof k !== 'string')) {
      throw fail(`accounts.${id}.accessKeyIds must be a list of strings`);
    }
    for (const region of Object.keys((account.regions ?? {}) as object)) {
      if (!REGION.test(region)) throw fail(`accounts.${id}.regions: "${region}" is not a region`);
    }
  }
  const ids = Object.keys(raw.accounts);
  const fallback = ids[0];
  const defaultAccount = raw.defaultAccount ?? fallback;
  if (typeof defaultAccount !== 'string' || !ids.includes(defaultAccount)) {
    throw fail(
      `defaultAccount must name one of the accounts (${ids.join(', ') || 'none listed'}), ` +
        `got ${JSON.stringify(raw.defaultAccount)}`,
    );
  }
  return { ...(raw as unknown as StateDocument), defaultAccount };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
