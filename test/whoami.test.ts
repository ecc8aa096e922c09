import { describe, expect, it } from 'vitest';
import { ROLES } from '../src/domain/status.ts';
import { suggestion, type ApiHarness } from './helpers/api.ts';
import { ENGINES } from './helpers/databases.ts';
import { apiPerSuite, signIn } from './helpers/people.ts';
import { browse } from './helpers/session.ts';

const PASSWORD = 'whoami test password';

describe.each(ENGINES)('GET /api/v1/whoami on %s', { timeout: 60_000 }, (engine) => {
  let api: ApiHarness;
  apiPerSuite(engine, {}, (started) => {
    api = started;
  });

  it('names a bearer token of each role, with the audit actor the server records', async () => {
    for (const role of ROLES) {
      const res = await api.call('GET', '/api/v1/whoami', { as: role });
      expect(res.status, res.text).toBe(200);
      expect(res.body).toEqual({
        kind: 'token',
        name: `${role}-test`,
        role,
        actor: `token:${role}-test`,
      });
    }
  });

  it('names a signed-in person, and the actor matches what a change is audited as', async () => {
    const browser = await signIn(api, 'wanda', 'operator', PASSWORD);
    const res = await browse(api, browser, 'GET', '/api/v1/whoami');
    expect(res.status, res.text).toBe(200);
    expect(res.body).toEqual({
      kind: 'user',
      name: 'wanda',
      role: 'operator',
      actor: 'user:wanda',
    });

    const made = await browse(api, browser, 'POST', '/api/v1/actions', {
      body: suggestion('whoami-bucket'),
    });
    expect(made.status, made.text).toBe(201);
    expect(made.body.action.createdBy).toBe(res.body.actor);
  });

  it('answers 401 with no credentials, and for an unknown or revoked token', async () => {
    const none = await api.call('GET', '/api/v1/whoami', { as: null });
    expect(none.status).toBe(401);
    expect(none.body.error.code).toBe('unauthorized');

    const unknown = await api.call('GET', '/api/v1/whoami', { as: { token: 'not-a-token' } });
    expect(unknown.status).toBe(401);

    const made = await api.call('POST', '/api/v1/tokens', {
      body: { role: 'viewer', name: 'gone' },
    });
    expect(made.status, made.text).toBe(201);
    await api.call('DELETE', `/api/v1/tokens/${made.body.info.id}`);
    const revoked = await api.call('GET', '/api/v1/whoami', { as: { token: made.body.token } });
    expect(revoked.status).toBe(401);
    expect(revoked.body.error.message).toContain('revoked');
  });

  it('refuses an unknown query parameter', async () => {
    const res = await api.call('GET', '/api/v1/whoami?role=admin', { as: 'viewer' });
    expect(res.status).toBe(400);
  });
});
