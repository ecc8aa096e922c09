import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApi, suggestion, type ApiHarness } from './helpers/api.ts';
import { cli } from './helpers/cli.ts';

const OWNER = 'test-engine';

describe('forced rollback over the API and CLI', () => {
  let api: ApiHarness;
  beforeAll(async () => {
    api = await startApi();
  });
  afterAll(async () => api?.close());

  /** A completed action, its engine part played through the store. */
  async function completed(bucket: string): Promise<string> {
    const created = await api.call('POST', '/api/v1/actions', {
      as: 'operator',
      body: suggestion(bucket),
    });
    const id = created.body.action.id as string;
    await api.call('POST', `/api/v1/actions/${id}/approve`, { body: {} });
    await api.call('POST', `/api/v1/actions/${id}/execute`, { body: {} });
    await api.store.claim(OWNER, { now: new Date(), leaseMs: 60_000, limit: 10 });
    await api.store.transition(id, 'complete', {
      actor: 'system',
      now: new Date(),
      leaseOwner: OWNER,
      openRollbackWindow: true,
      patch: { result: { kind: 'applied', message: 'done' } },
    });
    return id;
  }

  it('needs a comment, and records the force with the request', async () => {
    const id = await completed('forced-over-api');
    const bare = await api.call('POST', `/api/v1/actions/${id}/rollback`, {
      body: { force: true },
    });
    expect(bare.status).toBe(400);
    expect(bare.body.error.message).toMatch(/give a comment/);
    expect((await api.store.getAction(id))!.requestedOp).toBeNull();

    const forced = await api.call('POST', `/api/v1/actions/${id}/rollback`, {
      body: { force: true, comment: 'the manual change was a mistake' },
    });
    expect(forced.status).toBe(202);
    expect(forced.body.action).toMatchObject({
      requestedOp: 'rollback',
      requestData: { force: true },
    });
    const request = (await api.store.events(id)).findLast((e) => e.type === 'request');
    expect(request).toMatchObject({ data: { request: 'rollback', force: true } });
  });

  it('is asked for with --force from the CLI', async () => {
    const id = await completed('forced-over-cli');
    const env = { INFRAUDIT_URL: api.url, INFRAUDIT_TOKEN: api.tokens.admin };
    const out = await cli(
      ['-o', 'json', 'remediation', 'rollback', id, '--force', '--comment', 'overwrite it'],
      env,
    );
    expect(out.code).toBe(0);
    expect(JSON.parse(out.stdout).action).toMatchObject({ requestData: { force: true } });
  });
});
