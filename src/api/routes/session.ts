import { randomUUID } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AuthConfig } from '../../config.ts';
import { forbidden, invalidInput, unauthorized } from '../../domain/errors.ts';
import type { Store } from '../../store/store.ts';
import type { User } from '../../store/users.ts';
import {
  actorOf,
  csrfTokenOf,
  hashSessionId,
  newSessionId,
  setSessionCookie,
  type Principal,
} from '../auth.ts';
import { HttpRefusal, toHttpError } from '../errors.ts';
import {
  MAX_PASSWORD_LENGTH,
  MIN_PASSWORD_LENGTH,
  hashPassword,
  verifyPassword,
} from '../password.ts';
import { errorResponses } from '../schemas.ts';

const tags = ['session'];

export const USERNAME_PATTERN = '^[a-z0-9][a-z0-9._@-]{0,63}$';

export const passwordField = {
  type: 'string',
  minLength: MIN_PASSWORD_LENGTH,
  maxLength: MAX_PASSWORD_LENGTH,
} as const;

export const userInfo = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    username: { type: 'string' },
    displayName: { type: 'string' },
    role: { type: 'string' },
    mustChangePassword: { type: 'boolean' },
    disabledAt: { type: ['string', 'null'] },
    disabledBy: { type: ['string', 'null'] },
    createdAt: { type: 'string' },
    createdBy: { type: 'string' },
    lastLoginAt: { type: ['string', 'null'] },
  },
} as const;

const sessionView = {
  type: 'object',
  properties: {
    user: userInfo,
    csrfToken: {
      type: 'string',
      description: 'Send as the X-CSRF-Token header with every change made with this session',
    },
    expiresAt: { type: 'string', description: 'The session ends at this time whatever happens' },
    idleExpiresAt: { type: 'string', description: 'The session ends at this time unless used' },
  },
} as const;

const loginBody = {
  type: 'object',
  additionalProperties: false,
  required: ['username', 'password'],
  properties: {
    username: { type: 'string', minLength: 1, maxLength: 64 },
    // No minimum: a short guess is simply wrong, and says nothing about the policy.
    password: { type: 'string', minLength: 1, maxLength: MAX_PASSWORD_LENGTH },
  },
} as const;

const passwordBody = {
  type: 'object',
  additionalProperties: false,
  required: ['currentPassword', 'newPassword'],
  properties: {
    currentPassword: { type: 'string', minLength: 1, maxLength: MAX_PASSWORD_LENGTH },
    newPassword: passwordField,
  },
} as const;

type SessionPrincipal = Extract<Principal, { kind: 'user' }>;

const WRONG = 'wrong username or password';

export interface SessionRouteOptions {
  store: Store;
  auth: AuthConfig;
  clock: () => Date;
}

