import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApi, type ApiHarness } from './helpers/api.ts';
import { createTestDatabase, ENGINES, type TestDatabase } from './helpers/databases.ts';

/**
 * Every list route's filters: a value the server does not know, an empty item in a comma
 * list and an empty time range are typos, refused with a 400 that names the parameter,
 * never answered as if the filter were narrower or absent.
 */
describe.each(ENGINES)('list filters on %s', (engine) => {
  let database: TestDatabase;
  let api: ApiHarness;

  beforeAll(async () => {
    database = await createTestDatabase(engine);
    api = await startApi({ database });
    for (const name of ['one', 'two', 'three']) {
      const made = await api.call('POST', '/api/v1/tokens', { body: { role: 'viewer', name } });
      expect(made.status).toBe(201);
    }
  });
  afterAll(async () => {
    await api.close();
    await database.drop();
  });

  const refused = async (route: string, filter: string, message: RegExp) => {
    const answer = await api.call('GET', `/api/v1${route}`);
    expect(answer.status, route).toBe(400);
    expect(answer.body.error, route).toMatchObject({ code: 'invalid_input' });
    expect(answer.body.error.message, route).toMatch(message);
    expect(answer.body.error.details, route).toMatchObject({ filter });
  };

  it('refuses unknown audit event types and empty items, naming type', async () => {
    await refused('/audit?type=user,,,bogus', 'type', /type has an empty value/);
    await refused('/audit?type=bogus', 'type', /unknown type "bogus".*token/);
    await refused('/audit?type=token,', 'type', /type has an empty value/);

    // The known types still filter.
    const tokens = await api.call('GET', '/api/v1/audit?type=token,user');
    expect(tokens.status).toBe(200);
    expect(tokens.body.items.length).toBeGreaterThanOrEqual(3);
    expect(tokens.body.items.every((e: { type: string }) => e.type === 'token')).toBe(true);
  });

  it('refuses an inverted or empty time range on the audit log and its export', async () => {
    const range = 'since=2026-02-01T00:00:00Z&until=2026-01-01T00:00:00Z';
    await refused(`/audit?${range}`, 'since', /since .* must be earlier than until/);
    await refused(`/audit/export?${range}`, 'since', /since .* must be earlier than until/);
    const same = 'since=2026-01-01T00:00:00Z&until=2026-01-01T00:00:00.000Z';
    await refused(`/audit?${same}`, 'since', /must be earlier than until/);

    const all = await api.call('GET', '/api/v1/audit?since=2000-01-01T00:00:00Z&until=2999-01-01');
    expect(all.status).toBe(200);
    expect(all.body.items.length).toBeGreaterThanOrEqual(3);
  });

  it('refuses unknown providers and empty items on actions, findings and resources', async () => {
    for (const list of ['/actions', '/findings', '/findings/counts', '/resources']) {
      await refused(`${list}?provider=azure`, 'provider', /unknown provider "azure"/);
      await refused(`${list}?provider=aws,,kubernetes`, 'provider', /provider has an empty value/);
      await refused(`${list}?provider=`, 'provider', /provider has an empty value/);
      const known = await api.call('GET', `/api/v1${list}?provider=aws,kubernetes`);
      expect(known.status, list).toBe(200);
    }
    await refused('/actions?status=suggested,', 'status', /status has an empty value/);
    await refused('/actions?resourceType=,AwsS3Bucket', 'resourceType', /empty value/);
    await refused('/findings?severity=high,,low', 'severity', /severity has an empty value/);
    await refused('/findings?account=1,,2', 'account', /account has an empty value/);
    await refused('/resources?region=us-east-1,', 'region', /region has an empty value/);
    await refused('/resources?type=&type=AwsS3Bucket', 'type', /type has an empty value/);
    await refused('/alerts/deliveries?status=,sent', 'status', /status has an empty value/);
    await refused('/alerts/deliveries?status=lost', 'status', /unknown status "lost"/);
  });
});
