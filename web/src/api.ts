import type { Role } from '../../src/domain/status.ts';

export const API = '/api/v1';

/** A refusal from the server, or a failure to reach it, in words a person can act on. */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly details: Record<string, unknown> | undefined;

  constructor(status: number, code: string, message: string, details?: Record<string, unknown>) {
    super(message);
    this.status = status;
    this.code = code;
    this.details = details;
  }

  /** The route itself does not exist: this server has no such feature. */
  get missingRoute(): boolean {
    return this.status === 404 && /^no route /.test(this.message);
  }
}

export interface Me {
  name: string;
  role: Role;
  via: 'session' | 'token';
  /** The audit actor the server records for this caller (`user:<name>`, `token:<name>`). */
  actor: string;
  /** A first sign-in with a password an admin set: nothing else works until it is changed. */
  mustChangePassword: boolean;
}

/** How requests authenticate: the session cookie plus its CSRF token, or a bearer token. */
type Credentials = { kind: 'session'; csrfToken: string } | { kind: 'token'; token: string };

const TOKEN_KEY = 'infraudit.token';
let credentials: Credentials | null = null;
let onSignedOut: (() => void) | null = null;

export function whenSignedOut(listener: () => void): void {
  onSignedOut = listener;
}

function headersFor(method: string, body: unknown): Record<string, string> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (credentials?.kind === 'token') headers.authorization = `Bearer ${credentials.token}`;
  if (credentials?.kind === 'session' && method !== 'GET') {
    headers['x-csrf-token'] = credentials.csrfToken;
  }
  return headers;
}

export async function request<T>(method: string, path: string, body?: unknown): Promise<T> {
  let response: Response;
  try {
    response = await fetch(`${API}${path}`, {
      method,
      headers: headersFor(method, body),
      credentials: 'same-origin',
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  } catch {
    throw new ApiError(
      0,
      'unreachable',
      'The server could not be reached. Check that it is running and try again.',
    );
  }
  const text = await response.text();
  let parsed: unknown;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    parsed = undefined;
  }
  if (!response.ok) {
    const error = (parsed as { error?: { code?: string; message?: string; details?: object } })
      ?.error;
    const failure = new ApiError(
      response.status,
      error?.code ?? 'http_' + response.status,
      error?.message ?? `The server answered ${response.status} ${response.statusText}.`,
      error?.details as Record<string, unknown> | undefined,
    );
    // A session that ended elsewhere (expiry, sign-out in another tab) sends the person
    // back to the sign-in page instead of leaving every panel showing the same error.
    if (response.status === 401 && credentials && !path.startsWith('/session')) {
      forget();
      onSignedOut?.();
    }
    throw failure;
  }
  return parsed as T;
}

export function get<T>(path: string): Promise<T> {
  const early = prefetched.get(path);
  if (early) {
    prefetched.delete(path);
    return early as Promise<T>;
  }
  return request<T>('GET', path);
}
export const post = <T>(path: string, body: unknown = {}) => request<T>('POST', path, body);
export const put = <T>(path: string, body: unknown) => request<T>('PUT', path, body);

interface SessionReply {
  user: {
    username: string;
    displayName?: string | null;
    role: Role;
    mustChangePassword?: boolean;
  };
  csrfToken: string;
}

function fromSession(reply: SessionReply): Me {
  credentials = { kind: 'session', csrfToken: reply.csrfToken };
  return {
    name: reply.user.displayName || reply.user.username,
    role: reply.user.role,
    via: 'session',
    actor: `user:${reply.user.username}`,
    mustChangePassword: reply.user.mustChangePassword === true,
  };
}

export async function signIn(username: string, password: string): Promise<Me> {
  return fromSession(await request<SessionReply>('POST', '/session', { username, password }));
}

/** GET /whoami: the caller as the server sees it, for a token as for a session. */
interface WhoAmI {
  kind: 'token' | 'user';
  name: string;
  role: Role;
  actor: string;
}

/** Signs in with a bearer token: the server names its role, nothing is guessed. */
export async function signInWithToken(token: string): Promise<Me> {
  credentials = { kind: 'token', token };
  let who: WhoAmI;
  try {
    who = await get<WhoAmI>('/whoami');
  } catch (error) {
    credentials = null;
    throw error;
  }
  sessionStorage.setItem(TOKEN_KEY, token);
  return {
    name: who.name,
    role: who.role,
    via: 'token',
    actor: who.actor,
    mustChangePassword: false,
  };
}

/**
 * Uses a token this tab signed in with for the requests that start before sign-in is
 * confirmed; a session needs nothing, its cookie goes with every request.
 */
export function restoreToken(): boolean {
  const token = sessionStorage.getItem(TOKEN_KEY);
  if (token) credentials = { kind: 'token', token };
  return token !== null;
}

const prefetched = new Map<string, Promise<unknown>>();

/**
 * Starts a GET the first page will make, at the same time as the sign-in check instead
 * of after it; the page's own first `get` of the same path takes the answer.
 */
export function prefetch(path: string): void {
  const answer = request('GET', path);
  // Not signed in yet: the page that would have used it is never shown.
  answer.catch(() => undefined);
  prefetched.set(path, answer);
}

/** Forgets answers fetched before sign-in: they were made with no or other credentials. */
export function dropPrefetched(): void {
  prefetched.clear();
}

/**
 * Restores a signed-in state after a reload: a token this tab signed in with, else the
 * session cookie.
 */
export async function resume(): Promise<Me | null> {
  const token = sessionStorage.getItem(TOKEN_KEY);
  if (token) {
    try {
      return await signInWithToken(token);
    } catch (error) {
      if (!(error instanceof ApiError) || error.status !== 401) throw error;
      forget();
    }
  }
  try {
    return fromSession(await get<SessionReply>('/session'));
  } catch (error) {
    if (error instanceof ApiError && (error.status === 401 || error.status === 404)) return null;
    throw error;
  }
}

function forget(): void {
  credentials = null;
  sessionStorage.removeItem(TOKEN_KEY);
}

export async function changePassword(currentPassword: string, newPassword: string): Promise<Me> {
  return fromSession(
    await request<SessionReply>('POST', '/session/password', { currentPassword, newPassword }),
  );
}

export async function signOut(): Promise<void> {
  try {
    if (credentials?.kind === 'session') await request('DELETE', '/session');
  } finally {
    forget();
  }
}
