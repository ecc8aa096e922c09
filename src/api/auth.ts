import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { AuthConfig } from '../config.ts';
import { forbidden, unauthorized } from '../domain/errors.ts';
import { roleAllows, type Role } from '../domain/status.ts';
import type { Store } from '../store/store.ts';
import type { User } from '../store/users.ts';
import { accessFor } from './policy.ts';

/** The cookie that carries a console session's id; nothing else about it is in the browser. */
export const SESSION_COOKIE = 'infraudit_session';
/** The header a cookie-authenticated change must carry, holding the session's CSRF token. */
export const CSRF_HEADER = 'x-csrf-token';

export type Principal =
  | { kind: 'token'; id: string; name: string; role: Role; expiresAt: string | null }
  | {
      kind: 'user';
      id: string;
      name: string;
      role: Role;
      user: User;
      /** SHA-256 of the session id, as stored. */
      sessionHash: string;
      csrfToken: string;
      expiresAt: string;
      idleExpiresAt: string;
    };

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal | null;
  }
}

/** The audit actor for the token or person a request was made by. */
export function actorOf(request: FastifyRequest): string {
  const p = request.principal;
  if (!p) return 'anonymous';
  return p.kind === 'user' ? `user:${p.name}` : `token:${p.name}`;
}

export const hashSessionId = (id: string) => createHash('sha256').update(id).digest('hex');

export function newSessionId(): string {
  return randomBytes(32).toString('base64url');
}

/**
 * The CSRF token is derived from the session id, so it is bound to the session, needs no
 * storage, and cannot be computed by a page that cannot read the HttpOnly cookie.
 */
export function csrfTokenOf(sessionId: string): string {
  return createHmac('sha256', sessionId).update('infraudit csrf').digest('base64url');
}

