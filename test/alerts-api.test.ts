import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHttpReceiver, verifyWebhook, type HttpReceiver } from './helpers/alert-receivers.ts';
import { startApi, suggestion, type ApiHarness } from './helpers/api.ts';
import { cli } from './helpers/cli.ts';
import { silentLog } from './helpers/world.ts';
import { createDispatcher } from '../src/alerts/dispatcher.ts';

const SECRET = 'api-test-hmac-key-0123456789';

describe('alerts API and CLI', () => {
  let api: ApiHarness;
  let http: HttpReceiver;
  let env: Record<string, string>;
  let dir: string;
  beforeAll(async () => {
    api = await startApi();
    http = await startHttpReceiver();
    env = { INFRAUDIT_URL: api.url, INFRAUDIT_TOKEN: api.tokens.admin };
    dir = await mkdtemp(path.join(tmpdir(), 'infraudit-alerts-'));
  });
  afterAll(async () => {
    await api?.close();
    await http?.close();
    await rm(dir, { recursive: true, force: true });
  });

  const webhookBody = (name: string, extra: Record<string, unknown> = {}) => ({
    name,
    type: 'webhook',
    url: http.url(`/hook/${name}/s3cr3t-path`),
    secret: SECRET,
    ...extra,
  });

  it('adds channels for admins only and never shows their secrets', async () => {
    const refused = await api.call('POST', '/api/v1/alerts/channels', {
      as: 'operator',
      body: webhookBody('ops-hook'),
    });
    expect(refused.status).toBe(403);

    const added = await api.call('POST', '/api/v1/alerts/channels', {
      body: webhookBody('hook-a'),
    });
    expect(added.status).toBe(201);
    expect(added.body.channel).toMatchObject({
      name: 'hook-a',
      type: 'webhook',
      target: `${new URL(http.url('/')).origin}/****`,
      health: { state: 'untested', consecutiveFailures: 0 },
      createdBy: 'token:admin-test',
    });
    expect(added.text).not.toMatch(/s3cr3t|api-test-hmac/);

    const listed = await api.call('GET', '/api/v1/alerts/channels', { as: 'viewer' });
    expect(listed.status).toBe(200);
    expect(listed.body.items.map((c: { name: string }) => c.name)).toContain('hook-a');
    expect(listed.text).not.toMatch(/s3cr3t|api-test-hmac/);
    expect(api.logLines.join('\n')).not.toMatch(/s3cr3t|api-test-hmac/);
  });

  it('refuses bad channels with a clear error and adds nothing', async () => {
    const before = (await api.call('GET', '/api/v1/alerts/channels')).body.items.length;
    const cases: [Record<string, unknown>, RegExp][] = [
      [
        { name: 'x1', type: 'slack', url: 'https://hooks.example.test/a', secret: SECRET },
        /takes no secret/,
      ],
      [{ name: 'x2', type: 'webhook', url: 'https://hooks.example.test/a' }, /needs secret/],
      [{ name: 'x3', type: 'slack', url: 'ftp://hooks.example.test/a' }, /http or https/],
      [{ name: 'x4', type: 'slack', url: 'not a url' }, /not a valid URL/],
      [
        { name: 'x5', type: 'email', host: 'smtp.example.test', from: 'a@example.test' },
        /needs to/,
      ],
      [
        { name: 'x6', type: 'email', host: 'h', from: 'nobody', to: ['a@example.test'] },
        /"nobody" is not an email address/,
      ],
      [{ name: 'x7', type: 'pager', url: 'https://x.test' }, /type/],
      [{ name: 'x8', type: 'slack', url: 'https://x.test', colour: 'red' }, /colour/],
      [{ name: 'bad name!', type: 'slack', url: 'https://x.test' }, /name/],
    ];
    for (const [body, message] of cases) {
      const answer = await api.call('POST', '/api/v1/alerts/channels', { body });
      expect(answer.status, JSON.stringify(body)).toBe(400);
      expect(answer.body.error.code).toBe('invalid_input');
      expect(answer.body.error.message).toMatch(message);
    }
    // Link-local and cloud metadata targets, in any spelling, name the refused field.
    const metadata: [Record<string, unknown>, string][] = [
      [webhookBody('m1', { url: 'http://169.254.169.254/latest/meta-data/' }), 'url'],
      [webhookBody('m2', { url: 'http://2852039166/latest' }), 'url'],
      [webhookBody('m3', { url: 'http://0xa9.0xfe.0xa9.0xfe/' }), 'url'],
      [webhookBody('m4', { url: 'http://[::ffff:169.254.169.254]/' }), 'url'],
      [webhookBody('m5', { url: 'http://[fe80::1]:8080/hook' }), 'url'],
      [webhookBody('m6', { url: 'http://[fd00:ec2::254]/' }), 'url'],
      [{ name: 'm7', type: 'slack', url: 'http://metadata.google.internal/x' }, 'url'],
      [{ name: 'm8', type: 'slack', url: 'https://METADATA.google.internal./x' }, 'url'],
      [{ name: 'm9', type: 'slack', url: 'http://169.254.1.1/' }, 'url'],
      ...['169.254.169.254', 'metadata.google.internal', 'fe80::1', '[fe80::1]', '2852039166'].map(
        (host, i): [Record<string, unknown>, string] => [
          { name: `mh${i}`, type: 'email', host, from: 'a@example.test', to: ['b@example.test'] },
          'host',
        ],
      ),
    ];
    for (const [body, field] of metadata) {
      const answer = await api.call('POST', '/api/v1/alerts/channels', { body });
      expect(answer.status, JSON.stringify(body)).toBe(400);
      expect(answer.body.error.code).toBe('invalid_input');
      expect(answer.body.error.message).toContain(`the channel ${field} points at a link-local`);
      expect(answer.body.error.details).toEqual({ fields: [field] });
    }
    const loopback = await api.call('POST', '/api/v1/alerts/channels', {
      body: {
        name: 'loopback-mail',
        type: 'email',
        host: '127.0.0.1',
        from: 'a@example.test',
        to: ['b@example.test'],
      },
    });
    expect(loopback.status).toBe(201);
    expect((await api.call('DELETE', '/api/v1/alerts/channels/loopback-mail')).status).toBe(200);
    const duplicate = await api.call('POST', '/api/v1/alerts/channels', {
      body: webhookBody('hook-a'),
    });
    expect(duplicate.status).toBe(409);
    expect((await api.call('GET', '/api/v1/alerts/channels')).body.items).toHaveLength(before);
  });

  it('tests a channel with a signed message the receiver can verify', async () => {
    const added = await api.call('POST', '/api/v1/alerts/channels', {
      body: webhookBody('hook-t'),
    });
    const id = added.body.channel.id as string;
    const before = http.received.length;
    const tested = await api.call('POST', `/api/v1/alerts/channels/${id}/test`);
    expect(tested.status).toBe(200);
    expect(tested.body).toMatchObject({ ok: true, statusCode: 200, error: null });
    const got = http.received.slice(before).find((r) => r.path.startsWith('/hook/hook-t/'))!;
    expect(verifyWebhook(SECRET, got.headers, got.body)).toBe(true);
    expect(got.json.event).toBe('test');

    await http.down();
    try {
      const down = await api.call('POST', `/api/v1/alerts/channels/${id}/test`);
      expect(down.body.ok).toBe(false);
      expect(down.body.error).toMatch(/could not connect/);
    } finally {
      await http.up();
    }
    const missing = await api.call('POST', '/api/v1/alerts/channels/nope/test');
    expect(missing.status).toBe(404);
    const byName = await api.call('POST', '/api/v1/alerts/channels/hook-t/test');
    expect(byName.status).toBe(200);
    expect(byName.body.ok).toBe(true);
    const unknownFilter = await api.call('GET', '/api/v1/alerts/deliveries?channel=nope', {
      as: 'viewer',
    });
    expect(unknownFilter.status).toBe(404);
    expect(unknownFilter.body.error.message).toContain('no alert channel "nope"');
  });

  it('routes events by rule into the delivery log, refusing bad rules', async () => {
    const channel = (
      await api.call('POST', '/api/v1/alerts/channels', { body: webhookBody('hook-r') })
    ).body.channel;
    const bad: [Record<string, unknown>, number, RegExp][] = [
      [{ name: 'r1', events: ['exploded'], channels: ['hook-r'] }, 400, /events/],
      [{ name: 'r2', events: ['approved'], channels: ['no-such'] }, 400, /"no-such"/],
      [{ name: 'r3', events: [], channels: ['hook-r'] }, 400, /events/],
      [
        { name: 'r4', events: ['approved'], minSeverity: 'huge', channels: ['hook-r'] },
        400,
        /minSeverity/,
      ],
      [{ name: 'r5', events: ['approved'], channels: ['hook-r'], extra: 1 }, 400, /extra/],
    ];
    for (const [body, status, message] of bad) {
      const answer = await api.call('POST', '/api/v1/alerts/rules', { body });
      expect(answer.status, JSON.stringify(body)).toBe(status);
      expect(answer.body.error.message).toMatch(message);
    }
    expect((await api.call('GET', '/api/v1/alerts/rules')).body.items).toEqual([]);
    expect(
      (
        await api.call('POST', '/api/v1/alerts/rules', {
          as: 'operator',
          body: { name: 'r0', events: ['approved'], channels: ['hook-r'] },
        })
      ).status,
    ).toBe(403);

    const rule = await api.call('POST', '/api/v1/alerts/rules', {
      body: {
        name: 'pending-high',
        events: ['pending_approval'],
        minSeverity: 'high',
        channels: ['hook-r'],
      },
    });
    expect(rule.status).toBe(201);
    expect(rule.body.rule).toMatchObject({
      name: 'pending-high',
      minSeverity: 'high',
      channels: [{ id: channel.id, name: 'hook-r' }],
    });

    const created = await api.call('POST', '/api/v1/actions', {
      as: 'operator',
      body: suggestion('alerts-api-bucket', { severity: 'critical' }),
    });
    expect(created.status).toBe(201);
    const actionId = created.body.action.id as string;

    const listed = await api.call(
      'GET',
      `/api/v1/alerts/deliveries?status=pending&channel=${channel.id}`,
      {
        as: 'viewer',
      },
    );
    expect(listed.status).toBe(200);
    expect(listed.body.items).toHaveLength(1);
    const delivery = listed.body.items[0];
    expect(delivery).toMatchObject({
      event: 'pending_approval',
      severity: 'critical',
      actionId,
      status: 'pending',
      attempts: 0,
    });
    const one = await api.call('GET', `/api/v1/alerts/deliveries/${delivery.id}`);
    expect(one.body.delivery).toMatchObject({ id: delivery.id, attemptLog: [] });

    for (const [route, status] of [
      ['/api/v1/alerts/deliveries?status=bogus', 400],
      ['/api/v1/alerts/deliveries?colour=red', 400],
      ['/api/v1/alerts/deliveries?limit=0', 400],
      ['/api/v1/alerts/deliveries/nope', 404],
    ] as const) {
      expect((await api.call('GET', route)).status, route).toBe(status);
    }
    const retry = await api.call('POST', `/api/v1/alerts/deliveries/${delivery.id}/retry`);
    expect(retry.status).toBe(409);

    const inUse = await api.call('DELETE', `/api/v1/alerts/channels/${channel.id}`);
    expect(inUse.status).toBe(409);
    expect(inUse.body.error.message).toContain('pending-high');
    expect((await api.call('DELETE', `/api/v1/alerts/rules/${rule.body.rule.id}`)).status).toBe(
      200,
    );
    const removed = await api.call('DELETE', '/api/v1/alerts/channels/hook-r');
    expect(removed.status).toBe(200);
    expect(removed.body.channel.id).toBe(channel.id);
    const cancelled = await api.call('GET', `/api/v1/alerts/deliveries/${delivery.id}`);
    expect(cancelled.body.delivery.status).toBe('cancelled');
  });

  it('refuses an unknown query parameter on every alerts route', async () => {
    for (const [method, route, body] of [
      ['GET', '/api/v1/alerts/channels', undefined],
      ['POST', '/api/v1/alerts/channels', { name: 'q', type: 'slack', url: 'https://x.test/q' }],
      ['DELETE', '/api/v1/alerts/channels/x', undefined],
      ['POST', '/api/v1/alerts/channels/x/test', undefined],
      ['GET', '/api/v1/alerts/rules', undefined],
      ['POST', '/api/v1/alerts/rules', { name: 'q', events: ['approved'], channels: ['q'] }],
      ['DELETE', '/api/v1/alerts/rules/x', undefined],
      ['GET', '/api/v1/alerts/deliveries/x', undefined],
      ['POST', '/api/v1/alerts/deliveries/x/retry', undefined],
      ['POST', '/api/v1/alerts/channels/x/retry', undefined],
    ] as const) {
      const answer = await api.call(method, `${route}?colour=red`, body ? { body } : {});
      expect(answer.status, route).toBe(400);
      expect(answer.body.error.message, route).toContain('"colour"');
    }
    expect((await api.call('GET', '/api/v1/alerts/channels')).body.items).not.toContainEqual(
      expect.objectContaining({ name: 'q' }),
    );
  });

  it('retries every failed delivery of a channel at once, from the API and the CLI', async () => {
    const added = await api.call('POST', '/api/v1/alerts/channels', {
      body: webhookBody('flaky-hook'),
    });
    expect(added.status).toBe(201);
    const channel = added.body.channel;
    await api.call('POST', '/api/v1/alerts/rules', {
      body: {
        name: 'flaky-all',
        events: ['suggested'],
        minSeverity: 'low',
        channels: [channel.id],
      },
    });
    for (const bucket of ['flaky-1', 'flaky-2']) {
      const created = await api.call('POST', '/api/v1/actions', {
        as: 'operator',
        body: suggestion(bucket, { severity: 'low' }),
      });
      expect(created.status).toBe(201);
    }
    const failRound = async () => {
      http.state.behaviour = 'error';
      try {
        const worker = createDispatcher({
          store: api.store,
          log: silentLog,
          publicUrl: api.url,
          attempts: 1,
        });
        await worker.runOnce();
      } finally {
        http.state.behaviour = 'ok';
      }
    };
    const mine = async (status: string) =>
      (await api.call('GET', `/api/v1/alerts/deliveries?status=${status}&channel=${channel.id}`))
        .body.items as { id: string; attempts: number; nextAttemptAt: string | null }[];
    await failRound();
    // The older alert failed its round; the newer one waits behind it, untried.
    const failed = await mine('failed');
    expect(failed).toHaveLength(1);
    const held = await mine('pending');
    expect(held.map((d) => d.attempts)).toEqual([0]);
    // A failed round waits for the next one, which is in the future.
    for (const d of failed) expect(Date.parse(d.nextAttemptAt!)).toBeGreaterThan(Date.now());

    const route = `/api/v1/alerts/channels/${channel.name}/retry`;
    expect((await api.call('POST', route, { as: 'operator' })).status).toBe(403);
    const missing = await api.call('POST', '/api/v1/alerts/channels/no-such-channel/retry');
    expect(missing.status).toBe(404);
    expect(missing.body.error.message).toContain('no-such-channel');
    expect(await mine('failed')).toHaveLength(1);

    const retried = await api.call('POST', route);
    expect(retried.status).toBe(200);
    expect(retried.body).toEqual({ channel: { id: channel.id, name: 'flaky-hook' }, queued: 1 });
    const pending = await mine('pending');
    expect(pending.map((d) => d.id).sort()).toEqual([...failed, ...held].map((d) => d.id).sort());
    for (const d of pending) {
      expect(d.attempts).toBe(0);
      expect(Date.parse(d.nextAttemptAt!)).toBeLessThanOrEqual(Date.now());
    }
    const audit = await api.call('GET', '/api/v1/audit?type=alerts&order=desc&limit=1');
    expect(audit.body.items[0]).toMatchObject({
      comment: 'alert deliveries of a channel retried',
      data: { channelId: channel.id, queued: 1 },
    });

    await failRound();
    expect(await mine('failed')).toHaveLength(1);
    const viaCli = await cli(['alerts', 'retry', '--channel', channel.id], env);
    expect(viaCli.code, viaCli.stderr).toBe(0);
    expect(viaCli.stdout).toBe('1 failed alert deliveries of channel flaky-hook queued again\n');
    expect(await mine('failed')).toHaveLength(0);
    for (const args of [
      ['alerts', 'retry'],
      ['alerts', 'retry', 'some-id', '--channel', 'x'],
    ]) {
      const refused = await cli(args, env);
      expect(refused.code, args.join(' ')).toBe(2);
      expect(refused.stderr).toContain('give a delivery id or --channel <id-or-name>');
    }
    expect(await mine('pending')).toHaveLength(2);
  });

  it('drives channels, rules and deliveries from the CLI', async () => {
    const secretFile = path.join(dir, 'hmac-key');
    await writeFile(secretFile, `${SECRET}\n`);
    const add = await cli(
      [
        'alerts',
        'channels',
        'add',
        'cli-hook',
        '--type',
        'webhook',
        '--url',
        http.url('/cli/s3cr3t-path'),
        '--secret-file',
        secretFile,
      ],
      env,
    );
    expect(add.stderr).toBe('');
    expect(add.code).toBe(0);
    expect(add.stdout).toMatch(
      /alert channel .* \(cli-hook\) added: http:\/\/127\.0\.0\.1:\d+\/\*\*\*\*/,
    );

    const list = await cli(['alerts', 'channels', 'list', '-o', 'json'], env);
    const channel = JSON.parse(list.stdout).items.find(
      (c: { name: string }) => c.name === 'cli-hook',
    );
    expect(channel.health.state).toBe('untested');
    expect(list.stdout).not.toMatch(/s3cr3t|api-test-hmac/);
    const table = await cli(['alerts', 'channels', 'list'], env);
    expect(table.stdout).toMatch(/cli-hook\s+webhook\s+untested/);

    const tested = await cli(['alerts', 'channels', 'test', channel.id], env);
    expect(tested.code).toBe(0);
    expect(tested.stdout).toMatch(/^delivered \(200, \d+ ms\)/);
    const byName = await cli(['alerts', 'channels', 'test', 'cli-hook'], env);
    expect(byName.code).toBe(0);
    expect(byName.stdout).toMatch(/^delivered \(200, \d+ ms\)/);
    for (const args of [
      ['alerts', 'channels', 'test', 'no-such-hook'],
      ['alerts', 'channels', 'remove', 'no-such-hook'],
      ['alerts', 'deliveries', '--channel', 'no-such-hook'],
      ['alerts', 'retry', '--channel', 'no-such-hook'],
    ]) {
      const unknown = await cli(args, env);
      expect(unknown.code, args.join(' ')).toBe(1);
      expect(unknown.stderr, args.join(' ')).toContain('no alert channel "no-such-hook"');
      expect(unknown.stdout, args.join(' ')).toBe('');
    }

    const both = await cli(
      [
        'alerts',
        'channels',
        'add',
        'x',
        '--type',
        'webhook',
        '--secret',
        'a'.repeat(20),
        '--secret-file',
        secretFile,
        '--url',
        'https://x.test',
      ],
      env,
    );
    expect(both.code).toBe(2);
    expect(both.stderr).toContain('give --secret or --secret-file, not both');

    const badEvents = await cli(
      ['alerts', 'rules', 'add', 'r', '--events', 'approved,exploded', '--channel', 'cli-hook'],
      env,
    );
    expect(badEvents.code).toBe(2);
    expect(badEvents.stderr).toContain('"exploded"');

    const rule = await cli(
      [
        'alerts',
        'rules',
        'add',
        'cli-rule',
        '--events',
        'pending_approval,failed',
        '--min-severity',
        'low',
        '--channel',
        'cli-hook',
      ],
      env,
    );
    expect(rule.code).toBe(0);
    const rules = await cli(['alerts', 'rules', 'list'], env);
    expect(rules.stdout).toMatch(/cli-rule\s+low\s+pending_approval,failed\s+cli-hook/);

    await api.call('POST', '/api/v1/actions', {
      as: 'operator',
      body: suggestion('alerts-cli-bucket', { severity: 'medium' }),
    });
    const deliveries = await cli(
      ['alerts', 'deliveries', '--status', 'pending', '-o', 'json'],
      env,
    );
    const mine = JSON.parse(deliveries.stdout).items.filter(
      (d: { channel: { name: string } }) => d.channel.name === 'cli-hook',
    );
    expect(mine).toHaveLength(1);
    const shown = await cli(['alerts', 'deliveries', mine[0].id], env);
    expect(shown.stdout).toContain(`delivery ${mine[0].id}: pending`);
    expect(shown.stdout).toContain('no attempts yet');
    const failed = await cli(['alerts', 'deliveries', '--status', 'failed'], env);
    expect(failed.stdout).toBe('no deliveries match\n');
    for (const ref of ['cli-hook', channel.id]) {
      const ofChannel = await cli(['alerts', 'deliveries', '--channel', ref, '-o', 'json'], env);
      expect(ofChannel.code).toBe(0);
      expect(JSON.parse(ofChannel.stdout).items.map((d: { id: string }) => d.id)).toEqual([
        mine[0].id,
      ]);
    }
    const badStatus = await cli(['alerts', 'deliveries', '--status', 'lost'], env);
    expect(badStatus.code).toBe(2);

    const viewer = await cli(['alerts', 'rules', 'remove', 'whatever'], {
      ...env,
      INFRAUDIT_TOKEN: api.tokens.viewer,
    });
    expect(viewer.code).toBe(1);
    expect(viewer.stderr).toMatch(/admin/);
  });
});
