import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApi, suggestion, type ApiHarness, type CallOptions } from './helpers/api.ts';
import { createTestDatabase, ENGINES, type TestDatabase } from './helpers/databases.ts';
import { newAction } from './helpers/actions.ts';

let bucketCount = 0;
const bucket = () => `guard-${process.pid}-${++bucketCount}`;

describe.each(ENGINES)('guard rails over the API on %s', (engine) => {
  let database: TestDatabase;
  let api: ApiHarness;
  let approver: { token: string };
  let now = new Date('2026-05-04T10:00:00Z');

  beforeAll(async () => {
    database = await createTestDatabase(engine);
    api = await startApi({ database, clock: () => now });
    approver = {
      token: (await api.store.createToken({ role: 'admin', name: 'approver', now })).token,
    };
  }, 60_000);
  afterAll(async () => {
    await api?.close();
    await database?.drop();
  });

  const head = async () => (await api.store.verifyAudit()).head.seq;
  const create = async (as: CallOptions['as'] = 'operator') => {
    const res = await api.call('POST', '/api/v1/actions', { as, body: suggestion(bucket()) });
    expect(res.status, res.text).toBeLessThan(300);
    return res.body.action.id as string;
  };

  describe('four-eyes', () => {
    it('refuses the creator approving their own action, and changes nothing', async () => {
      const id = await create('admin');
      const before = await head();
      const res = await api.call('POST', `/api/v1/actions/${id}/approve`);
      expect(res.status).toBe(403);
      expect(res.body.error).toMatchObject({
        code: 'forbidden',
        details: { rule: 'four_eyes', createdBy: 'token:admin-test' },
      });
      expect(res.body.error.message).toContain('may not approve it (four-eyes)');
      expect(res.body.error.message).toContain('allowSelfApproval');
      expect(await head()).toBe(before);
      expect((await api.store.getAction(id))!.status).toBe('pending_approval');

      const other = await api.call('POST', `/api/v1/actions/${id}/approve`, { as: approver });
      expect(other.status).toBe(200);
      expect(other.body.action).toMatchObject({ status: 'approved', approvedBy: 'token:approver' });
    });

    it('lets any admin approve what the system created', async () => {
      const { action } = await api.store.createAction(newAction(), {
        actor: 'system',
        now,
        requireApproval: true,
      });
      const res = await api.call('POST', `/api/v1/actions/${action.id}/approve`);
      expect(res.status).toBe(200);
    });

    it('is relaxed by allowSelfApproval, and the audit log says so each time', async () => {
      const relaxed = await api.call('PUT', '/api/v1/settings/remediation', {
        body: { allowSelfApproval: true },
      });
      expect(relaxed.status).toBe(200);
      expect(relaxed.body.allowSelfApproval).toBe(true);
      const [setting] = (await api.store.auditLog({ type: ['settings'], limit: 1 })).items;
      expect(setting!.data).toMatchObject({ fourEyes: 'relaxed' });

      const id = await create('admin');
      const res = await api.call('POST', `/api/v1/actions/${id}/approve`);
      expect(res.status).toBe(200);
      const events = (await api.store.auditLog({ actionId: id, type: ['transition'] })).items;
      expect(events.find((e) => e.to === 'approved')!.data).toMatchObject({ selfApproval: true });

      const enforced = await api.call('PUT', '/api/v1/settings/remediation', {
        body: { allowSelfApproval: false },
      });
      expect(enforced.status).toBe(200);
      const [back] = (await api.store.auditLog({ type: ['settings'], limit: 1 })).items;
      expect(back!.data).toMatchObject({ fourEyes: 'enforced' });
      const again = await create('admin');
      expect((await api.call('POST', `/api/v1/actions/${again}/approve`)).status).toBe(403);
    });

    it('refuses a non-boolean allowSelfApproval and keeps the setting', async () => {
      const res = await api.call('PUT', '/api/v1/settings/remediation', {
        body: { allowSelfApproval: 'yes' },
      });
      expect(res.status).toBe(400);
      expect((await api.store.getSettings()).allowSelfApproval).toBe(false);
    });
  });

  describe('idempotency keys', () => {
    it('replays the first answer to a retry, acting once', async () => {
      const body = suggestion(bucket());
      const headers = { 'idempotency-key': `create-${engine}` };
      const first = await api.call('POST', '/api/v1/actions', { as: 'operator', body, headers });
      expect(first.status).toBeLessThan(300);
      const after = await head();
      const retry = await api.call('POST', '/api/v1/actions', { as: 'operator', body, headers });
      expect(retry.status).toBe(first.status);
      expect(retry.body).toEqual(first.body);
      expect(retry.headers.get('idempotent-replayed')).toBe('true');
      expect(first.headers.get('idempotent-replayed')).toBeNull();
      expect(await head()).toBe(after);
    });

    it('replays an approval instead of answering the retry with a conflict', async () => {
      const id = await create();
      const headers = { 'idempotency-key': `approve-${engine}` };
      const first = await api.call('POST', `/api/v1/actions/${id}/approve`, { headers });
      expect(first.status).toBe(200);
      const retry = await api.call('POST', `/api/v1/actions/${id}/approve`, { headers });
      expect(retry.status).toBe(200);
      expect(retry.body).toEqual(first.body);
      const approvals = (await api.store.auditLog({ actionId: id })).items.filter(
        (e) => e.to === 'approved',
      );
      expect(approvals).toHaveLength(1);
      // Without a key the retry is a second request, which the lifecycle refuses.
      expect((await api.call('POST', `/api/v1/actions/${id}/approve`)).status).toBe(409);
    });

    it('refuses the same key with another body or route with 422, writing nothing', async () => {
      const headers = { 'idempotency-key': `reuse-${engine}` };
      const first = await api.call('POST', '/api/v1/actions', {
        as: 'operator',
        body: suggestion(bucket()),
        headers,
      });
      expect(first.status).toBeLessThan(300);
      const before = await head();
      const other = await api.call('POST', '/api/v1/actions', {
        as: 'operator',
        body: suggestion(bucket()),
        headers,
      });
      expect(other.status).toBe(422);
      expect(other.body.error.code).toBe('idempotency_mismatch');
      const elsewhere = await api.call('POST', `/api/v1/actions/${first.body.action.id}/comments`, {
        as: 'operator',
        body: { text: 'hello' },
        headers,
      });
      expect(elsewhere.status).toBe(422);
      expect(elsewhere.body.error.message).toContain('POST /api/v1/actions');
      expect(await head()).toBe(before);
    });

    it('keeps keys per principal', async () => {
      const headers = { 'idempotency-key': `shared-${engine}` };
      const id = await create();
      const one = await api.call('POST', `/api/v1/actions/${id}/comments`, {
        as: 'operator',
        body: { text: 'from the operator' },
        headers,
      });
      const two = await api.call('POST', `/api/v1/actions/${id}/comments`, {
        body: { text: 'from the admin' },
        headers,
      });
      expect([one.status, two.status]).toEqual([201, 201]);
      expect(two.body.event.actor).toBe('token:admin-test');
    });

    it('refuses a malformed key', async () => {
      for (const key of ['x'.repeat(201), 'has space']) {
        const res = await api.call('POST', '/api/v1/actions', {
          as: 'operator',
          body: suggestion(bucket()),
          headers: { 'idempotency-key': key },
        });
        expect(res.status).toBe(400);
        expect(res.body.error.message).toContain('Idempotency-Key');
      }
    });

    it('forgets a key after 24 hours', async () => {
      const headers = { 'idempotency-key': `expiring-${engine}` };
      const id = await create();
      const first = await api.call('POST', `/api/v1/actions/${id}/comments`, {
        as: 'operator',
        body: { text: 'one' },
        headers,
      });
      expect(first.status).toBe(201);
      const saved = now;
      now = new Date(now.getTime() + 24 * 3_600_000 + 1000);
      try {
        const later = await api.call('POST', `/api/v1/actions/${id}/comments`, {
          as: 'operator',
          body: { text: 'two' },
          headers,
        });
        expect(later.status).toBe(201);
        expect(later.headers.get('idempotent-replayed')).toBeNull();
      } finally {
        now = saved;
      }
    });

    it('says a first request is still being answered, and lets a retry run after a server error', async () => {
      const claim = {
        principal: 'token:x',
        key: `k-${engine}`,
        route: 'POST /x',
        bodyHash: 'h',
        now,
        ttlMs: 60_000,
        staleMs: 30_000,
      };
      expect(await api.store.claimIdempotencyKey(claim)).toEqual({ state: 'new' });
      expect(await api.store.claimIdempotencyKey(claim)).toEqual({ state: 'in_progress' });
      await api.store.settleIdempotencyKey(claim.principal, claim.key, null);
      expect(await api.store.claimIdempotencyKey(claim)).toEqual({ state: 'new' });
      const later = { ...claim, now: new Date(now.getTime() + 31_000) };
      expect(await api.store.claimIdempotencyKey(later)).toEqual({ state: 'new' });
    });
  });

  describe('bulk approve and reject', () => {
    it('gives each id its own audited result', async () => {
      const mine = await create('admin');
      const ids = [await create(), await create(), mine, 'no-such-action'];
      const res = await api.call('POST', '/api/v1/actions/bulk', {
        body: { op: 'approve', ids, comment: 'CHG-7' },
      });
      expect(res.status).toBe(200);
      expect(res.body.counts).toEqual({ ok: 2, refused: 2 });
      expect(res.body.results.map((r: { ok: boolean }) => r.ok)).toEqual([
        true,
        true,
        false,
        false,
      ]);
      expect(res.body.results[2].error.code).toBe('forbidden');
      expect(res.body.results[3].error.code).toBe('not_found');
      for (const id of ids.slice(0, 2)) {
        const approvals = (await api.store.auditLog({ actionId: id })).items.filter(
          (e) => e.to === 'approved',
        );
        expect(approvals).toHaveLength(1);
        expect(approvals[0]!.comment).toBe('CHG-7');
      }

      const rejected = await api.call('POST', '/api/v1/actions/bulk', {
        as: approver,
        body: { op: 'reject', ids: [mine], comment: 'not needed' },
      });
      expect(rejected.body.results[0]).toMatchObject({ ok: true, status: 'rejected' });
    });

    it('refuses the whole request past the limit, twice-named ids, or a reject without a comment', async () => {
      expect(
        (await api.call('PUT', '/api/v1/settings/remediation', { body: { maxBulkActions: 2 } }))
          .status,
      ).toBe(200);
      const ids = [await create(), await create(), await create()];
      const before = await head();
      const over = await api.call('POST', '/api/v1/actions/bulk', { body: { op: 'approve', ids } });
      expect(over.status).toBe(400);
      expect(over.body.error.message).toContain('at most 2 actions');
      const twice = await api.call('POST', '/api/v1/actions/bulk', {
        body: { op: 'approve', ids: [ids[0], ids[0]] },
      });
      expect(twice.status).toBe(400);
      const noComment = await api.call('POST', '/api/v1/actions/bulk', {
        body: { op: 'reject', ids: [ids[0]] },
      });
      expect(noComment.status).toBe(400);
      for (const body of [
        { op: 'execute', ids: [ids[0]] },
        { op: 'approve', ids: [] },
        { op: 'approve', ids: [ids[0]], extra: 1 },
        { op: 'approve', ids: 'all' },
      ]) {
        expect((await api.call('POST', '/api/v1/actions/bulk', { body })).status).toBe(400);
      }
      const viewer = await api.call('POST', '/api/v1/actions/bulk', {
        as: 'operator',
        body: { op: 'approve', ids: [ids[0]] },
      });
      expect(viewer.status).toBe(403);
      expect(await head()).toBe(before);
      for (const id of ids)
        expect((await api.store.getAction(id))!.status).toBe('pending_approval');
      await api.call('PUT', '/api/v1/settings/remediation', { body: { maxBulkActions: 50 } });
    });
  });

  describe('audit log routes', () => {
    it('lists, filters and pages the log', async () => {
      const id = await create();
      await api.call('POST', `/api/v1/actions/${id}/comments`, { body: { text: 'audit me' } });
      const byAction = await api.call('GET', `/api/v1/audit?actionId=${id}`, { as: 'viewer' });
      expect(byAction.status).toBe(200);
      const types = byAction.body.items.map((e: { type: string }) => e.type);
      expect(types[0]).toBe('comment');
      expect(types).toContain('transition');
      expect(byAction.body.items.every((e: { actionId: string }) => e.actionId === id)).toBe(true);
      const comments = await api.call('GET', `/api/v1/audit?type=comment&actor=token:admin-test`);
      expect(comments.body.items.every((e: { type: string }) => e.type === 'comment')).toBe(true);
      const first = await api.call('GET', '/api/v1/audit?limit=2&order=asc');
      expect(first.body.items.map((e: { seq: number }) => e.seq)).toEqual([1, 2]);
      const second = await api.call(
        'GET',
        `/api/v1/audit?limit=2&order=asc&cursor=${first.body.nextCursor}`,
      );
      expect(second.body.items.map((e: { seq: number }) => e.seq)).toEqual([3, 4]);
      for (const query of ['limit=0', 'since=yesterday', 'colour=red', 'cursor=x', 'order=up']) {
        const bad = await api.call('GET', `/api/v1/audit?${query}`);
        expect(bad.status, query).toBe(400);
      }
    });

    it('verifies the chain', async () => {
      const res = await api.call('GET', '/api/v1/audit/verify', { as: 'viewer' });
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ ok: true, problem: null });
      expect(res.body.entries).toBe(res.body.head.seq);
    });

    it('exports every entry as JSON lines, oldest first, to admins only', async () => {
      const res = await api.call('GET', '/api/v1/audit/export');
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toContain('application/x-ndjson');
      const lines = res.text
        .trimEnd()
        .split('\n')
        .map((l) => JSON.parse(l));
      const { head } = await api.store.verifyAudit();
      expect(lines).toHaveLength(head.seq);
      expect(lines.map((l) => l.seq)).toEqual(lines.map((_, i) => i + 1));
      expect(lines.at(-1).hash).toBe(head.hash);
      const since = await api.call('GET', `/api/v1/audit/export?since=${lines.at(-1).at}`);
      const recent = since.text
        .trimEnd()
        .split('\n')
        .map((l) => JSON.parse(l));
      expect(recent.every((e) => e.at >= lines.at(-1).at)).toBe(true);
      expect(recent.at(-1).seq).toBe(head.seq);
      const future = await api.call('GET', '/api/v1/audit/export?since=2100-01-01T00:00:00Z');
      expect(future.status).toBe(200);
      expect(future.text).toBe('');
      expect((await api.call('GET', '/api/v1/audit/export', { as: 'viewer' })).status).toBe(403);
      expect((await api.call('GET', '/api/v1/audit/export?since=never')).status).toBe(400);
    });
  });
});
