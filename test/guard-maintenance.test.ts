import { describe, expect, it } from 'vitest';
import {
  type MaintenanceWindow,
  nextOpening,
  parseMaintenanceWindows,
  parseSchedule,
  waitingFor,
  windowIsOpen,
} from '../src/domain/maintenance.ts';
import { createCatalog } from '../src/catalog/index.ts';
import { createRemediationService } from '../src/service/remediation.ts';
import { newAction } from './helpers/actions.ts';
import { ENGINES, storePerSuite } from './helpers/databases.ts';
import type { Store } from '../src/store/store.ts';

const ACCOUNT = '111122223333';
const weekend: MaintenanceWindow = {
  name: 'weekend',
  account: ACCOUNT,
  schedule: 'sat,sun 02:00-06:00',
  timezone: 'UTC',
};
// 2026-03-07 is a Saturday.
const at = (text: string) => new Date(text);

describe('maintenance window logic', () => {
  it('reads schedules with day lists, ranges, every day and midnight crossings', () => {
    expect([...parseSchedule('mon-fri 22:00-05:00').days].sort()).toEqual([1, 2, 3, 4, 5]);
    expect([...parseSchedule('fri-mon 01:00-02:00').days].sort()).toEqual([0, 1, 5, 6]);
    expect(parseSchedule('* 00:00-24:00').days.size).toBe(7);
    expect(parseSchedule('SAT 02:30-04:00')).toMatchObject({ start: 150, end: 240 });
  });

  it('refuses malformed schedules naming the problem', () => {
    for (const [text, why] of [
      ['weekends', 'expected form'],
      ['sat 02:00-02:00', 'empty'],
      ['sat 25:00-26:00', 'past 24:00'],
      ['sat 02:00-24:30', 'past 24:00'],
      ['caturday 01:00-02:00', 'unknown day'],
      ['mon-tue-wed 01:00-02:00', 'unknown day'],
    ] as const) {
      expect(() => parseSchedule(text), text).toThrow(why);
    }
  });

  it('is open from the start minute to before the end, on the listed days only', () => {
    expect(windowIsOpen(weekend, at('2026-03-07T02:00:00Z'))).toBe(true);
    expect(windowIsOpen(weekend, at('2026-03-08T05:59:59Z'))).toBe(true);
    expect(windowIsOpen(weekend, at('2026-03-07T06:00:00Z'))).toBe(false);
    expect(windowIsOpen(weekend, at('2026-03-07T01:59:00Z'))).toBe(false);
    expect(windowIsOpen(weekend, at('2026-03-06T03:00:00Z'))).toBe(false);
  });

  it('crosses midnight into the day after a listed day', () => {
    const night = { ...weekend, schedule: 'fri 22:00-02:00' };
    expect(windowIsOpen(night, at('2026-03-06T23:00:00Z'))).toBe(true);
    expect(windowIsOpen(night, at('2026-03-07T01:30:00Z'))).toBe(true);
    expect(windowIsOpen(night, at('2026-03-07T02:00:00Z'))).toBe(false);
    expect(windowIsOpen(night, at('2026-03-05T23:00:00Z'))).toBe(false);
    expect(windowIsOpen(night, at('2026-03-06T01:00:00Z'))).toBe(false);
  });

  it('reads the schedule in its time zone, daylight saving included', () => {
    const berlin = { ...weekend, schedule: 'mon 09:00-10:00', timezone: 'Europe/Berlin' };
    // Winter: UTC+1. 2026-03-02 is a Monday.
    expect(windowIsOpen(berlin, at('2026-03-02T08:30:00Z'))).toBe(true);
    expect(windowIsOpen(berlin, at('2026-03-02T09:30:00Z'))).toBe(false);
    // Summer: UTC+2. 2026-06-01 is a Monday.
    expect(windowIsOpen(berlin, at('2026-06-01T07:30:00Z'))).toBe(true);
    expect(windowIsOpen(berlin, at('2026-06-01T08:30:00Z'))).toBe(false);
  });

  it('finds the next opening', () => {
    expect(nextOpening(weekend, at('2026-03-05T12:00:00Z'))!.toISOString()).toBe(
      '2026-03-07T02:00:00.000Z',
    );
    expect(nextOpening(weekend, at('2026-03-07T03:00:00Z'))!.toISOString()).toBe(
      '2026-03-07T03:00:00.000Z',
    );
  });

  it('governs by account, by tag, or both, and explains a wait', () => {
    const prod = { name: 'prod', tag: 'env=prod', schedule: 'sun 01:00-02:00', timezone: 'UTC' };
    const windows = [weekend, prod];
    const friday = at('2026-03-06T12:00:00Z');
    expect(waitingFor(windows, { account: '999999999999', tags: {} }, friday)).toBeNull();
    const held = waitingFor(windows, { account: ACCOUNT, tags: { env: 'prod' } }, friday)!;
    expect(held.windows).toEqual(['weekend', 'prod']);
    expect(held.until).toBe('2026-03-08T01:00:00.000Z');
    expect(held.message).toContain('waiting for maintenance window "weekend"');
    const saturday = at('2026-03-07T03:00:00Z');
    expect(waitingFor(windows, { account: ACCOUNT, tags: {} }, saturday)).toBeNull();
    expect(
      waitingFor(windows, { account: ACCOUNT, tags: { env: 'prod' } }, saturday)!.windows,
    ).toEqual(['prod']);
  });

  it('checks a list of windows as a setting, refusing a bad one with the whole list', () => {
    expect(parseMaintenanceWindows([weekend])).toEqual([weekend]);
    expect(parseMaintenanceWindows([])).toEqual([]);
    for (const [value, why] of [
      [{}, 'must be a list'],
      [[{ ...weekend, colour: 'red' }], 'unknown field "colour"'],
      [[{ ...weekend, timezone: 'Mars/Olympus' }], 'unknown time zone'],
      [[{ name: 'x', schedule: 'sat 01:00-02:00', timezone: 'UTC' }], 'neither'],
      [[weekend, weekend], 'two maintenance windows are named "weekend"'],
      [[{ ...weekend, schedule: 'sometimes' }], 'schedule'],
      [[{ ...weekend, tag: 'novalue' }], 'key=value'],
      [[{ ...weekend, name: 7 }], 'name must be a non-empty string'],
      [Array.from({ length: 51 }, (_, i) => ({ ...weekend, name: `w${i}` })), 'at most 50'],
    ] as const) {
      expect(() => parseMaintenanceWindows(value), why).toThrow(why);
    }
  });
});

