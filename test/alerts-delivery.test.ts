import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDispatcher, type DispatcherOptions } from '../src/alerts/dispatcher.ts';
import type { AlertEvent } from '../src/alerts/model.ts';
import type { Action } from '../src/domain/action.ts';
import type { Severity } from '../src/domain/status.ts';
import { metrics } from '../src/metrics/metrics.ts';
import type { Store } from '../src/store/store.ts';
import { newAction } from './helpers/actions.ts';
import {
  startHttpReceiver,
  startSmtpReceiver,
  verifyWebhook,
  type HttpReceiver,
} from './helpers/alert-receivers.ts';
import { ENGINES, storePerSuite } from './helpers/databases.ts';
import { captureLog } from './helpers/log-capture.ts';
import { silentLog } from './helpers/world.ts';

const SECRET = 'whsec-0123456789abcdef0123456789';
const PUBLIC_URL = 'https://infraudit.example.test/console';
const at = () => ({ actor: 'token:admin', now: new Date() });

describe.each(ENGINES)('alert delivery on %s', (engine) => {
  let store: Store;
  storePerSuite(engine, (opened) => {
    store = opened;
  });
  let http: HttpReceiver;
  beforeAll(async () => {
    http = await startHttpReceiver();
  });
  afterAll(async () => {
    await http.close();
  });

  let n = 0;
  const unique = (prefix: string) => `${prefix}-${engine}-${++n}`;

  const create = async (severity: Severity = 'high', requireApproval = true, now = new Date()) =>
    (
      await store.createAction(newAction({ severity }), {
        actor: 'token:creator',
        now,
        requireApproval,
      })
    ).action;

  const dispatcher = (opts: Partial<DispatcherOptions> = {}) =>
    createDispatcher({
      store,
      log: silentLog,
      publicUrl: PUBLIC_URL,
      backoffMs: 20,
      timeoutMs: 1_000,
      ...opts,
    });

  /** Runs passes until `done` holds; each pass sends whatever is due. */
  async function until(run: () => Promise<unknown>, done: () => Promise<boolean>, ms = 10_000) {
    const deadline = Date.now() + ms;
    while (!(await done())) {
      if (Date.now() > deadline) throw new Error('condition not met in time');
      await run();
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  const deliveryOf = async (actionId: string, channelId: string) =>
    (await store.listAlertDeliveries({ limit: 500 })).find(
      (d) => d.actionId === actionId && d.channel.id === channelId,
    );

  const emailChannel = (port: number, password: string) =>
    store.createAlertChannel(
      {
        name: unique('mail'),
        type: 'email',
        config: {
          host: '127.0.0.1',
          port,
          security: 'none',
          username: 'alerts',
          from: 'infraudit@example.test',
          to: ['oncall@example.test'],
        },
        secrets: { password },
      },
      at(),
    );

  async function webhookChannel(path: string) {
    return store.createAlertChannel(
      {
        name: unique('hook'),
        type: 'webhook',
        config: {},
        secrets: { url: http.url(path), secret: SECRET },
      },
      at(),
    );
  }

  async function ruleFor(channelId: string, events: AlertEvent[] = ['pending_approval']) {
    return store.createAlertRule(
      { name: unique('rule'), events, minSeverity: 'medium', channels: [channelId] },
      at(),
    );
  }

  it('sends to Slack, a signed webhook and SMTP with the action facts and no secrets', async () => {
    const smtp = await startSmtpReceiver({ user: 'alerts', pass: 'smtp-pa55word' });
    try {
      const slack = await store.createAlertChannel(
        {
          name: unique('slack'),
          type: 'slack',
          config: {},
          secrets: { url: http.url('/services/T000/B000/slacktoken') },
        },
        at(),
      );
      const hook = await webhookChannel('/hooks/abc');
      const mail = await emailChannel(smtp.port, 'smtp-pa55word');
      expect(JSON.stringify(await store.listAlertChannels())).not.toMatch(
        /slacktoken|hooks\/abc|pa55word|whsec/,
      );
      await store.createAlertRule(
        {
          name: unique('rule'),
          events: ['pending_approval'],
          minSeverity: 'high',
          channels: [slack.id, hook.id, mail.id],
        },
        at(),
      );
      const action = await create('critical');
      const before = http.received.length;
      const sent = await dispatcher().runOnce();
      expect(sent).toBeGreaterThanOrEqual(3);

      const mine = http.received.slice(before);
      const slackMessage = mine.find((r) => r.path === '/services/T000/B000/slacktoken')!;
      expect(slackMessage.json.text).toContain(action.title);
      expect(slackMessage.json.text).toContain(action.resource.id);
      expect(slackMessage.json.text).toContain(`${PUBLIC_URL}/actions/${action.id}`);
      const event = (await store.events(action.id)).find((e) => e.to === 'pending_approval')!;
      expect(slackMessage.json.text).toContain(`By: ${event.actor}`);
      expect(slackMessage.json.text).toContain('critical');
      expect(slackMessage.json.blocks[0].type).toBe('header');

      const webhookMessage = mine.find((r) => r.path === '/hooks/abc')!;
      expect(verifyWebhook(SECRET, webhookMessage.headers, webhookMessage.body)).toBe(true);
      // A tampered body, another key or a replay from ten minutes ago all fail.
      expect(verifyWebhook(SECRET, webhookMessage.headers, `${webhookMessage.body} `)).toBe(false);
      expect(verifyWebhook('another-key-000000', webhookMessage.headers, webhookMessage.body)).toBe(
        false,
      );
      expect(
        verifyWebhook(SECRET, webhookMessage.headers, webhookMessage.body, Date.now() + 600_000),
      ).toBe(false);
      expect(webhookMessage.json).toMatchObject({
        event: 'pending_approval',
        severity: 'critical',
        toStatus: 'pending_approval',
        link: `${PUBLIC_URL}/actions/${action.id}`,
        action: { id: action.id, title: action.title, resource: { id: action.resource.id } },
      });
      for (const r of mine) expect(r.body).not.toMatch(/whsec|pa55word|slacktoken/);

      const email = smtp.mails.at(-1)!;
      expect(email.user).toBe('alerts');
      expect(email.to).toEqual(['oncall@example.test']);
      expect(email.raw).toContain('Remediation awaits approval');
      expect(email.raw).toContain(action.resource.id);
      expect(email.raw).not.toContain('pa55word');

      for (const channel of [slack, hook, mail]) {
        const d = (await deliveryOf(action.id, channel.id))!;
        expect(d.status).toBe('delivered');
        const detail = (await store.getAlertDelivery(d.id))!;
        expect(detail.attemptLog).toHaveLength(1);
        expect(detail.attemptLog[0]).toMatchObject({ attempt: 1, ok: true, error: null });
        expect(detail.attemptLog[0]!.statusCode).toBe(channel === mail ? 250 : 200);
        expect(detail.attemptLog[0]!.durationMs).toBeGreaterThanOrEqual(0);
      }
      const health = (await store.listAlertChannels()).find((c) => c.id === mail.id)!.health;
      expect(health.state).toBe('ok');
      expect(health.lastSuccessAt).not.toBeNull();
    } finally {
      await smtp.close();
    }
  });

  it('records a refused SMTP login as a failed attempt without the password', async () => {
    const smtp = await startSmtpReceiver({ user: 'alerts', pass: 'right-password' });
    try {
      const mail = await emailChannel(smtp.port, 'wrong-pa55word');
      await ruleFor(mail.id);
      const action = await create('high');
      await dispatcher({ attempts: 1 }).runOnce();
      const d = (await store.getAlertDelivery((await deliveryOf(action.id, mail.id))!.id))!;
      expect(d.status).toBe('failed');
      expect(d.attemptLog[0]!.ok).toBe(false);
      expect(d.attemptLog[0]!.statusCode).toBe(535);
      expect(d.attemptLog[0]!.error).not.toContain('pa55word');
      expect(smtp.mails).toHaveLength(0);
    } finally {
      await smtp.close();
    }
  });

  it('with starttls, refuses to send to a server that offers no STARTTLS', async () => {
    const smtp = await startSmtpReceiver({ user: 'alerts', pass: 'pa55word' });
    try {
      const mail = await store.createAlertChannel(
        {
          name: unique('mail'),
          type: 'email',
          config: {
            host: '127.0.0.1',
            port: smtp.port,
            security: 'starttls',
            username: 'alerts',
            from: 'infraudit@example.test',
            to: ['oncall@example.test'],
          },
          secrets: { password: 'pa55word' },
        },
        at(),
      );
      await ruleFor(mail.id);
      const action = await create('high');
      await dispatcher({ attempts: 1 }).runOnce();
      const d = (await store.getAlertDelivery((await deliveryOf(action.id, mail.id))!.id))!;
      expect(d.status).toBe('failed');
      expect(d.attemptLog[0]!.error).toMatch(/STARTTLS/i);
      expect(smtp.mails).toHaveLength(0);
    } finally {
      await smtp.close();
    }
  });

  it('survives an outage: refused, then 500, then delivered once the receiver is back', async () => {
    const hook = await webhookChannel('/outage');
    await ruleFor(hook.id);
    await http.down();
    const action = await create('high');
    // The remediation goes on while nobody can receive its alerts.
    const approved = await store.transition(action.id, 'approve', {
      actor: 'token:approver',
      now: new Date(),
    });
    expect(approved.status).toBe('approved');

    // The dispatcher's clock moves only when the test moves it, so a retry is due exactly
    // when its backoff has passed and never earlier.
    let now = Date.now() + 1_000;
    const worker = dispatcher({ attempts: 3, backoffMs: 50, clock: () => new Date(now) });
    const delivery = (await deliveryOf(action.id, hook.id))!;
    const attemptCount = async () => (await store.getAlertDelivery(delivery.id))!.attemptLog.length;
    await worker.runOnce();
    expect(await attemptCount()).toBe(1);
    now += 49;
    await worker.runOnce();
    expect(await attemptCount()).toBe(1);
    await http.up();
    http.state.behaviour = 'error';
    now += 1;
    await worker.runOnce();
    expect(await attemptCount()).toBe(2);
    http.state.behaviour = 'ok';
    now += 99;
    await worker.runOnce();
    expect(await attemptCount()).toBe(2);
    const before = http.received.length;
    now += 1;
    await worker.runOnce();
    expect((await store.getAlertDelivery(delivery.id))!.status).toBe('delivered');

    const detail = (await store.getAlertDelivery(delivery.id))!;
    expect(detail.attemptLog.map((a) => [a.ok, a.statusCode])).toEqual([
      [false, null],
      [false, 500],
      [true, 200],
    ]);
    expect(detail.attemptLog[0]!.error).toMatch(/could not connect/);
    expect(detail.attemptLog[0]!.error).not.toContain('outage');
    expect(detail.attemptLog[1]!.error).toBe('the receiver answered 500');
    // Backoff: 50 ms before the second try, 100 ms before the third.
    const times = detail.attemptLog.map((a) => Date.parse(a.at));
    expect([times[1]! - times[0]!, times[2]! - times[1]!]).toEqual([50, 100]);
    // Delivered exactly once.
    const got = http.received.slice(before).filter((r) => r.path === '/outage');
    expect(got).toHaveLength(1);
    expect(got[0]!.json.action.id).toBe(action.id);
    const health = (await store.listAlertChannels()).find((c) => c.id === hook.id)!.health;
    expect(health).toMatchObject({ state: 'ok', consecutiveFailures: 0 });
    const counted = (await metrics.alertDeliveryFailures.get()).values.find(
      (v) => v.labels.channel === hook.name,
    );
    expect(counted?.value).toBe(2);
  });

  it('keeps undelivered alerts through a long outage, trying the oldest in rounds with capped waits, and sends them all in event order once a new alert finds the channel back', async () => {
    const hook = await webhookChannel('/long-outage');
    await store.createAlertRule(
      { name: unique('rule'), events: ['suggested'], minSeverity: 'low', channels: [hook.id] },
      at(),
    );
    await http.down();
    let down = true;
    try {
      const backlog: Action[] = [];
      for (let i = 0; i < 3; i++) backlog.push(await create('medium', false));
      const ids = await Promise.all(
        backlog.map(async (a) => (await deliveryOf(a.id, hook.id))!.id),
      );

      let now = Date.now() + 1_000;
      const worker = dispatcher({
        attempts: 2,
        backoffMs: 1_000,
        recoveryMs: 60_000,
        clock: () => new Date(now),
      });
      const waits: number[] = [];
      for (let round = 0; round < 5; round++) {
        await worker.runOnce();
        now += 1_000;
        await worker.runOnce();
        const ds = await Promise.all(ids.map(async (id) => (await store.getAlertDelivery(id))!));
        // Only the oldest is tried; the later ones wait behind it, untried.
        expect(ds[0]).toMatchObject({ status: 'failed', attempts: 2 });
        expect(ds[0]!.attemptLog).toHaveLength(2 * (round + 1));
        for (const d of ds.slice(1)) {
          expect(d).toMatchObject({ status: 'pending', attempts: 0, attemptLog: [] });
        }
        // Until the next round nothing is sent, however often the outbox is read.
        await worker.runOnce();
        expect((await store.getAlertDelivery(ids[0]!))!.attemptLog).toHaveLength(2 * (round + 1));
        const wait = Date.parse(ds[0]!.nextAttemptAt!) - now;
        waits.push(wait);
        now += wait;
      }
      // The wait between rounds grows with every try, never past the recovery setting.
      expect(waits).toEqual([2_000, 8_000, 32_000, 60_000, 60_000]);
      expect(
        (await store.listAlertDeliveries({ status: ['failed'], channel: hook.id })).map(
          (d) => d.id,
        ),
      ).toEqual([ids[0]]);

      // One more failed round; the next starts a minute later.
      await worker.runOnce();
      now += 1_000;
      await worker.runOnce();
      const waiting = (await store.getAlertDelivery(ids[0]!))!;
      expect(waiting.status).toBe('failed');
      expect(Date.parse(waiting.nextAttemptAt!) - now).toBe(60_000);

      // The receiver is back well before that round. Nothing is sent until an alert is
      // raised; that new alert starts the backlog's next round at once, and goes after it.
      await http.up();
      down = false;
      now += 1_000;
      const before = http.received.length;
      await worker.runOnce();
      expect(http.received.slice(before).filter((r) => r.path === '/long-outage')).toEqual([]);
      const fresh = await create('medium', false, new Date(now));
      await worker.runOnce();
      for (const id of [...ids, (await deliveryOf(fresh.id, hook.id))!.id]) {
        expect((await store.getAlertDelivery(id))!.status).toBe('delivered');
      }
      const got = http.received.slice(before).filter((r) => r.path === '/long-outage');
      expect(got.map((r) => r.json.action.id)).toEqual([...backlog.map((a) => a.id), fresh.id]);
      const eventIds = got.map((r) => r.json.auditEventId as number);
      expect(eventIds).toEqual([...eventIds].sort((a, b) => a - b));
    } finally {
      if (down) await http.up();
    }
  });

  it('after an outage sends one channel its alerts in event order, holding later ones back while an earlier one waits out its backoff', async () => {
    const hook = await webhookChannel('/in-order');
    await ruleFor(hook.id, ['suggested', 'pending_approval', 'approved', 'executed']);
    http.state.behaviour = 'unavailable';
    try {
      let now = Date.now() + 1_000;
      const worker = dispatcher({ attempts: 3, backoffMs: 1_000, clock: () => new Date(now) });
      const action = await create('high');
      const delivered = async () =>
        (await store.listAlertDeliveries({ channel: hook.name, limit: 500 })).filter(
          (d) => d.status === 'delivered',
        ).length;
      await worker.runOnce();
      const first = await store.listAlertDeliveries({ channel: hook.id, limit: 500 });
      expect(first.map((d) => [d.event, d.status, d.attempts]).sort()).toEqual([
        ['pending_approval', 'pending', 0],
        ['suggested', 'pending', 1],
      ]);
      expect(
        (await store.getAlertDelivery(first.find((d) => d.event === 'suggested')!.id))!
          .attemptLog[0],
      ).toMatchObject({ ok: false, statusCode: 503 });

      // The remediation goes on: approved and executed are queued behind the first two.
      const approved = await store.transition(action.id, 'approve', {
        actor: 'token:approver',
        now: new Date(),
      });
      expect(approved.status).toBe('approved');
      await store.request(action.id, 'execute', { actor: 'token:approver', now: new Date() });
      await store.claim('engine-order', { now: new Date(), leaseMs: 30_000, limit: 10 });
      await store.transition(action.id, 'complete', {
        actor: 'system',
        now: new Date(),
        leaseOwner: 'engine-order',
      });

      // The receiver is back, but the first alert still waits out its backoff: nothing
      // later may overtake it.
      http.state.behaviour = 'ok';
      const before = http.received.length;
      await worker.runOnce();
      now += 999;
      await worker.runOnce();
      expect(http.received.length).toBe(before);
      expect(await delivered()).toBe(0);

      now += 1;
      await worker.runOnce();
      expect(await delivered()).toBe(4);
      const got = http.received.slice(before).filter((r) => r.path === '/in-order');
      expect(got.map((r) => r.json.event)).toEqual([
        'suggested',
        'pending_approval',
        'approved',
        'executed',
      ]);
      const eventIds = got.map((r) => r.json.auditEventId as number);
      expect(eventIds).toEqual([...eventIds].sort((a, b) => a - b));
    } finally {
      http.state.behaviour = 'ok';
    }
  });

  it('expires alerts held back behind an undelivered one once they are too old, without a try', async () => {
    const { log, lines } = captureLog();
    const hook = await webhookChannel('/held');
    await store.createAlertRule(
      { name: unique('rule'), events: ['suggested'], minSeverity: 'low', channels: [hook.id] },
      at(),
    );
    await http.down();
    try {
      const actions: Action[] = [];
      for (let i = 0; i < 3; i++) actions.push(await create('medium', false));
      const ids = await Promise.all(
        actions.map(async (a) => (await deliveryOf(a.id, hook.id))!.id),
      );
      let now = Date.now() + 1_000;
      const worker = dispatcher({
        attempts: 1,
        backoffMs: 1_000,
        maxAgeMs: 10 * 60_000,
        clock: () => new Date(now),
        log,
      });
      await worker.runOnce();
      const [oldest, ...later] = await Promise.all(
        ids.map(async (id) => (await store.getAlertDelivery(id))!),
      );
      expect(oldest).toMatchObject({ status: 'failed', attempts: 1 });
      for (const d of later) expect(d).toMatchObject({ status: 'pending', attemptLog: [] });

      now += 11 * 60_000;
      await worker.runOnce();
      const ds = await Promise.all(ids.map(async (id) => (await store.getAlertDelivery(id))!));
      expect(ds.map((d) => d.status)).toEqual(['expired', 'expired', 'expired']);
      expect(ds[0]!.attemptLog).toHaveLength(2);
      for (const d of ds.slice(1)) {
        expect(d).toMatchObject({ attempts: 0, attemptLog: [] });
        expect(d.lastError).toMatch(/held back behind an earlier undelivered alert/);
      }
      const logged = lines
        .map((l) => JSON.parse(l))
        .filter((l) => /alert expired/.test(l.msg) && l.level === 50)
        .map((l) => l.deliveryId)
        .filter((id) => ids.includes(id));
      expect(logged.sort()).toEqual([...ids].sort());
    } finally {
      await http.up();
    }
  });

  it('on a slow receiver, ends a round of attempts, expires what is too old, marks the channel failing, and never blocks a transition', async () => {
    const { log, lines } = captureLog();
    const hook = await webhookChannel('/slow');
    await ruleFor(hook.id, ['pending_approval', 'approved']);
    http.state.behaviour = 'slow';
    http.state.slowMs = 3_000;
    try {
      const action = await create('high');
      // Any age is too old: the first failed round expires the delivery.
      const worker = dispatcher({ attempts: 3, backoffMs: 10, timeoutMs: 150, maxAgeMs: 1, log });
      const delivery = (await deliveryOf(action.id, hook.id))!;
      const seen = http.state.seen;
      const pass = worker.runOnce();
      // While a send hangs on the receiver, the action moves on.
      await until(
        async () => undefined,
        async () => http.state.seen > seen,
      );
      const approved = await store.transition(action.id, 'approve', {
        actor: 'token:approver',
        now: new Date(),
      });
      expect(approved.status).toBe('approved');
      await pass;
      await until(
        () => worker.runOnce(),
        async () => (await store.getAlertDelivery(delivery.id))!.status === 'expired',
      );
      const detail = (await store.getAlertDelivery(delivery.id))!;
      expect(detail.attemptLog).toHaveLength(3);
      expect(detail.nextAttemptAt).toBeNull();
      for (const attempt of detail.attemptLog) {
        expect(attempt).toMatchObject({ ok: false, statusCode: null });
        expect(attempt.error).toBe('no answer within 150 ms');
        expect(attempt.durationMs).toBeGreaterThanOrEqual(150);
      }
      const channel = (await store.listAlertChannels()).find((c) => c.id === hook.id)!;
      expect(channel.health.state).toBe('failing');
      expect(channel.health.consecutiveFailures).toBeGreaterThanOrEqual(3);
      const warnings = lines
        .map((l) => JSON.parse(l))
        .filter((l) => /channel failing/.test(l.msg) && l.channel === hook.name);
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toMatchObject({ channel: hook.name, level: 40 });
      const expired = lines
        .map((l) => JSON.parse(l))
        .filter((l) => /alert expired/.test(l.msg) && l.deliveryId === delivery.id);
      expect(expired).toHaveLength(1);
      expect(expired[0]).toMatchObject({ level: 50, error: 'no answer within 150 ms' });
      expect(lines.join('\n')).not.toContain(SECRET);
      expect(lines.join('\n')).not.toContain('/slow');
    } finally {
      http.state.behaviour = 'ok';
    }
  });

  it('delivers each alert once with several dispatchers sharing the database', async () => {
    const hook = await webhookChannel('/replicas');
    await store.createAlertRule(
      { name: unique('rule'), events: ['suggested'], minSeverity: 'low', channels: [hook.id] },
      at(),
    );
    const actions: Action[] = [];
    for (let i = 0; i < 12; i++) actions.push(await create('medium', false));
    const workers = [1, 2, 3].map((i) => dispatcher({ owner: `replica-${i}`, concurrency: 2 }));
    const before = http.received.length;
    await Promise.all(workers.map((w) => w.runOnce()));
    await until(
      () => Promise.all(workers.map((w) => w.runOnce())),
      async () => {
        const ds = await Promise.all(actions.map((a) => deliveryOf(a.id, hook.id)));
        return ds.every((d) => d?.status === 'delivered');
      },
    );
    const got = http.received.slice(before).filter((r) => r.path === '/replicas');
    // Once each, and in event order although three dispatchers share the work.
    expect(got.map((r) => r.json.action.id)).toEqual(actions.map((a) => a.id));
  });

  it('alerts on drift detected and on a closing rollback window', async () => {
    const hook = await webhookChannel('/drift-window');
    await ruleFor(hook.id, ['drift_detected', 'window_closing']);
    const drift = (key: string, severity: Severity) => ({
      kind: 'drift' as const,
      origin: 'infraudit-drift',
      key: `${key}-${engine}`,
      checkId: 'drift.s3-bucket',
      title: `Bucket ${key} changed outside InfraAudit`,
      severity,
      resource: {
        provider: 'aws' as const,
        account: '111122223333',
        region: 'us-east-1',
        type: 'AwsS3Bucket',
        id: `arn:aws:s3:::${key}`,
        name: key,
      },
      state: 'failed' as const,
      driftType: 'security' as const,
      evidence: { changes: [] },
    });
    const reported = await store.reportFindings([drift('drifty', 'high'), drift('quiet', 'low')], {
      actor: 'scanner:test',
      now: new Date(),
    });
    expect(reported.opened).toBe(2);

    const a = await store.transition((await create('high')).id, 'approve', {
      actor: 'token:approver',
      now: new Date(),
    });
    await store.request(a.id, 'execute', { actor: 'token:approver', now: new Date() });
    await store.claim('engine-a', { now: new Date(), leaseMs: 30_000, limit: 10 });
    const done = await store.transition(a.id, 'complete', {
      actor: 'system',
      now: new Date(),
      leaseOwner: 'engine-a',
      openRollbackWindow: true,
    });
    const deadline = Date.parse(done.rollbackDeadline!);

    const before = http.received.length;
    const worker = dispatcher({
      windowWarningMs: 5 * 60_000,
      clock: () => new Date(deadline - 4 * 60_000),
    });
    await worker.runOnce();
    await worker.runOnce();
    const got = http.received.slice(before).filter((r) => r.path === '/drift-window');
    expect(got.map((r) => r.json.event).sort()).toEqual(['drift_detected', 'window_closing']);

    const driftAlert = got.find((r) => r.json.event === 'drift_detected')!;
    expect(driftAlert.json).toMatchObject({
      severity: 'high',
      action: null,
      finding: {
        title: 'Bucket drifty changed outside InfraAudit',
        driftType: 'security',
        resource: { id: 'arn:aws:s3:::drifty' },
      },
    });
    expect(driftAlert.json.link).toBe(`${PUBLIC_URL}/findings/${driftAlert.json.finding.id}`);

    const windowAlert = got.find((r) => r.json.event === 'window_closing')!;
    expect(windowAlert.json).toMatchObject({
      severity: 'high',
      actor: 'system',
      action: { id: a.id, rollbackDeadline: done.rollbackDeadline },
      link: `${PUBLIC_URL}/actions/${a.id}`,
    });
    expect(windowAlert.json.summary).toContain('Rollback window closing');
  });

  it('started and stopped as serve does, it sends on its own', async () => {
    const hook = await webhookChannel('/running');
    await ruleFor(hook.id);
    const worker = dispatcher({ pollMs: 20 });
    worker.start();
    try {
      const action = await create('high');
      await until(
        async () => undefined,
        async () => (await deliveryOf(action.id, hook.id))?.status === 'delivered',
      );
    } finally {
      await worker.stop();
    }
  });
});