/** Console sign-in: POST /session signs in, GET /session is "me", DELETE signs out. */
export async function sessionRoutes(app: FastifyInstance, opts: SessionRouteOptions) {
  const { store, auth, clock } = opts;

  /**
   * Sign-in attempts are counted per username (known or not, so a 429 tells nothing about
   * whether an account exists) and per client address, in the database so that every
   * replica counts the same attempts. Each attempt is counted before its password is
   * checked, in one step with the limit check, so concurrent guesses cannot all slip under
   * the limit; a right password takes its own count back. Null: refused with 429.
   */
  const claim = async (
    keys: [string, number][],
    now: Date,
    reply: FastifyReply,
  ): Promise<string | null> => {
    const attempt = randomUUID();
    const { waitMs } = await store.claimLoginAttempt({
      keys: keys.map(([key, max]) => ({ key, max })),
      attempt,
      now,
      since: new Date(now.getTime() - auth.loginWindowMs),
      windowMs: auth.loginWindowMs,
    });
    if (waitMs <= 0) return attempt;
    const seconds = Math.max(1, Math.ceil(waitMs / 1000));
    const refusal = new HttpRefusal(
      'too_many_requests',
      `too many failed sign-ins; try again in ${seconds} seconds`,
      { retryAfterSeconds: seconds },
    );
    const { status, body } = toHttpError(refusal);
    await reply.code(status).header('retry-after', String(seconds)).send(body);
    return null;
  };

  const view = (user: User, principal: { csrf: string; expiresAt: string; idle: string }) => ({
    user,
    csrfToken: principal.csrf,
    expiresAt: principal.expiresAt,
    idleExpiresAt: principal.idle,
  });

  app.post<{ Body: { username: string; password: string } }>('/session', {
    schema: {
      tags,
      summary: 'Sign in; sets the session cookie',
      description:
        'Answers 401 for a wrong username or password alike, and 429 with Retry-After after ' +
        'too many failures for one username or from one address.',
      security: [],
      body: loginBody,
      response: { 200: sessionView, ...errorResponses },
    },
    handler: async (request, reply) => {
      const now = clock();
      const username = request.body.username.trim().toLowerCase();
      const keys: [string, number][] = [
        [`user:${username}`, auth.loginMaxFailures],
        [`ip:${request.ip}`, auth.loginMaxFailuresPerIp],
      ];
      const attempt = await claim(keys, now, reply);
      if (attempt === null) return reply;
      const found = await store.userCredentials(username);
      const matches = await verifyPassword(request.body.password, found?.passwordHash);
      if (!found || !matches || found.user.disabledAt !== null) {
        request.log.warn({ username, ip: request.ip }, 'sign-in refused');
        throw unauthorized(WRONG);
      }
      // Only this attempt's count is taken back: a success does not wipe the failures
      // before it, so guesses made alongside a real user's sign-in stay capped too.
      await store.releaseLoginAttempt(attempt);
      const id = newSessionId();
      const expiresAt = new Date(now.getTime() + auth.sessionMaxMs);
      await store.createSession({
        idHash: hashSessionId(id),
        userId: found.user.id,
        now,
        expiresAt,
      });
      setSessionCookie(request, reply, auth, { id, maxAgeMs: auth.sessionMaxMs });
      request.log.info({ actor: `user:${username}` }, 'signed in');
      const user = { ...found.user, lastLoginAt: now.toISOString() };
      const idle = new Date(Math.min(now.getTime() + auth.sessionIdleMs, expiresAt.getTime()));
      return view(user, {
        csrf: csrfTokenOf(id),
        expiresAt: expiresAt.toISOString(),
        idle: idle.toISOString(),
      });
    },
  });

  const me = (request: FastifyRequest): SessionPrincipal => {
    const p = request.principal;
    // The policy table lets only sessions reach these routes; this keeps the types honest.
    if (p?.kind !== 'user') throw forbidden('this route is for people signed in to the console');
    return p;
  };
  const current = (p: SessionPrincipal, user: User = p.user) =>
    view(user, { csrf: p.csrfToken, expiresAt: p.expiresAt, idle: p.idleExpiresAt });

  app.get('/session', {
    schema: {
      tags,
      summary: 'The signed-in user, their role and the CSRF token',
      security: [{ sessionCookie: [] }],
      response: { 200: sessionView, ...errorResponses },
    },
    handler: async (request) => current(me(request)),
  });

  app.delete('/session', {
    schema: {
      tags,
      summary: 'Sign out: the session ends and the cookie is cleared',
      security: [{ sessionCookie: [] }],
      response: { 204: { type: 'null' }, ...errorResponses },
    },
    handler: async (request, reply) => {
      const p = me(request);
      await store.revokeSession(p.sessionHash, { actor: actorOf(request), now: clock() });
      setSessionCookie(request, reply, auth, null);
      request.log.info({ actor: actorOf(request) }, 'signed out');
      return reply.code(204).send();
    },
  });

  app.post<{ Body: { currentPassword: string; newPassword: string } }>('/session/password', {
    config: { secretAnswer: true },
    schema: {
      tags,
      summary: 'Change your own password; your other sessions end',
      description:
        `The new password needs ${MIN_PASSWORD_LENGTH} to ${MAX_PASSWORD_LENGTH} characters ` +
        'and must differ from the current one. Required before anything else while the ' +
        'password is a one-time password.',
      security: [{ sessionCookie: [] }],
      body: passwordBody,
      response: { 200: sessionView, ...errorResponses },
    },
    handler: async (request, reply) => {
      const p = me(request);
      const now = clock();
      const keys: [string, number][] = [[`user:${p.name}`, auth.loginMaxFailures]];
      const attempt = await claim(keys, now, reply);
      if (attempt === null) return reply;
      const found = await store.userCredentials(p.name);
      if (!found || !(await verifyPassword(request.body.currentPassword, found.passwordHash))) {
        throw forbidden('the current password is wrong; nothing was changed');
      }
      await store.releaseLoginAttempt(attempt);
      if (request.body.newPassword === request.body.currentPassword) {
        throw invalidInput('the new password must differ from the current one');
      }
      // A new session id (and so a new CSRF token) with the new password: whoever knew
      // the old id, from before the change, cannot ride on the changed account.
      const id = newSessionId();
      const user = await store.setPassword(
        p.name,
        {
          passwordHash: await hashPassword(request.body.newPassword),
          mustChangePassword: false,
          rotateSession: { from: p.sessionHash, to: hashSessionId(id) },
        },
        { actor: actorOf(request), now },
      );
      const maxAgeMs = Date.parse(p.expiresAt) - now.getTime();
      setSessionCookie(request, reply, auth, { id, maxAgeMs });
      request.log.info({ actor: actorOf(request) }, 'password changed');
      return view(user, { csrf: csrfTokenOf(id), expiresAt: p.expiresAt, idle: p.idleExpiresAt });
    },
  });
}
