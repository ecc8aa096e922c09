import Fastify from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { accessFor, POLICY, policyGuard, type Access } from '../src/api/policy.ts';
import { ROLES, roleAllows, type Role } from '../src/domain/status.ts';
import { startApi, type ApiHarness } from './helpers/api.ts';
import { createTestDatabase, ENGINES, type TestDatabase } from './helpers/databases.ts';
import { addUser, browse, login, type Browser } from './helpers/session.ts';

const PASSWORD = 'policy walk password';

/** A concrete URL for a route pattern: ids that exist nowhere, so nothing is found or changed. */
const concrete = (url: string) =>
  url.replace(/:[A-Za-z]+/g, 'no-such-id').replace(/\*$/, 'no-such-page');

type Who = { kind: 'nobody' } | { kind: 'token' | 'session'; role: Role };

/** What the policy table says the answer must be. */
function expected(access: Access, who: Who): 'allowed' | 401 | 403 {
  if (access === 'public') return 'allowed';
  if (who.kind === 'nobody') return 401;
  if (access === 'session') return who.kind === 'session' ? 'allowed' : 403;
  return roleAllows(who.role, access) ? 'allowed' : 403;
}

describe.each(ENGINES)(
  'the policy table, walked over every route on %s',
  { timeout: 120_000 },
  (engine) => {
    let database: TestDatabase;
    let api: ApiHarness;
    const sessions = {} as Record<Role, Browser>;
    const signIn = async (role: Role) => {
      sessions[role] = (await login(api, `walk-${role}`, PASSWORD)).browser!;
    };

    beforeAll(async () => {
      database = await createTestDatabase(engine);
      api = await startApi({ database, auth: { loginMaxFailures: 1000 } });
      for (const role of ROLES) {
        await addUser(api, `walk-${role}`, role, PASSWORD);
        await signIn(role);
      }
    }, 60_000);
    afterAll(async () => {
      await api.close();
      await database.drop();
    }, 60_000);

    it('answers every route exactly as the table says, for nobody, each token and each session', async () => {
      const routes = api.app.registeredRoutes.filter((r) => r.method !== 'HEAD');
      expect(routes.length).toBeGreaterThan(30);
      const who: Who[] = [
        { kind: 'nobody' },
        ...ROLES.map((role) => ({ kind: 'token' as const, role })),
        ...ROLES.map((role) => ({ kind: 'session' as const, role })),
      ];
      const mismatches: string[] = [];
      for (const route of routes) {
        const access = accessFor(route.method, route.url);
        expect(access, `${route.method} ${route.url}`).toBeDefined();
        const url = concrete(route.url);
        const body = ['POST', 'PUT', 'PATCH', 'DELETE'].includes(route.method) ? {} : undefined;
        for (const w of who) {
          let status: number;
          if (w.kind === 'session') {
            const res = await browse(api, sessions[w.role], route.method, url, { body });
            status = res.status;
            // Signing out ends the walker's session; sign in again for the next route.
            if (route.method === 'DELETE' && route.url === '/api/v1/session') await signIn(w.role);
          } else {
            const as = w.kind === 'nobody' ? null : w.role;
            status = (await api.call(route.method, url, { as, body })).status;
          }
          const want = expected(access!, w);
          const got = status === 401 || status === 403 ? status : 'allowed';
          if (got !== want) {
            const name = w.kind === 'nobody' ? 'nobody' : `${w.kind} ${w.role}`;
            mismatches.push(`${route.method} ${route.url} as ${name}: ${status}, want ${want}`);
          }
        }
      }
      expect(mismatches).toEqual([]);
    });

    it('has no entry without a route', () => {
      const registered = api.app.registeredRoutes;
      const stale = Object.keys(POLICY).filter((key) => {
        const [method, pattern] = key.split(' ') as [string, string];
        return !registered.some((r) =>
          pattern.endsWith('**')
            ? r.method === method && r.url.startsWith(pattern.slice(0, -2))
            : r.method === method && r.url === pattern,
        );
      });
      expect(stale).toEqual([]);
    });
  },
);

describe('a route without a policy entry', () => {
  it('stops the server from starting, naming the route', async () => {
    const app = Fastify();
    const guard = policyGuard();
    app.addHook('onRoute', guard.onRoute);
    app.get('/api/v1/health', () => 'ok');
    await expect(
      (async () => {
        app.post('/api/v1/brand-new', () => 'ok');
        await app.ready();
      })(),
    ).rejects.toThrow('route POST /api/v1/brand-new has no entry in the access policy');
    expect(guard.routes).toEqual([
      { method: 'GET', url: '/api/v1/health' },
      { method: 'HEAD', url: '/api/v1/health' },
    ]);
    await app.close().catch(() => undefined);
  });

  it('reads HEAD as GET, `**` as a prefix, and `*` only as written', () => {
    expect(accessFor('HEAD', '/api/v1/actions')).toBe('viewer');
    expect(accessFor('GET', '/api/v1/docs/static/index.html')).toBe('public');
    expect(accessFor('GET', '/api/v1/docs/*')).toBe('public');
    expect(accessFor('GET', '/*')).toBeUndefined();
    expect(accessFor('GET', '/api/v1/not-a-route')).toBeUndefined();
    expect(accessFor('DELETE', '/api/v1/actions/:id')).toBeUndefined();
  });
});