describe.each(ENGINES)('maintenance windows holding executions on %s', (engine) => {
  let store: Store;
  storePerSuite(engine, (s) => {
    store = s;
  });

  const queued = async (now: Date) => {
    const { action } = await store.createAction(newAction(), {
      actor: 'token:creator',
      now,
      requireApproval: true,
    });
    await store.transition(action.id, 'approve', { actor: 'token:approver', now });
    await store.request(action.id, 'execute', { actor: 'token:approver', now });
    return action.id;
  };

  it('keeps executions queued outside the window, says why, and lets them run inside', async () => {
    await store.updateSettings({ maintenanceWindows: [weekend] }, { actor: 'a', now: new Date() });
    const friday = at('2026-03-06T12:00:00Z');
    const id = await queued(friday);
    expect(await store.claim('engine-1', { now: friday, leaseMs: 60_000, limit: 10 })).toEqual([]);
    expect((await store.getAction(id))!.requestedOp).toBe('execute');

    const service = createRemediationService({
      store,
      catalog: createCatalog(),
      clock: () => friday,
    });
    const shown = await service.get(id);
    expect(shown.waiting).toMatchObject({
      windows: ['weekend'],
      until: '2026-03-07T02:00:00.000Z',
    });

    const saturday = at('2026-03-07T03:00:00Z');
    const claimed = await store.claim('engine-1', { now: saturday, leaseMs: 60_000, limit: 10 });
    expect(claimed.map((a) => a.id)).toEqual([id]);
    expect(claimed[0]!.status).toBe('executing');
    await store.updateSettings({ maintenanceWindows: [] }, { actor: 'a', now: new Date() });
  });

  it('does not hold other accounts, nor let held work crowd them out', async () => {
    await store.updateSettings({ maintenanceWindows: [weekend] }, { actor: 'a', now: new Date() });
    const friday = at('2026-03-06T12:00:00Z');
    for (let i = 0; i < 3; i++) await queued(friday);
    const other = newAction();
    other.resource = { ...other.resource, account: '999999999999' };
    const { action } = await store.createAction(other, {
      actor: 'token:creator',
      now: friday,
      requireApproval: true,
    });
    await store.transition(action.id, 'approve', { actor: 'token:approver', now: friday });
    await store.request(action.id, 'execute', { actor: 'token:approver', now: friday });
    const claimed = await store.claim('engine-1', { now: friday, leaseMs: 60_000, limit: 1 });
    expect(claimed.map((a) => a.id)).toEqual([action.id]);
    await store.updateSettings({ maintenanceWindows: [] }, { actor: 'a', now: new Date() });
  });

  it('refuses bad windows as a setting and keeps the old ones', async () => {
    await store.updateSettings({ maintenanceWindows: [weekend] }, { actor: 'a', now: new Date() });
    const service = createRemediationService({ store, catalog: createCatalog() });
    await expect(
      service.updateSettings({ maintenanceWindows: [{ ...weekend, timezone: 'Nowhere' }] }, 'a'),
    ).rejects.toMatchObject({ code: 'invalid_input' });
    expect((await store.getSettings()).maintenanceWindows).toEqual([weekend]);
    await store.updateSettings({ maintenanceWindows: [] }, { actor: 'a', now: new Date() });
  });
});
