import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApi, suggestion, type ApiHarness } from './helpers/api.ts';

describe('secure headers and body limits', { timeout: 60_000 }, () => {
  let api: ApiHarness;
  beforeAll(async () => {
    api = await startApi();
  }, 60_000);
  afterAll(() => api.close(), 60_000);

  const headersOf = async (path: string, init: RequestInit = {}) =>
    (await fetch(`${api.url}${path}`, init)).headers;

  it('sends a strict content security policy and the usual hardening headers everywhere', async () => {
    const auth = { authorization: `Bearer ${api.tokens.viewer}` };
    for (const [path, init] of [
      ['/api/v1/actions', { headers: auth }],
      ['/api/v1/actions', {}],
      ['/api/v1/no-such-route', {}],
      ['/api/v1/health', {}],
      ['/', {}],
    ] as const) {
      const h = await headersOf(path, init);
      const csp = h.get('content-security-policy') ?? '';
      const directives = Object.fromEntries(
        csp.split(';').map((d) => {
          const [name, ...values] = d.trim().split(/\s+/);
          return [name, values.join(' ')];
        }),
      );
      expect(directives['default-src'], path).toBe("'self'");
      // Scripts from this origin only: no inline script, no eval.
      expect(directives['script-src'], path).toMatch(/^'self'( 'sha256-[^']+')*$/);
      expect(directives['object-src'], path).toBe("'none'");
      expect(directives['frame-ancestors'], path).toBe("'none'");
      expect(directives['connect-src'], path).toBe("'self'");
      expect(csp, path).not.toContain('upgrade-insecure-requests');
      expect(csp, path).not.toContain('unsafe-inline');
      expect(h.get('x-content-type-options'), path).toBe('nosniff');
      expect(h.get('x-frame-options'), path).toBe('DENY');
      expect(h.get('referrer-policy'), path).toBe('no-referrer');
      expect(h.get('cross-origin-opener-policy'), path).toBe('same-origin');
      expect(h.get('x-powered-by'), path).toBeNull();
    }
  });

  it('still serves the API docs under that policy', async () => {
    const res = await fetch(`${api.url}/api/v1/docs/static/index.html`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-security-policy')).toContain("script-src 'self'");
  });

  it('refuses a JSON body over 1 MB with 413 and records nothing', async () => {
    const before = (await api.call('GET', '/api/v1/actions')).body.items.length;
    const big = { ...suggestion('too-big'), title: 'x'.repeat(1024 * 1024 + 10) };
    const res = await api.call('POST', '/api/v1/actions', { as: 'operator', body: big });
    expect(res.status).toBe(413);
    expect(res.body.error.code).toBe('payload_too_large');
    expect((await api.call('GET', '/api/v1/actions')).body.items.length).toBe(before);

    const login = await api.call('POST', '/api/v1/session', {
      as: null,
      body: { username: 'x', password: 'y'.repeat(1024 * 1024 + 10) },
    });
    expect(login.status).toBe(413);
  });

  it('takes a findings upload larger than 1 MB, up to its own limit', async () => {
    // 1.5 MB of a file that is not findings: read in full, then refused for its content.
    const text = JSON.stringify({ padding: 'p'.repeat(1.5 * 1024 * 1024) });
    const res = await api.call('POST', '/api/v1/findings/import', {
      as: 'operator',
      raw: text,
      contentType: 'application/json',
    });
    expect(res.status).not.toBe(413);
    expect(res.status).toBeLessThan(500);
    const over = await api.call('POST', '/api/v1/findings/import', {
      as: 'operator',
      raw: JSON.stringify({ padding: 'p'.repeat(2.5 * 1024 * 1024) }),
      contentType: 'application/json',
    });
    expect(over.status).toBe(413);
  });

  it('refuses an unauthenticated upload before reading it', async () => {
    const res = await api.call('POST', '/api/v1/findings/import', {
      as: null,
      raw: JSON.stringify({ padding: 'p'.repeat(3 * 1024 * 1024) }),
      contentType: 'application/json',
    });
    expect(res.status).toBe(401);
  });
});
