import { describe, expect, it } from 'vitest';
import type { Action } from '../src/domain/action.ts';
import type { Severity } from '../src/domain/status.ts';
import type { Store } from '../src/store/store.ts';
import { newAction } from './helpers/actions.ts';
import { ENGINES, storePerSuite } from './helpers/databases.ts';

const admin = { actor: 'token:admin', now: new Date() };
const at = () => ({ actor: 'token:admin', now: new Date() });

describe.each(ENGINES)('alert store on %s', (engine) => {
  let store: Store;
  storePerSuite(engine, (opened) => {
    store = opened;
  });

  let n = 0;
  const unique = (prefix: string) => `${prefix}-${++n}`;

  const webhook = (name = unique('hook')) =>
    store.createAlertChannel(
      {
        name,
        type: 'webhook',
        config: {},
        secrets: { url: 'http://127.0.0.1:9/hook/secret-path', secret: 'k'.repeat(32) },
      },
      at(),
    );

  const create = async (severity: Severity = 'high') =>
    (
      await store.createAction(newAction({ severity }), {
        actor: 'token:creator',
        now: new Date(),
        requireApproval: true,
      })
    ).action;

  const approve = (a: Action) =>
    store.transition(a.id, 'approve', { actor: 'token:approver', now: new Date() });

  async function complete(severity: Severity = 'high'): Promise<Action> {
    const a = await approve(await create(severity));
    await store.request(a.id, 'execute', { actor: 'token:approver', now: new Date() });
    const claimed = await store.claim('engine-a', { now: new Date(), leaseMs: 30_000, limit: 50 });
    expect(claimed.map((c) => c.id)).toContain(a.id);
    return store.transition(a.id, 'complete', {
      actor: 'system',
      now: new Date(),
      leaseOwner: 'engine-a',
      openRollbackWindow: true,
    });
  }

  const deliveriesOf = async (actionId: string) =>
    (await store.listAlertDeliveries({ limit: 500 })).filter((d) => d.actionId === actionId);

  it('queues nothing while no rule exists', async () => {
    await webhook();
    const a = await approve(await create());
    expect(await deliveriesOf(a.id)).toEqual([]);
  });

  it('queues one delivery per matching channel in the transaction of the event', async () => {
    const one = await webhook();
    const two = await webhook();
    await store.createAlertRule(
      { name: unique('rule'), events: ['approved'], minSeverity: 'high', channels: [one.name] },
      at(),
    );
    // A second rule naming the same channel must not send it twice.
    await store.createAlertRule(
      {
        name: unique('rule'),
        events: ['approved', 'pending_approval'],
        minSeverity: 'medium',
        channels: [one.id, two.id],
      },
      at(),
    );
    const created = await create('high');
    const pending = await deliveriesOf(created.id);
    expect(pending.map((d) => [d.event, d.channel.name]).sort()).toEqual(
      [
        ['pending_approval', two.name],
        ['pending_approval', one.name],
      ].sort(),
    );

    await approve(created);
    const approved = (await deliveriesOf(created.id)).filter((d) => d.event === 'approved');
    expect(approved.map((d) => d.channel.name).sort()).toEqual([one.name, two.name].sort());
    expect(approved.every((d) => d.status === 'pending' && d.severity === 'high')).toBe(true);
    const events = await store.events(created.id);
    const approval = events.find((e) => e.to === 'approved')!;
    expect(approved.every((d) => d.eventId === approval.id)).toBe(true);

    // Below every rule's severity: nothing.
    const low = await approve(await create('low'));
    expect(await deliveriesOf(low.id)).toEqual([]);
  });

  it('leases each delivery to one dispatcher, retries with the attempts recorded, then fails', async () => {
    const channel = await webhook();
    const rule = await store.createAlertRule(
      {
        name: unique('rule'),
        events: ['failed'],
        minSeverity: 'informational',
        channels: [channel.id],
      },
      at(),
    );
    const a = await approve(await create('medium'));
    await store.request(a.id, 'execute', { actor: 'token:approver', now: new Date() });
    await store.claim('engine-a', { now: new Date(), leaseMs: 30_000, limit: 50 });
    await store.transition(a.id, 'fail', {
      actor: 'system',
      now: new Date(),
      leaseOwner: 'engine-a',
    });
    const queued = (await deliveriesOf(a.id)).find((d) => d.channel.id === channel.id);
    expect(queued?.event).toBe('failed');

    const now = new Date(Date.now() + 1000);
    const claims = await Promise.all(
      ['d1', 'd2', 'd3'].map((owner) =>
        store.claimAlertDeliveries(owner, { now, leaseMs: 60_000, limit: 100 }),
      ),
    );
    const winners = claims.map((c, i) => ({
      i,
      got: c.filter((x) => x.delivery.id === queued!.id),
    }));
    const won = winners.filter((w) => w.got.length === 1);
    expect(won).toHaveLength(1);
    const owner = `d${won[0]!.i + 1}`;
    const claimed = won[0]!.got[0]!;
    expect(claimed.channel?.secrets.url).toContain('secret-path');
    expect(claimed.facts.action?.id).toBe(a.id);
    expect(claimed.facts.toStatus).toBe('failed');

    // A dispatcher that does not hold the lease records nothing.
    const stranger = await store.recordAlertAttempt(queued!.id, 'someone-else', {
      now,
      durationMs: 5,
      ok: true,
      statusCode: 200,
      error: null,
      next: 'pending',
      retryAt: null,
    });
    expect(stranger).toBeUndefined();

    const first = await store.recordAlertAttempt(queued!.id, owner, {
      now,
      durationMs: 12,
      ok: false,
      statusCode: 500,
      error: 'the receiver answered 500',
      next: 'pending',
      retryAt: new Date(now.getTime() + 60_000),
    });
    expect(first).toEqual({ status: 'pending', consecutiveFailures: 1 });
    // Not due before its retry time.
    expect(await store.claimAlertDeliveries(owner, { now, leaseMs: 60_000, limit: 100 })).toEqual(
      [],
    );
    const later = new Date(now.getTime() + 61_000);
    const again = (
      await store.claimAlertDeliveries(owner, { now: later, leaseMs: 60_000, limit: 100 })
    ).find((c) => c.delivery.id === queued!.id);
    expect(again?.delivery.attempts).toBe(1);
    const last = await store.recordAlertAttempt(queued!.id, owner, {
      now: later,
      durationMs: 10_000,
      ok: false,
      statusCode: null,
      error: 'no answer within 10000 ms',
      next: 'failed',
      retryAt: new Date(later.getTime() + 3_600_000),
    });
    expect(last?.status).toBe('failed');

    const detail = (await store.getAlertDelivery(queued!.id))!;
    expect(detail.status).toBe('failed');
    expect(detail.ruleId).toBe(rule.id);
    expect(detail.attemptLog.map((x) => [x.attempt, x.ok, x.statusCode, x.error])).toEqual([
      [1, false, 500, 'the receiver answered 500'],
      [2, false, null, 'no answer within 10000 ms'],
    ]);
    const health = (await store.listAlertChannels()).find((c) => c.id === channel.id)!.health;
    expect(health).toMatchObject({ consecutiveFailures: 2, state: 'ok', lastSuccessAt: null });
    expect(JSON.stringify(await store.listAlertChannels())).not.toContain('secret-path');

    expect((await store.listAlertDeliveries({ status: ['failed'] })).map((d) => d.id)).toContain(
      queued!.id,
    );

    const retried = await store.retryAlertDelivery(queued!.id, at());
    expect(retried).toMatchObject({ status: 'pending', attempts: 0 });
    await expect(store.retryAlertDelivery(queued!.id, at())).rejects.toMatchObject({
      code: 'conflict',
    });
    const third = (
      await store.claimAlertDeliveries(owner, {
        now: new Date(Date.now() + 1000),
        leaseMs: 60_000,
        limit: 100,
      })
    ).find((c) => c.delivery.id === queued!.id);
    const ok = await store.recordAlertAttempt(third!.delivery.id, owner, {
      now: new Date(),
      durationMs: 3,
      ok: true,
      statusCode: 204,
      error: null,
      next: 'pending',
      retryAt: null,
    });
    expect(ok).toEqual({ status: 'delivered', consecutiveFailures: 0 });
    const delivered = (await store.getAlertDelivery(queued!.id))!;
    expect(delivered.attemptLog.map((x) => x.attempt)).toEqual([1, 2, 3]);
    expect(delivered.deliveredAt).not.toBeNull();
  });

  it('takes over a delivery whose dispatcher died, once its lease expired', async () => {
    const channel = await webhook();
    await store.createAlertRule(
      { name: unique('rule'), events: ['suggested'], minSeverity: 'low', channels: [channel.id] },
      at(),
    );
    const a = (
      await store.createAction(newAction({ severity: 'low' }), {
        actor: 'token:creator',
        now: new Date(),
        requireApproval: false,
      })
    ).action;
    const queued = (await deliveriesOf(a.id)).find((d) => d.channel.id === channel.id);
    const now = new Date(Date.now() + 1000);
    const [first] = (
      await store.claimAlertDeliveries('dead', { now, leaseMs: 5_000, limit: 100 })
    ).filter((c) => c.delivery.id === queued!.id);
    expect(first).toBeDefined();
    expect(
      (await store.claimAlertDeliveries('alive', { now, leaseMs: 5_000, limit: 100 })).some(
        (c) => c.delivery.id === queued!.id,
      ),
    ).toBe(false);
    const after = new Date(now.getTime() + 6_000);
    const taken = await store.claimAlertDeliveries('alive', {
      now: after,
      leaseMs: 5_000,
      limit: 100,
    });
    expect(taken.some((c) => c.delivery.id === queued!.id)).toBe(true);
  });

  it('warns once per action as its rollback window closes, across concurrent timers', async () => {
    const channel = await webhook();
    await store.createAlertRule(
      {
        name: unique('rule'),
        events: ['window_closing'],
        minSeverity: 'low',
        channels: [channel.id],
      },
      at(),
    );
    const a = await complete('critical');
    const deadline = new Date(a.rollbackDeadline!);
    // Too early: more than the warning time is left.
    expect(
      await store.warnClosingWindows({
        now: new Date(deadline.getTime() - 10 * 60_000),
        warnMs: 5 * 60_000,
        limit: 100,
      }),
    ).toEqual([]);
    const now = new Date(deadline.getTime() - 4 * 60_000);
    const results = await Promise.all(
      [1, 2, 3, 4].map(() => store.warnClosingWindows({ now, warnMs: 5 * 60_000, limit: 100 })),
    );
    expect(results.flat().filter((id) => id === a.id)).toHaveLength(1);
    const events = (await store.events(a.id)).filter((e) => e.type === 'window-closing');
    expect(events).toHaveLength(1);
    expect(events[0]!.actor).toBe('system');
    const queued = (await deliveriesOf(a.id)).filter((d) => d.event === 'window_closing');
    expect(queued).toHaveLength(1);
    expect(queued[0]!.severity).toBe('critical');
    // The warning left the action's version alone, so a rollback request still goes through.
    expect((await store.getAction(a.id))!.version).toBe(a.version);
    await store.request(a.id, 'rollback', { actor: 'token:approver', now: new Date() });
    expect(await store.warnClosingWindows({ now, warnMs: 5 * 60_000, limit: 100 })).toEqual([]);
  });

  it('refuses bad rules and channel changes with a clear error, changing nothing', async () => {
    const channel = await webhook();
    const before = await store.listAlertRules();
    await expect(
      store.createAlertRule(
        { name: unique('rule'), events: ['approved'], minSeverity: 'low', channels: ['nope'] },
        at(),
      ),
    ).rejects.toMatchObject({ code: 'invalid_input', message: expect.stringContaining('"nope"') });
    expect(await store.listAlertRules()).toEqual(before);

    await expect(webhook(channel.name)).rejects.toMatchObject({ code: 'conflict' });

    const rule = await store.createAlertRule(
      { name: unique('rule'), events: ['approved'], minSeverity: 'low', channels: [channel.id] },
      at(),
    );
    await expect(
      store.createAlertRule(
        { name: rule.name, events: ['failed'], minSeverity: 'low', channels: [channel.id] },
        at(),
      ),
    ).rejects.toMatchObject({ code: 'conflict' });
    await expect(store.removeAlertChannel(channel.id, at())).rejects.toMatchObject({
      code: 'conflict',
      message: expect.stringContaining(rule.name),
    });
    expect((await store.listAlertChannels()).some((c) => c.id === channel.id)).toBe(true);
    await expect(store.removeAlertRule('missing', at())).rejects.toMatchObject({
      code: 'not_found',
    });
    await expect(store.removeAlertChannel('missing', at())).rejects.toMatchObject({
      code: 'not_found',
    });

    // Removing the rule, then the channel, cancels what was queued for it.
    const a = await approve(await create('high'));
    const queued = (await deliveriesOf(a.id)).find((d) => d.channel.id === channel.id);
    expect(queued?.status).toBe('pending');
    await store.removeAlertRule(rule.id, at());
    await store.removeAlertChannel(channel.id, at());
    expect((await store.getAlertDelivery(queued!.id))!.status).toBe('cancelled');
  });

  it('takes a channel by id or name everywhere, an id before a name that spells it', async () => {
    const first = await webhook();
    // A name may spell another channel's id; the id still names the channel that has it.
    const second = await webhook(first.id);
    const rule = await store.createAlertRule(
      {
        name: unique('rule'),
        events: ['approved'],
        minSeverity: 'low',
        channels: [first.id, second.name],
      },
      at(),
    );
    expect(rule.channels.map((c) => c.id)).toEqual([first.id]);
    expect((await store.alertChannelForSending(first.id)).id).toBe(first.id);
    expect((await store.alertChannelForSending(first.name)).id).toBe(first.id);
    expect((await store.retryAlertChannel(first.id, at())).channel.id).toBe(first.id);
    expect((await store.retryAlertChannel(second.id, at())).channel.id).toBe(second.id);
    const a = await approve(await create('high'));
    const queued = (await deliveriesOf(a.id)).find((d) => d.channel.id === first.id)!;
    expect(
      (await store.listAlertDeliveries({ channel: first.name, limit: 500 })).map((d) => d.id),
    ).toContain(queued.id);
    expect(await store.listAlertDeliveries({ channel: second.id, limit: 500 })).toEqual([]);
    for (const attempt of [
      () => store.alertChannelForSending('no-such-channel'),
      () => store.retryAlertChannel('no-such-channel', at()),
      () => store.listAlertDeliveries({ channel: 'no-such-channel' }),
      () => store.removeAlertChannel('no-such-channel', at()),
    ]) {
      await expect(attempt()).rejects.toMatchObject({
        code: 'not_found',
        message: expect.stringContaining('no alert channel "no-such-channel" (by id or name)'),
      });
    }
    await store.removeAlertRule(rule.id, at());
    expect((await store.removeAlertChannel(second.name, at())).id).toBe(first.id);
    expect((await store.removeAlertChannel(second.id, at())).id).toBe(second.id);
  });

  it('audits every configuration change without its secrets', async () => {
    const channel = await webhook();
    const rule = await store.createAlertRule(
      { name: unique('rule'), events: ['executed'], minSeverity: 'high', channels: [channel.id] },
      admin,
    );
    await store.removeAlertRule(rule.id, at());
    await store.removeAlertChannel(channel.id, at());
    const log = await store.auditLog({ type: ['alerts'], limit: 1000 });
    const mine = log.items.filter((e) => {
      const data = e.data as { channelId?: string; ruleId?: string } | null;
      return data?.channelId === channel.id || data?.ruleId === rule.id;
    });
    expect(mine.map((e) => e.comment)).toEqual(
      expect.arrayContaining([
        'alert channel added',
        'alert rule added',
        'alert rule removed',
        'alert channel removed',
      ]),
    );
    expect(JSON.stringify(mine)).not.toContain('secret-path');
    expect(JSON.stringify(mine)).not.toContain('k'.repeat(32));
  });
});
