import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { idFieldOf } from '../src/api/request-log.ts';
import { startApi, type ApiHarness } from './helpers/api.ts';

let api: ApiHarness;
beforeAll(async () => {
  api = await startApi();
});
afterAll(async () => {
  await api?.close();
});

/** The request log lines written for requests to `url`. */
function linesFor(url: string): Record<string, unknown>[] {
  return api.logLines
    .join('')
    .split('\n')
    .filter((line) => line.includes(`"url":"${url}"`))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

describe('the request log names each id by what it is', () => {
  it('calls only an action id actionId, on every route with an :id', () => {
    const withId = api.app.registeredRoutes.filter((r) => r.url.split('/').includes(':id'));
    expect(withId.length).toBeGreaterThan(10);
    for (const route of withId) {
      const field = idFieldOf(route.url);
      expect(field, route.url).toMatch(/^[a-z][A-Za-z]*Id$/);
      const onActions = route.url.startsWith('/api/v1/actions/');
      expect(field === 'actionId', route.url).toBe(onActions);
    }
    expect(idFieldOf('/api/v1/alerts/deliveries/:id/retry')).toBe('deliveryId');
    expect(idFieldOf('/api/v1/findings/:id/dismiss')).toBe('findingId');
    expect(idFieldOf('/api/v1/tokens/:id')).toBe('tokenId');
    expect(idFieldOf('/api/v1/exclusions/:id')).toBe('exclusionId');
    expect(idFieldOf('/api/v1/scans')).toBe('id');
    expect(idFieldOf(undefined)).toBe('id');
  });

  it('logs a delivery id as deliveryId and a finding id as findingId', async () => {
    const delivery = await api.call('GET', '/api/v1/alerts/deliveries/dlv-404');
    expect(delivery.status).toBe(404);
    const dismiss = await api.call('POST', '/api/v1/findings/fnd-404/dismiss', {
      body: { reason: 'not ours' },
    });
    expect(dismiss.status).toBe(404);
    const action = await api.call('GET', '/api/v1/actions/act-404');
    expect(action.status).toBe(404);

    const [deliveryLine] = linesFor('/api/v1/alerts/deliveries/dlv-404');
    expect(deliveryLine).toMatchObject({ deliveryId: 'dlv-404', status: 404 });
    expect(deliveryLine).not.toHaveProperty('actionId');
    const [dismissLine] = linesFor('/api/v1/findings/fnd-404/dismiss');
    expect(dismissLine).toMatchObject({ findingId: 'fnd-404', status: 404 });
    expect(dismissLine).not.toHaveProperty('actionId');
    const [actionLine] = linesFor('/api/v1/actions/act-404');
    expect(actionLine).toMatchObject({ actionId: 'act-404', status: 404 });
  });
});
