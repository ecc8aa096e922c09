import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { sql } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createCatalog } from '../src/catalog/index.ts';
import { AppError } from '../src/domain/errors.ts';
import type { NormalizedFinding } from '../src/domain/finding.ts';
import { parseFindingsFile } from '../src/findings/import.ts';
import { type ImportDeps, importFindings } from '../src/service/import.ts';
import { migrate } from '../src/store/migrate.ts';
import type { Store } from '../src/store/store.ts';
import { startApi } from './helpers/api.ts';
import { createTestDatabase, ENGINES, kyselyFor, type TestDatabase } from './helpers/databases.ts';
import { corpusDir, expectCorpusPresent, repoRoot } from './helpers/findings.ts';

const DEMO = readFileSync(join(repoRoot, 'examples/demo/k8s.kubescape.json'), 'utf8');
const WEB = 'k8s://default/shop/Deployment/web';

/** The demo report after limits were set on shop/web: its C-0009 passed, nothing else. */
function webLimitsPassed(): string {
  const report = JSON.parse(DEMO);
  for (const result of report.results) {
    if (result.resourceID !== 'apps/v1/shop/Deployment/web') continue;
    for (const control of result.controls) {
      if (control.controlID === 'C-0009') control.status = { status: 'passed' };
    }
  }
  return JSON.stringify(report);
}

const KUBE_BENCH = JSON.stringify({
  Controls: [
    {
      id: '4',
      version: 'cis-1.8',
      node_type: 'node',
      text: 'Worker Node Security Configuration',
      tests: [
        {
          section: '4.2',
          results: [
            { test_number: '4.2.1', test_desc: 'anonymous auth off', status: 'FAIL' },
            { test_number: '4.2.2', test_desc: 'authorization mode', status: 'FAIL' },
          ],
        },
      ],
    },
  ],
  Totals: { total_pass: 0, total_fail: 2, total_warn: 0, total_info: 0 },
});

describe('Kubernetes finding keys name the kube context, for every reader', () => {
  const folders = ['kubescape', 'polaris', 'trivy-operator', 'kube-bench', 'kube-score'];

  it.each(folders)('%s: the same file for two contexts gives disjoint keys', (folder) => {
    expectCorpusPresent();
    const read = (file: string, kubeContext: string): NormalizedFinding[] | undefined => {
      try {
        return parseFindingsFile(readFileSync(join(corpusDir, folder, file), 'utf8'), {
          kubeContext,
        }).findings;
      } catch (error) {
        if (error instanceof AppError) return undefined;
        throw error;
      }
    };
    let compared = 0;
    for (const file of readdirSync(join(corpusDir, folder))) {
      const a = read(file, 'ctx-a');
      const b = read(file, 'ctx-b');
      if (!a?.length || !b) continue;
      const keysA = new Set(a.map((f) => f.source.findingId));
      expect(
        b.some((f) => keysA.has(f.source.findingId)),
        file,
      ).toBe(false);
      for (const f of a) expect(f.source.findingId).toContain('ctx-a/');
      compared += a.length;
    }
    expect(compared).toBeGreaterThan(0);
  });
});

