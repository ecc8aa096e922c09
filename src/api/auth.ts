import type { FastifyRequest } from 'fastify';
import { forbidden, unauthorized } from '../domain/errors.ts';
import { roleAllows, type Role } from '../domain/status.ts';
import type { ApiToken, Store } from '../store/store.ts';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The least role a route needs; routes without one are refused to everybody. */
    role?: Role;
  }
  interface FastifyRequest {
    principal: ApiToken | null;
  }
}

/** The audit actor for the token a request was made with. */
export function actorOf(request: FastifyRequest): string {
  return request.principal ? `token:${request.principal.name}` : 'anonymous';
}

/**
 * An `onRequest` hook: resolves the bearer token and checks the route's role before
 * the body is read, so an unauthenticated upload is refused without being parsed.
 */
export function authenticate(store: Store) {
  return async (request: FastifyRequest): Promise<void> => {
    const header = request.headers.authorization;
    const match = header ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
    if (!match?.[1]) {
      throw unauthorized(
        'missing bearer token: send "Authorization: Bearer <token>"; the admin token is ' +
          'in the admin-token file of the server’s data folder',
      );
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
    const { id, name, role, createdAt } = found;
    const principal = { id, name, role, createdAt };
    request.principal = principal;

    const needed = request.routeOptions.config.role;
    if (!needed || !roleAllows(principal.role, needed)) {
      throw forbidden(
        `this needs the ${needed ?? 'unknown'} role; token "${principal.name}" has the ` +
          `${principal.role} role`,
      );
    }
  };
}
