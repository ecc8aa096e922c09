import type { RouteOptions } from 'fastify';
import { ROLES, type Role } from '../domain/status.ts';

/**
 * Who may call a route:
 * - `public`: anybody, no credentials;
 * - `session`: a person signed in to the console, whatever their role, also while their
 *   password must still be changed (their own session and password);
 * - a role: a bearer token or a signed-in person with at least that role.
 */
export type Access = 'public' | 'session' | Role;

/**
 * Every route of the server, by method and URL pattern as registered, with the least
 * access it needs. A route missing here stops the server from starting, so a new route is
 * never served without a decision. A pattern ending in `**` covers every URL that starts
 * with what precedes it (a single `*` is Fastify's own wildcard, matched as written).
 * HEAD follows GET.
 */
export const POLICY: Readonly<Record<string, Access>> = {
  'GET /api/v1/health': 'public',
  'GET /api/v1/openapi.json': 'public',
  'GET /api/v1/docs**': 'public',
  // Probes and the Prometheus scrape: aggregate figures only, no ids and no secrets.
  'GET /metrics': 'public',
  'GET /health/live': 'public',
  'GET /health/ready': 'public',

  'POST /api/v1/session': 'public',
  'GET /api/v1/session': 'session',
  'DELETE /api/v1/session': 'session',
  'POST /api/v1/session/password': 'session',
  'GET /api/v1/whoami': 'viewer',

  'GET /api/v1/actions': 'viewer',
  'GET /api/v1/actions/counts': 'viewer',
  'GET /api/v1/actions/:id': 'viewer',
  'POST /api/v1/actions': 'operator',
  'POST /api/v1/actions/:id/approve': 'admin',
  'POST /api/v1/actions/:id/reject': 'admin',
  'POST /api/v1/actions/:id/execute': 'admin',
  'POST /api/v1/actions/:id/retry': 'admin',
  'POST /api/v1/actions/:id/rollback': 'admin',
  'POST /api/v1/actions/:id/secret': 'admin',
  'POST /api/v1/actions/:id/comments': 'operator',
  'POST /api/v1/actions/bulk': 'admin',

  'GET /api/v1/audit': 'viewer',
  'GET /api/v1/audit/verify': 'viewer',
  // The whole log at once: who did what, when, to which resource.
  'GET /api/v1/audit/export': 'admin',

  'POST /api/v1/findings/import': 'operator',
  'POST /api/v1/findings/import/stream': 'operator',
  'GET /api/v1/findings': 'viewer',
  'GET /api/v1/findings/counts': 'viewer',
  'GET /api/v1/findings/:id': 'viewer',
  'POST /api/v1/findings/:id/remediate': 'operator',
  'POST /api/v1/findings/:id/dismiss': 'admin',
  'POST /api/v1/findings/:id/reopen': 'admin',
  'GET /api/v1/exclusions': 'viewer',
  'POST /api/v1/exclusions': 'admin',
  'DELETE /api/v1/exclusions/:id': 'admin',

  'POST /api/v1/scans': 'operator',
  'GET /api/v1/scans': 'viewer',
  'GET /api/v1/scans/:id': 'viewer',
  'GET /api/v1/resources': 'viewer',
  'GET /api/v1/resources/*': 'viewer',
  'GET /api/v1/settings/scan': 'viewer',
  'PUT /api/v1/settings/scan': 'admin',

  'GET /api/v1/settings/remediation': 'viewer',
  'PUT /api/v1/settings/remediation': 'admin',
  'GET /api/v1/settings/fixes': 'viewer',
  'PUT /api/v1/settings/fixes': 'admin',
  'GET /api/v1/settings/checks': 'viewer',
  'PUT /api/v1/settings/checks': 'admin',
  'GET /api/v1/baselines': 'viewer',
  'GET /api/v1/baselines/:id': 'viewer',
  'POST /api/v1/baselines': 'admin',
  'POST /api/v1/baselines/promote': 'admin',

  'GET /api/v1/alerts/channels': 'viewer',
  'POST /api/v1/alerts/channels': 'admin',
  'DELETE /api/v1/alerts/channels/:id': 'admin',
  'POST /api/v1/alerts/channels/:id/test': 'admin',
  'POST /api/v1/alerts/channels/:id/retry': 'admin',
  'GET /api/v1/alerts/rules': 'viewer',
  'POST /api/v1/alerts/rules': 'admin',
  'DELETE /api/v1/alerts/rules/:id': 'admin',
  'GET /api/v1/alerts/deliveries': 'viewer',
  'GET /api/v1/alerts/deliveries/:id': 'viewer',
  'POST /api/v1/alerts/deliveries/:id/retry': 'admin',

  'POST /api/v1/tokens': 'admin',
  'GET /api/v1/tokens': 'admin',
  'DELETE /api/v1/tokens/:id': 'admin',

  'GET /api/v1/users': 'admin',
  'POST /api/v1/users': 'admin',
  'POST /api/v1/users/:username/disable': 'admin',
  'POST /api/v1/users/:username/enable': 'admin',
  'POST /api/v1/users/:username/password': 'admin',
};

const ACCESS: readonly string[] = ['public', 'session', ...ROLES];

const exact = new Map<string, Access>();
const prefixes: [string, Access][] = [];
for (const [key, access] of Object.entries(POLICY)) {
  if (!ACCESS.includes(access)) throw new Error(`policy entry "${key}" has unknown access`);
  if (key.endsWith('**')) prefixes.push([key.slice(0, -2), access]);
  else exact.set(key, access);
}

/** The access a route needs, or undefined when the table has no entry for it. */
export function accessFor(method: string, url: string): Access | undefined {
  const key = `${method === 'HEAD' ? 'GET' : method} ${url}`;
  const found = exact.get(key);
  if (found) return found;
  return prefixes.find(([prefix]) => key.startsWith(prefix))?.[1];
}

export interface RegisteredRoute {
  method: string;
  url: string;
}

declare module 'fastify' {
  interface FastifyInstance {
    /** Every route registered, HEAD ones included, as the policy table sees them. */
    registeredRoutes: readonly RegisteredRoute[];
  }
}

/**
 * An `onRoute` hook that refuses to register a route the policy table does not name, and
 * the list of routes it let through.
 */
export function policyGuard(): {
  onRoute: (route: RouteOptions) => void;
  routes: RegisteredRoute[];
} {
  const routes: RegisteredRoute[] = [];
  const onRoute = (route: RouteOptions) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    for (const method of methods) {
      if (accessFor(method, route.url) === undefined) {
        throw new Error(
          `route ${method} ${route.url} has no entry in the access policy (src/api/policy.ts); ` +
            'add one naming the least role it needs, or public',
        );
      }
      routes.push({ method, url: route.url });
    }
  };
  return { onRoute, routes };
}
