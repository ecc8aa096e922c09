import { describe, expect, it } from 'vitest';
import { AppError } from '../src/domain/errors.ts';
import type { FindingReport } from '../src/domain/finding.ts';
import type { Store } from '../src/store/store.ts';
import { newAction } from './helpers/actions.ts';
import { ENGINES, storePerSuite } from './helpers/databases.ts';
import { bucketReport as report } from './helpers/findings.ts';

const ACTOR = { actor: 'token:ops', now: new Date('2026-03-01T10:00:00Z') };
const later = (minutes: number) => ({
  actor: 'token:ops',
  now: new Date(ACTOR.now.getTime() + minutes * 60_000),
});

let counter = 0;

async function rejects(promise: Promise<unknown>, code: string, message: RegExp) {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(AppError);
  expect((error as AppError).code).toBe(code);
  expect((error as AppError).message).toMatch(message);
}

describe.each(ENGINES)('finding store on %s', { timeout: 60_000 }, (engine) => {
  let store: Store;
  storePerSuite(engine, (opened) => {
    store = opened;
  });

  it('stores a failed report with every field, and re-reporting it updates the same row', async () => {
    const r = report();
    const first = await store.reportFindings([r], ACTOR);
    expect(first).toMatchObject({ opened: 1, updated: 0, resolved: 0 });
    const id = first.findingIds[0] as string;
    const stored = await store.getFinding(id);
    expect(stored).toMatchObject({
      kind: 'vulnerability',
      origin: 'prowler',
      key: r.key,
      checkId: 's3_bucket_default_encryption',
      standard: 'CIS-1.4',
      controlIds: ['CIS-1.4 2.1.1'],
      severity: 'high',
      status: 'open',
      resource: { id: r.resource.id, account: '111122223333', tags: { env: 'prod' } },
      evidence: { raw: true },
      remedy: { type: 's3.enable-default-encryption', params: {} },
      firstSeen: ACTOR.now.toISOString(),
      resolvedAt: null,
    });

    const again = await store.reportFindings([{ ...r, severity: 'critical' }], later(5));
    expect(again).toMatchObject({ opened: 0, updated: 1, findingIds: [id] });
    const updated = await store.getFinding(id);
    expect(updated?.severity).toBe('critical');
    expect(updated?.firstSeen).toBe(ACTOR.now.toISOString());
    expect(updated?.lastSeen).toBe(later(5).now.toISOString());
  });

  it('audits each opened, resolved and reopened finding as a finding event', async () => {
    const r = report({ kind: 'recommendation' });
    const { findingIds } = await store.reportFindings([r], ACTOR);
    await store.reportFindings([{ ...r, state: 'passed' }], later(1));
    await store.reportFindings([r], later(2));
    const history = await store.findingEvents(findingIds[0] as string);
    expect(history.map((e) => [e.type, e.actionId, e.data?.change])).toEqual([
      ['finding', null, 'opened'],
      ['finding', null, 'resolved'],
      ['finding', null, 'reopened'],
    ]);
    expect(history[0]?.data).toEqual({
      findingId: findingIds[0],
      kind: 'recommendation',
      severity: 'high',
      change: 'opened',
    });
    expect((await store.getFinding(findingIds[0] as string))?.status).toBe('open');
  });

  it('audits imported vulnerabilities with one event per batch and change', async () => {
    const reports = [report({ severity: 'low' }), report({ severity: 'critical' }), report()];
    const { findingIds } = await store.reportFindings(reports, ACTOR);
    const [event, ...rest] = await store.findingEvents(findingIds[1] as string);
    expect(rest).toEqual([]);
    expect(event?.data).toEqual({
      kind: 'vulnerability',
      change: 'opened',
      severity: 'critical',
      count: 3,
      findingIds,
    });
  });

  it('resolves a finding reported passed and rejects the pending action only it backed', async () => {
    const r = report();
    const action = newAction({ findingId: r.key });
    const { report: counts, actions } = await store.recordImport([r], [action], ACTOR);
    expect(counts.opened).toBe(1);
    const actionId = actions[0]?.action.id as string;
    expect((await store.getAction(actionId))?.status).toBe('pending_approval');
    expect((await store.findingActions(counts.findingIds[0] as string)).map((a) => a.id)).toEqual([
      actionId,
    ]);
    expect((await store.actionFindings(actionId)).map((f) => f.id)).toEqual(counts.findingIds);

    const passed = await store.reportFindings([{ ...r, state: 'passed' }], later(10));
    expect(passed).toMatchObject({ resolved: 1, opened: 0 });
    const finding = await store.getFinding(counts.findingIds[0] as string);
    expect(finding).toMatchObject({ status: 'resolved', resolvedAt: later(10).now.toISOString() });
    const closed = await store.getAction(actionId);
    expect(closed?.status).toBe('rejected');
    const events = await store.events(actionId);
    expect(events.at(-1)).toMatchObject({
      actor: 'system',
      to: 'rejected',
      comment: 'resolved: prowler reports the check passed',
    });
  });

  it('leaves an action open while another finding it backs still fails, or once approved', async () => {
    const bucket = `shared-${process.pid}-${counter++}`;
    const a = report({}, bucket);
    const b = report({ checkId: 'other' }, bucket);
    const first = newAction({ bucket, findingId: a.key });
    const second = newAction({ bucket, findingId: b.key });
    const { actions } = await store.recordImport([a, b], [first, second], ACTOR);
    const actionId = actions[0]?.action.id as string;
    expect(actions[1]?.action.id).toBe(actionId);
    await store.reportFindings([{ ...a, state: 'passed' }], later(1));
    expect((await store.getAction(actionId))?.status).toBe('pending_approval');

    const c = report();
    const approvedAction = (await store.recordImport([c], [newAction({ findingId: c.key })], ACTOR))
      .actions[0]?.action.id as string;
    await store.transition(approvedAction, 'approve', { actor: 'token:admin', now: later(1).now });
    await store.reportFindings([{ ...c, state: 'passed' }], later(2));
    expect((await store.getAction(approvedAction))?.status).toBe('approved');
  });

  it('keeps a dismissed finding dismissed when reported again, and reopens it on request', async () => {
    const r = report();
    const id = (await store.reportFindings([r], ACTOR)).findingIds[0] as string;
    const dismissed = await store.dismissFinding(id, { ...later(1), reason: 'accepted risk' });
    expect(dismissed).toMatchObject({
      status: 'dismissed',
      dismissedReason: 'accepted risk',
      dismissedBy: 'token:ops',
    });
    const again = await store.reportFindings([r], later(2));
    expect(again).toMatchObject({ dismissed: 1, opened: 0, updated: 0 });
    expect((await store.getFinding(id))?.status).toBe('dismissed');

    await rejects(
      store.dismissFinding(id, { ...later(3), reason: 'twice' }),
      'conflict',
      /is dismissed/,
    );
    const reopened = await store.reopenFinding(id, later(4));
    expect(reopened).toMatchObject({ status: 'open', dismissedReason: null });
    await rejects(store.reopenFinding(id, later(5)), 'conflict', /only a dismissed finding/);
  });

  it('refuses a dismissal without a reason and changes nothing', async () => {
    const id = (await store.reportFindings([report()], ACTOR)).findingIds[0] as string;
    await rejects(
      store.dismissFinding(id, { ...later(1), reason: '  ' }),
      'invalid_input',
      /reason/,
    );
    expect((await store.getFinding(id))?.status).toBe('open');
    await rejects(
      store.dismissFinding('no-such-id', { ...later(1), reason: 'x' }),
      'not_found',
      /no finding/,
    );
  });

  it('stores findings an exclusion matches as excluded, by resource, tag and account', async () => {
    const byResource = report();
    const byTag = report();
    const team = `sandbox-${counter}`;
    byTag.resource.tags = { team };
    const byAccount = report();
    byAccount.resource.account = `9${String(counter).padStart(11, '0')}`;
    await store.addExclusion(
      { scope: 'resource', value: byResource.resource.id, reason: 'test bucket' },
      ACTOR,
    );
    await store.addExclusion(
      { scope: 'tag', value: `team=${team}`, reason: 'sandbox team' },
      ACTOR,
    );
    const account = await store.addExclusion(
      { scope: 'account', value: byAccount.resource.account, reason: 'lab account' },
      ACTOR,
    );
    const result = await store.reportFindings([byResource, byTag, byAccount, report()], later(1));
    expect(result).toMatchObject({ excluded: 3, opened: 1 });
    const statuses = await Promise.all(
      result.findingIds.map(async (id) => (await store.getFinding(id))?.status),
    );
    expect(statuses).toEqual(['excluded', 'excluded', 'excluded', 'open']);

    const removed = await store.removeExclusion(account.exclusion.id, later(2));
    expect(removed.reopened).toBe(1);
    expect((await store.getFinding(result.findingIds[2] as string))?.status).toBe('open');
    expect((await store.listExclusions()).map((e) => e.id)).not.toContain(account.exclusion.id);
  });

  it('moves open findings an exclusion matches to excluded when it is added', async () => {
    const r = report();
    const id = (await store.reportFindings([r], ACTOR)).findingIds[0] as string;
    const added = await store.addExclusion(
      { scope: 'resource', value: r.resource.id, reason: 'decommissioned' },
      later(1),
    );
    expect(added.excluded).toBe(1);
    expect(await store.getFinding(id)).toMatchObject({
      status: 'excluded',
      exclusionId: added.exclusion.id,
    });
  });

  it('refuses bad exclusions and duplicates, changing nothing', async () => {
    const before = await store.listExclusions();
    await rejects(
      store.addExclusion({ scope: 'tag', value: 'noequals', reason: 'x' }, ACTOR),
      'invalid_input',
      /key=value/,
    );
    await rejects(
      store.addExclusion({ scope: 'planet' as never, value: 'x', reason: 'x' }, ACTOR),
      'invalid_input',
      /scope/,
    );
    await rejects(
      store.addExclusion({ scope: 'account', value: '111122223333', reason: '' }, ACTOR),
      'invalid_input',
      /reason/,
    );
    await rejects(
      store.addExclusion({ scope: 'account', value: '12', reason: 'x' }, ACTOR),
      'invalid_input',
      /12-digit AWS account id/,
    );
    await rejects(
      store.addExclusion({ scope: 'resource', value: '%%%not-an-arn', reason: 'x' }, ACTOR),
      'invalid_input',
      /an ARN/,
    );
    await store.addExclusion(
      { scope: 'resource', value: 'k8s://prod/payments/Deployment/api', reason: 'kube id' },
      ACTOR,
    );
    await store.addExclusion({ scope: 'account', value: 'dup-acct', reason: 'x' }, ACTOR);
    await rejects(
      store.addExclusion({ scope: 'account', value: 'dup-acct', reason: 'y' }, ACTOR),
      'conflict',
      /already exists/,
    );
    expect((await store.listExclusions()).length).toBe(before.length + 2);
    await rejects(store.removeExclusion('nope', ACTOR), 'not_found', /no exclusion/);
  });

  it('refuses a malformed report before writing any of the batch', async () => {
    const good = report();
    await rejects(
      store.reportFindings([good, { ...report(), severity: 'dire' as never }], ACTOR),
      'invalid_input',
      /finding report 2: severity/,
    );
    await rejects(
      store.reportFindings([{ ...report(), key: '' }], ACTOR),
      'invalid_input',
      /key must be a non-empty string/,
    );
    const { items } = await store.listFindings({ text: good.resource.name });
    expect(items).toHaveLength(0);
  });

  it('lists with filters and cursor pages, and counts', async () => {
    const account = `7${String(counter).padStart(11, '0')}`;
    const reports = Array.from({ length: 5 }, (_, i) => {
      const r = report({ severity: i % 2 ? 'low' : 'critical' });
      r.resource.account = account;
      return r;
    });
    reports.push({ ...report({ kind: 'recommendation' }), resource: { ...reports[0]!.resource } });
    await store.reportFindings(reports, ACTOR);
    const page1 = await store.listFindings({ account: [account], limit: 4 });
    expect(page1.items).toHaveLength(4);
    expect(page1.nextCursor).not.toBeNull();
    const page2 = await store.listFindings({
      account: [account],
      limit: 4,
      cursor: page1.nextCursor as string,
    });
    expect(page2.items).toHaveLength(2);
    expect(page2.nextCursor).toBeNull();
    const ids = new Set([...page1.items, ...page2.items].map((f) => f.id));
    expect(ids.size).toBe(6);

    const critical = await store.listFindings({
      account: [account],
      severity: ['critical'],
      kind: ['vulnerability'],
    });
    expect(critical.items).toHaveLength(3);
    const bySeverity = await store.listFindings({ account: [account], sort: 'severity', limit: 2 });
    const next = await store.listFindings({
      account: [account],
      sort: 'severity',
      limit: 2,
      cursor: bySeverity.nextCursor as string,
    });
    expect([...bySeverity.items, ...next.items].map((f) => f.severity)).toEqual([
      'critical',
      'critical',
      'critical',
      'high',
    ]);
    await rejects(
      store.listFindings({ sort: 'lastSeen', cursor: bySeverity.nextCursor as string }),
      'invalid_input',
      /sort/,
    );
    await rejects(store.listFindings({ cursor: 'forged.cursor' }), 'invalid_input', /cursor/);

    const counts = await store.countFindings({ account: [account] });
    expect(counts).toMatchObject({
      total: 6,
      byKind: { vulnerability: 5, recommendation: 1, drift: 0 },
      bySeverity: { critical: 3, low: 2 },
      byStatus: { open: 6 },
    });
  });
});
