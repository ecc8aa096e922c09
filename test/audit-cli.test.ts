import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SqliteStore } from '../src/store/sqlite-store.ts';
import { startApi, suggestion, type ApiHarness } from './helpers/api.ts';
import { cli } from './helpers/cli.ts';

let api: ApiHarness;
let env: Record<string, string>;

beforeAll(async () => {
  api = await startApi();
  env = { INFRAUDIT_URL: api.url, INFRAUDIT_TOKEN: api.tokens.admin };
  const created = await api.call('POST', '/api/v1/actions', {
    as: 'operator',
    body: suggestion('audit-cli'),
  });
  await api.call('POST', `/api/v1/actions/${created.body.action.id}/approve`, {
    body: { comment: 'CHG-9' },
  });
});
afterAll(async () => {
  await api?.close();
});

describe('infraudit audit', () => {
  it('lists entries as a table and as JSON, filtered', async () => {
    const table = await cli(['audit', 'list'], env);
    expect(table.code, table.stderr).toBe(0);
    expect(table.stdout).toMatch(/^SEQ\s+AT\s+ACTOR\s+TYPE/);
    expect(table.stdout).toContain('token:admin-test');
    const json = await cli(['-o', 'json', 'audit', 'list', '--actor', 'token:admin-test'], env);
    const page = JSON.parse(json.stdout);
    expect(page.items.length).toBeGreaterThan(0);
    expect(page.items.every((e: { actor: string }) => e.actor === 'token:admin-test')).toBe(true);
    const bad = await cli(['audit', 'list', '--since', 'soon'], env);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('ISO-8601');
  });

  it('verifies, and exits 1 naming the entry once the log is tampered with', async () => {
    const ok = await cli(['audit', 'verify'], env);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/^audit log verified: \d+ entries/);

    const exported = await cli(['audit', 'export'], env);
    expect(exported.code).toBe(0);
    const lines = exported.stdout
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines.map((l) => l.seq)).toEqual(lines.map((_, i) => i + 1));

    const raw = (api.store as SqliteStore).rawQuery;
    await raw('DROP TRIGGER events_no_update');
    await raw(`UPDATE events SET comment = 'CHG-0' WHERE comment = 'CHG-9'`);
    const broken = await cli(['audit', 'verify'], env);
    expect(broken.code).toBe(1);
    const edited = lines.find((l) => l.comment === 'CHG-9');
    expect(broken.stdout).toContain(`audit log BROKEN (edited): entry ${edited.seq}`);
  });

  it('exports as the server streams it, and says why an export is refused', async () => {
    const viewer = await cli(['audit', 'export'], { ...env, INFRAUDIT_TOKEN: api.tokens.viewer });
    expect(viewer.code).toBe(1);
    expect(viewer.stdout).toBe('');
    const since = await cli(['audit', 'export', '--since', '2100-01-01T00:00:00Z'], env);
    expect(since.code).toBe(0);
    expect(since.stdout).toBe('');
  });
});

describe('the CLI retrying a change', () => {
  let server: Server;
  const seen: { key: string | undefined }[] = [];

  beforeAll(async () => {
    // Answers 503 twice, then 200: the CLI retries with the one key it chose.
    server = createServer((req, res) => {
      seen.push({ key: req.headers['idempotency-key'] as string | undefined });
      req.resume();
      if (seen.length < 3) {
        res.writeHead(503, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: { code: 'unavailable', message: 'restarting' } }));
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ action: { id: 'a1', status: 'approved' } }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('sends the same Idempotency-Key on each retry of one request, a new one next time', async () => {
    const address = server.address();
    const url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
    const res = await cli(['remediation', 'approve', 'a1'], {
      INFRAUDIT_URL: url,
      INFRAUDIT_TOKEN: 't',
    });
    expect(res.code, res.stderr).toBe(0);
    expect(seen).toHaveLength(3);
    expect(seen[0]!.key).toMatch(/^[0-9a-f-]{36}$/);
    expect(new Set(seen.map((s) => s.key)).size).toBe(1);
    await cli(['remediation', 'approve', 'a1'], { INFRAUDIT_URL: url, INFRAUDIT_TOKEN: 't' });
    expect(seen[3]!.key).not.toBe(seen[0]!.key);
  });
});