export interface AuthOptions {
  auth: AuthConfig;
  clock: () => Date;
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * An `onRequest` hook for every route: looks the route up in the policy table, resolves the
 * bearer token or the session cookie, checks expiry, revocation, CSRF and role, all before
 * the body is read, so a refused upload is never parsed.
 */
export function authenticate(store: Store, opts: AuthOptions) {
  return async (request: FastifyRequest): Promise<void> => {
    const route = request.routeOptions.url;
    // Unknown URLs fall through to the not-found answer.
    if (route === undefined) return;
    const access = accessFor(request.method, route);
    if (access === 'public') return;

    const header = request.headers.authorization;
    const sessionId = cookieValue(request.headers.cookie, SESSION_COOKIE);
    if (header !== undefined) {
      request.principal = await tokenPrincipal(store, header, opts.clock());
    } else if (sessionId !== undefined) {
      request.principal = await sessionPrincipal(store, sessionId, opts);
      checkCsrf(request, request.principal.csrfToken);
    } else {
      throw unauthorized(
        'sign in first, or send an API token as "Authorization: Bearer <token>"; the first ' +
          'admin token is in the admin-token file of the server’s data folder',
      );
    }
    const principal = request.principal;
    if (access === undefined) {
      throw forbidden(`no access is defined for ${request.method} ${route}`);
    }
    if (access === 'session') {
      if (principal.kind !== 'user') {
        throw forbidden('this route is for people signed in to the console, not for API tokens');
      }
      return;
    }
    if (principal.kind === 'user' && principal.user.mustChangePassword) {
      throw forbidden(
        'your password is a one-time password: change it first (POST /api/v1/session/password)',
      );
    }
    if (!roleAllows(principal.role, access)) {
      const who =
        principal.kind === 'user' ? `user "${principal.name}"` : `token "${principal.name}"`;
      throw forbidden(`this needs the ${access} role; ${who} has the ${principal.role} role`);
    }
  };
}

async function tokenPrincipal(store: Store, header: string, now: Date): Promise<Principal> {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (!match?.[1]) {
    throw unauthorized('the Authorization header must be "Bearer <token>"');
  }
  const found = await store.lookupToken(match[1]);
  if (!found) {
    throw unauthorized('the bearer token is not known to this server; is it the right server?');
  }
  if (found.revokedAt !== null) {
    throw unauthorized(
      `the bearer token "${found.name}" was revoked at ${found.revokedAt}; ask an admin ` +
        'for a new one',
    );
  }
  if (found.ownerDisabledAt !== null) {
    throw unauthorized(
      `the bearer token "${found.name}" was created by user "${found.ownerUser}", who is ` +
        'disabled; it works again only if an admin enables that user',
    );
  }
  if (found.expiresAt !== null && Date.parse(found.expiresAt) <= now.getTime()) {
    throw unauthorized(
      `the bearer token "${found.name}" expired at ${found.expiresAt}; ask an admin for a new one`,
    );
  }
  return {
    kind: 'token',
    id: found.id,
    name: found.name,
    role: found.role,
    expiresAt: found.expiresAt,
  };
}

async function sessionPrincipal(
  store: Store,
  sessionId: string,
  opts: AuthOptions,
): Promise<Extract<Principal, { kind: 'user' }>> {
  const ended = 'your session has ended; sign in again';
  const idHash = hashSessionId(sessionId);
  const session = await store.findSession(idHash);
  if (!session || session.revokedAt !== null || session.user.disabledAt !== null) {
    throw unauthorized(ended);
  }
  const now = opts.clock().getTime();
  const idleEnd = Date.parse(session.lastSeenAt) + opts.auth.sessionIdleMs;
  if (Date.parse(session.expiresAt) <= now || idleEnd <= now) throw unauthorized(ended);
  // Touching at most once a minute (or once per tenth of the idle time) keeps the idle
  // expiry current without a write on every request.
  let lastSeen = Date.parse(session.lastSeenAt);
  if (now - lastSeen >= Math.min(60_000, opts.auth.sessionIdleMs / 10)) {
    await store.touchSession(idHash, new Date(now));
    lastSeen = now;
  }
  return {
    kind: 'user',
    id: session.user.id,
    name: session.user.username,
    role: session.user.role,
    user: session.user,
    sessionHash: idHash,
    csrfToken: csrfTokenOf(sessionId),
    expiresAt: session.expiresAt,
    idleExpiresAt: new Date(
      Math.min(lastSeen + opts.auth.sessionIdleMs, Date.parse(session.expiresAt)),
    ).toISOString(),
  };
}

function checkCsrf(request: FastifyRequest, expected: string): void {
  if (SAFE_METHODS.has(request.method)) return;
  const sent = request.headers[CSRF_HEADER];
  const given = Buffer.from(typeof sent === 'string' ? sent : '');
  const wanted = Buffer.from(expected);
  if (given.length !== wanted.length || !timingSafeEqual(given, wanted)) {
    throw forbidden(
      'a change made with a sign-in session must carry the header X-CSRF-Token with the ' +
        'csrfToken of GET /api/v1/session',
    );
  }
}

/** The value of one cookie in a Cookie header; undefined when absent or empty. */
export function cookieValue(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0 || part.slice(0, eq).trim() !== name) continue;
    const value = part.slice(eq + 1).trim();
    return value === '' ? undefined : value;
  }
  return undefined;
}

/**
 * Sets (or, with null, clears) the session cookie: HttpOnly so page scripts cannot read
 * it, SameSite=Strict so no other site's page can make the browser send it, and Secure
 * over https or when configured for a TLS-terminating proxy.
 */
export function setSessionCookie(
  request: FastifyRequest,
  reply: FastifyReply,
  auth: AuthConfig,
  value: { id: string; maxAgeMs: number } | null,
): void {
  const secure =
    auth.cookieSecure === 'always' ||
    (auth.cookieSecure === 'auto' && request.protocol === 'https');
  const parts = [
    `${SESSION_COOKIE}=${value ? value.id : ''}`,
    'Path=/',
    'HttpOnly',
    'SameSite=Strict',
    `Max-Age=${value ? Math.floor(value.maxAgeMs / 1000) : 0}`,
  ];
  if (secure) parts.push('Secure');
  reply.header('set-cookie', parts.join('; '));
}
