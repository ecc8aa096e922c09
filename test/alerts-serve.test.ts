import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.ts';
import { startHttpReceiver, verifyWebhook, type HttpReceiver } from './helpers/alert-receivers.ts';
import { suggestion } from './helpers/api.ts';
import { cli } from './helpers/cli.ts';
import { startServe, type ServeProcess } from './helpers/serve.ts';

const SECRET = 'serve-test-hmac-key-0123456789';

describe('alert settings', () => {
  it('has defaults and refuses values out of range, naming the variable', () => {
    expect(loadConfig({}, '/').alerts).toEqual({
      publicUrl: undefined,
      attempts: 3,
      timeoutMs: 10_000,
      backoffMs: 5_000,
      pollMs: 1_000,
      windowWarningMs: 5 * 60_000,
      recoveryMs: 5 * 60_000,
      maxAgeMs: 7 * 86_400_000,
    });
    const set = loadConfig(
      {
        INFRAUDIT_PUBLIC_URL: 'https://infraudit.example.test/',
        INFRAUDIT_ALERT_ATTEMPTS: '5',
        INFRAUDIT_ALERT_WINDOW_WARNING_MINUTES: '10',
        INFRAUDIT_ALERT_RECOVERY_MINUTES: '15',
        INFRAUDIT_ALERT_MAX_AGE_DAYS: '30',
      },
      '/',
    ).alerts;
    expect(set).toMatchObject({
      publicUrl: 'https://infraudit.example.test',
      attempts: 5,
      windowWarningMs: 10 * 60_000,
      recoveryMs: 15 * 60_000,
      maxAgeMs: 30 * 86_400_000,
    });
    expect(loadConfig({ INFRAUDIT_ALERT_WINDOW_WARNING_MINUTES: '119' }, '/').alerts).toMatchObject(
      { windowWarningMs: 119 * 60_000 },
    );
    for (const [name, value] of [
      ['INFRAUDIT_ALERT_ATTEMPTS', '0'],
      ['INFRAUDIT_ALERT_TIMEOUT_MS', '10'],
      ['INFRAUDIT_ALERT_BACKOFF_MS', 'soon'],
      ['INFRAUDIT_ALERT_POLL_MS', '-1'],
      ['INFRAUDIT_ALERT_WINDOW_WARNING_MINUTES', '2000'],
      // Longer than the longest rollback window (120 minutes): it would warn at completion.
      ['INFRAUDIT_ALERT_WINDOW_WARNING_MINUTES', '1000'],
      ['INFRAUDIT_ALERT_WINDOW_WARNING_MINUTES', '120'],
      ['INFRAUDIT_ALERT_RECOVERY_MINUTES', '0'],
      ['INFRAUDIT_ALERT_RECOVERY_MINUTES', '1441'],
      ['INFRAUDIT_ALERT_MAX_AGE_DAYS', '0'],
      ['INFRAUDIT_ALERT_MAX_AGE_DAYS', '366'],
      ['INFRAUDIT_PUBLIC_URL', 'infraudit.example.test'],
    ]) {
      expect(() => loadConfig({ [name!]: value }, '/'), name).toThrow(name);
    }
  });
});

describe('alerts under serve', () => {
  let serve: ServeProcess;
  let http: HttpReceiver;
  let dataDir: string;
  beforeAll(async () => {
    http = await startHttpReceiver();
    dataDir = await mkdtemp(path.join(tmpdir(), 'infraudit-alerts-serve-'));
    serve = await startServe(['--data', dataDir, '--port', '0'], {
      INFRAUDIT_ALERT_POLL_MS: '50',
      INFRAUDIT_PUBLIC_URL: 'https://console.example.test',
    });
  }, 60_000);
  afterAll(async () => {
    await serve?.stop();
    await http?.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('sends the alert an API change raises, linking the configured console', async () => {
    const token = (await readFile(path.join(dataDir, 'admin-token'), 'utf8')).trim();
    const env = { INFRAUDIT_URL: serve.endpoints.api!, INFRAUDIT_TOKEN: token };
    const channel = await cli(
      [
        'alerts',
        'channels',
        'add',
        'hook',
        '--type',
        'webhook',
        '--url',
        http.url('/serve'),
        '--secret',
        SECRET,
      ],
      env,
    );
    expect(channel.code, channel.stderr).toBe(0);
    const rule = await cli(
      ['alerts', 'rules', 'add', 'all', '--events', 'pending_approval', '--channel', 'hook'],
      env,
    );
    expect(rule.code, rule.stderr).toBe(0);

    const created = await fetch(`${serve.endpoints.api}/api/v1/actions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify(suggestion('serve-alert-bucket')),
    });
    expect(created.status).toBe(201);
    const { action } = (await created.json()) as { action: { id: string } };

    const deadline = Date.now() + 15_000;
    while (!http.received.some((r) => r.path === '/serve') && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 25));
    }
    const got = http.received.find((r) => r.path === '/serve')!;
    expect(got).toBeDefined();
    expect(verifyWebhook(SECRET, got.headers, got.body)).toBe(true);
    expect(got.json.link).toBe(`https://console.example.test/actions/${action.id}`);

    const listed = await cli(['alerts', 'deliveries', '-o', 'json'], env);
    const [delivery] = JSON.parse(listed.stdout).items;
    expect(delivery).toMatchObject({ status: 'delivered', attempts: 1, actionId: action.id });
    expect(serve.stderr()).not.toContain(SECRET);
  }, 60_000);
});
