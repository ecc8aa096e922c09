import pg from 'pg';
import { hashPassword } from '../../src/api/password.ts';
import type { Role } from '../../src/domain/status.ts';
import type { SqliteStore } from '../../src/store/sqlite-store.ts';
import type { ApiHarness, CallResult } from './api.ts';
import type { TestDatabase } from './databases.ts';

/** A signed-in browser: the session cookie and the CSRF token GET /session hands out. */
export interface Browser {
  cookie: string;
  csrf: string;
  setCookie: string;
  body: any;
}

/** Creates a user straight in the store with a known password, no change required. */
export async function addUser(api: ApiHarness, username: string, role: Role, password: string) {
  return api.store.createUser(
    {
      username,
      displayName: username,
      role,
      passwordHash: await hashPassword(password),
      mustChangePassword: false,
    },
    { actor: 'system', now: new Date() },
  );
}

export async function login(
  api: ApiHarness,
  username: string,
  password: string,
  headers: Record<string, string> = {},
): Promise<CallResult & { browser: Browser | undefined; headers: Headers }> {
  const response = await fetch(`${api.url}/api/v1/session`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ username, password }),
  });
  const text = await response.text();
  const body = text ? JSON.parse(text) : undefined;
  const setCookie = response.headers.get('set-cookie') ?? '';
  const cookie = setCookie.split(';')[0] ?? '';
  const browser =
    response.status === 200 ? { cookie, csrf: body.csrfToken, setCookie, body } : undefined;
  return { status: response.status, body, text, browser, headers: response.headers };
}

/** A request as the console makes it: the cookie, and the CSRF header unless `csrf` is false. */
export async function browse(
  api: ApiHarness,
  browser: Browser,
  method: string,
  route: string,
  o: { body?: unknown; csrf?: string | false; headers?: Record<string, string> } = {},
): Promise<CallResult & { headers: Headers }> {
  const headers: Record<string, string> = { cookie: browser.cookie, ...o.headers };
  if (o.csrf !== false) headers['x-csrf-token'] = o.csrf ?? browser.csrf;
  if (o.body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(`${api.url}${route}`, {
    method,
    headers,
    ...(o.body === undefined ? {} : { body: JSON.stringify(o.body) }),
  });
  const text = await response.text();
  let body: unknown;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    body = undefined;
  }
  return { status: response.status, body, text, headers: response.headers };
}

/** The audit events about users and sessions, oldest first, read straight from the database. */
export async function userEvents(
  api: ApiHarness,
  database?: TestDatabase,
): Promise<{ actor: string; comment: string; data: string }[]> {
  const sql = "SELECT actor, comment, data FROM events WHERE type = 'user' ORDER BY id";
  if (database?.url) {
    const client = new pg.Client({ connectionString: database.url });
    await client.connect();
    try {
      return (await client.query(sql)).rows;
    } finally {
      await client.end();
    }
  }
  return (await (api.store as SqliteStore).rawQuery(sql)) as never;
}