describe.each(ENGINES)('Kubernetes findings per kube context on %s', (engine) => {
  let database: TestDatabase;
  let store: Store;
  beforeEach(async () => {
    database = await createTestDatabase(engine);
    store = await database.open();
  });
  afterEach(async () => {
    await store.close();
    await database.drop();
  });

  const deps = (kubeContext?: string): ImportDeps => ({
    store,
    catalog: createCatalog(),
    now: new Date('2026-05-01T08:00:00Z'),
    actor: 'token:ops',
    ...(kubeContext ? { kubeContext } : {}),
  });
  const change = { actor: 'token:admin', now: new Date('2026-05-01T09:00:00Z') };

  async function findingsOf(resourceId: string) {
    const page = await store.listFindings({ text: resourceId, limit: 500 });
    return page.items.filter((f) => f.resource.id === resourceId);
  }

  async function webLimits(context: string) {
    const found = await findingsOf(`k8s://${context}/shop/Deployment/web`);
    return found.find((f) => f.checkId === 'C-0009');
  }

  it("a report for another context neither updates nor resolves this context's findings", async () => {
    const first = await importFindings(DEMO, deps());
    expect(first.findings.opened).toBeGreaterThan(0);
    const before = (await webLimits('default'))!;
    expect(before.status).toBe('open');
    const actions = await store.findingActions(before.id);
    expect(actions.map((a) => a.type)).toContain('k8s.set-resource-limits');

    const passed = await importFindings(webLimitsPassed(), deps('prod-b'));
    expect(passed.findings.resolved).toBe(0);
    expect((await store.getFinding(before.id))!.status).toBe('open');
    const after = await store.findingActions(before.id);
    expect(after.map((a) => [a.id, a.status])).toEqual(actions.map((a) => [a.id, a.status]));
    expect(await webLimits('prod-b')).toBeUndefined();

    const other = await importFindings(DEMO, deps('other'));
    expect(other.findings).toMatchObject({ opened: first.findings.opened, updated: 0 });
    const again = await importFindings(DEMO, deps());
    expect(again.findings).toMatchObject({ opened: 0, updated: first.findings.opened });
  });

  it('excludes a Kubernetes object by the resource id its findings show', async () => {
    await importFindings(DEMO, deps());
    await importFindings(DEMO, deps('prod-b'));
    const open = (await findingsOf(WEB)).filter((f) => f.status === 'open');
    expect(open.length).toBeGreaterThan(0);

    const added = await store.addExclusion(
      { scope: 'resource', value: WEB, reason: 'load test target' },
      change,
    );
    expect(added.excluded).toBe(open.length);
    for (const f of await findingsOf(WEB)) {
      expect([f.status, f.exclusionId]).toEqual(['excluded', added.exclusion.id]);
    }
    const elsewhere = await findingsOf('k8s://prod-b/shop/Deployment/web');
    expect(elsewhere.map((f) => f.status)).toEqual(open.map(() => 'open'));

    const namespace = await store.addExclusion(
      { scope: 'resource', value: 'k8s://default//Namespace/shop', reason: 'sandbox namespace' },
      change,
    );
    expect(namespace.excluded).toBe(1);
  });

  it('refuses a Kubernetes path without its scheme, naming the id to use, and stores nothing', async () => {
    const error = await store
      .addExclusion(
        { scope: 'resource', value: 'default/shop/Deployment/web', reason: 'x' },
        change,
      )
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(error).toBeInstanceOf(AppError);
    expect((error as AppError).code).toBe('invalid_input');
    expect((error as AppError).message).toContain('k8s://default/shop/Deployment/web');
    expect((error as AppError).message).toContain(
      'did you mean "k8s://default/shop/Deployment/web"?',
    );
    expect(await store.listExclusions()).toEqual([]);
  });

  it('gives findings, links and actions stored with context-free keys the new keys', async () => {
    await importFindings(DEMO, deps());
    const bench = await importFindings(KUBE_BENCH, deps('prod-b'));
    expect(bench.findings.opened).toBe(2);
    const web = (await webLimits('default'))!;
    const actions = await store.findingActions(web.id);
    expect(actions.length).toBeGreaterThan(0);
    await store.close();

    const db = kyselyFor(database);
    let current: { origin: string; key: string; id: string }[];
    try {
      current = await db
        .selectFrom('findings')
        .select(['id', 'origin', 'key'])
        .where('origin', 'in', ['kubescape', 'kube-bench'])
        .orderBy('id')
        .execute();
      expect(current.length).toBeGreaterThan(2);
      // What the earlier code wrote: the key without the `<context>/` after the origin.
      const older = (key: string) => key.replace(/^([\w-]+):(default|prod-b)\//, '$1:');
      for (const row of current) {
        await db
          .updateTable('findings')
          .set({ key: older(row.key) })
          .where('id', '=', row.id)
          .execute();
      }
      const links = await db.selectFrom('action_findings').selectAll().execute();
      for (const link of links) {
        await db
          .updateTable('action_findings')
          .set({ finding_id: older(link.finding_id) })
          .where('action_id', '=', link.action_id)
          .where('finding_id', '=', link.finding_id)
          .execute();
      }
      const sources = await db.selectFrom('actions').select(['id', 'source_finding_id']).execute();
      for (const action of sources) {
        await db
          .updateTable('actions')
          .set({ source_finding_id: older(action.source_finding_id) })
          .where('id', '=', action.id)
          .execute();
      }
      expect(links.length).toBeGreaterThan(0);
      // A link whose finding is gone takes the context of its action.
      await db
        .insertInto('action_findings')
        .values({
          action_id: actions[0]!.id,
          origin: 'kubescape',
          finding_id: 'kubescape:apps/v1/shop/Deployment/gone:C-0009',
          linked_at: '2026-04-01T00:00:00.000Z',
        })
        .execute();
      const exclusion = (id: string, value: string) => ({
        id,
        scope: 'resource',
        value,
        reason: 'accepted before, matched nothing',
        created_by: 'token:admin',
        created_at: '2026-04-01T00:00:00.000Z',
      });
      await db
        .insertInto('finding_exclusions')
        .values([
          exclusion('00000000-0000-4000-8000-000000000001', 'default/shop/Deployment/api'),
          exclusion('00000000-0000-4000-8000-000000000002', 'default/batch/Pod/debug-shell'),
          exclusion('00000000-0000-4000-8000-000000000003', 'k8s://default/batch/Pod/debug-shell'),
          exclusion('00000000-0000-4000-8000-000000000004', 'arn:aws:s3:::kept-as-is'),
        ])
        .execute();
      const stale = await db.selectFrom('findings').select('key').execute();
      expect(stale.some((r) => r.key.startsWith('kubescape:apps/v1/'))).toBe(true);

      await sql`delete from schema_migrations where name = '016-kube-context-finding-keys'`.execute(
        db,
      );
      await migrate(db, engine);

      const migrated = await db
        .selectFrom('findings')
        .select(['id', 'origin', 'key'])
        .where('origin', 'in', ['kubescape', 'kube-bench'])
        .orderBy('id')
        .execute();
      expect(migrated).toEqual(current);
      const relinked = await db.selectFrom('action_findings').selectAll().execute();
      expect(relinked.map((l) => l.finding_id).sort()).toEqual(
        [
          ...links.map((l) => l.finding_id),
          'kubescape:default/apps/v1/shop/Deployment/gone:C-0009',
        ].sort(),
      );
      const resourced = await db
        .selectFrom('actions')
        .select(['id', 'source_finding_id'])
        .execute();
      expect(new Map(resourced.map((a) => [a.id, a.source_finding_id]))).toEqual(
        new Map(sources.map((a) => [a.id, a.source_finding_id])),
      );
      const values = await db
        .selectFrom('finding_exclusions')
        .select('value')
        .orderBy('value')
        .execute();
      expect(values.map((v) => v.value)).toEqual([
        'arn:aws:s3:::kept-as-is',
        'k8s://default/batch/Pod/debug-shell',
        'k8s://default/shop/Deployment/api',
      ]);
    } finally {
      await db.destroy();
    }

    store = await database.open();
    expect((await store.findingActions(web.id)).map((a) => a.id)).toEqual(actions.map((a) => a.id));
    const again = await importFindings(DEMO, deps());
    expect(again.findings.opened).toBe(0);
    const benchAgain = await importFindings(KUBE_BENCH, deps('prod-b'));
    expect(benchAgain.findings).toMatchObject({ opened: 0, updated: 2 });
    const api = await findingsOf('k8s://default/shop/Deployment/api');
    expect(api.map((f) => f.status)).toEqual(api.map(() => 'excluded'));
  });
});

describe('resource exclusions over the API', () => {
  it('takes the k8s:// id findings show and refuses the bare path with a real example', async () => {
    const api = await startApi();
    try {
      const bare = await api.call('POST', '/api/v1/exclusions', {
        body: { scope: 'resource', value: 'default/shop/Deployment/web', reason: 'x' },
      });
      expect(bare.status).toBe(400);
      expect(bare.body.error.message).toContain(
        'did you mean "k8s://default/shop/Deployment/web"?',
      );
      const added = await api.call('POST', '/api/v1/exclusions', {
        body: { scope: 'resource', value: WEB, reason: 'x' },
      });
      expect(added.status).toBe(201);
      expect(added.body.exclusion).toMatchObject({ scope: 'resource', value: WEB });
    } finally {
      await api.close();
    }
  });
});
