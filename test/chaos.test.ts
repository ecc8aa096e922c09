import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seededRandom } from '../src/sandbox/faults.ts';
import { type Sandbox, startSandbox } from '../src/sandbox/server.ts';
import type { Store } from '../src/store/store.ts';
import { createTestDatabase, type TestDatabase } from './helpers/databases.ts';
import { eventually, startReplica, type ReplicaProcess } from './helpers/replicas.ts';
import { actionFor, REGION } from './helpers/world.ts';
import { createCatalog } from '../src/catalog/index.ts';

/**
 * Three replicas as real processes on one PostgreSQL database and one sandbox cloud that
 * answers slowly, throttles and fails now and then, while replicas are killed with SIGKILL
 * and restarted at random. The seed fixes the faults' and the killer's choices; the
 * interleaving with the processes still varies, and the checks hold for any of them.
 */
const ACTIONS = Number(process.env.CHAOS_ACTIONS ?? 1000);
const SEED = Number(process.env.CHAOS_SEED ?? 20261204);
const TYPE = 's3.enable-default-encryption';
const REPLICAS = ['chaos-a', 'chaos-b', 'chaos-c'];
const TAKEN_OVER = 'the engine running this action stopped';
const phase = (name: string) => process.stdout.write(`chaos ${new Date().toISOString()} ${name}\n`);

describe('chaos: three replicas on postgres, killed and restarted at random', () => {
  let database: TestDatabase;
  let store: Store;
  let sandbox: Sandbox;
  let s3: S3Client;
  let sql: pg.Client;
  const replicas = new Map<string, ReplicaProcess>();

  beforeAll(async () => {
    database = await createTestDatabase('postgres');
    store = await database.open();
    sandbox = await startSandbox({ seed: 'empty', faultSeed: SEED });
    s3 = new S3Client({
      region: REGION,
      endpoint: sandbox.url,
      forcePathStyle: true,
      credentials: { accessKeyId: 'AKIASANDBOXCHAOS', secretAccessKey: 'sandbox-secret' },
    });
    sql = new pg.Client({ connectionString: database.url });
    await sql.connect();
  });
  afterAll(async () => {
    for (const replica of replicas.values()) await replica.kill();
    await sql?.end();
    s3?.destroy();
    await sandbox?.close();
    await store?.close();
    await database?.drop();
  });

  const count = async (where: string) =>
    Number((await sql.query(`SELECT count(*) AS n FROM actions WHERE ${where}`)).rows[0].n);

  const start = async (id: string) => {
    const replica = await startReplica({
      id,
      databaseUrl: database.url!,
      sandboxUrl: sandbox.url,
      env: {
        INFRAUDIT_ENGINE_CONCURRENCY: '8',
        INFRAUDIT_SHUTDOWN_GRACE_MS: '5000',
        // Restarts come quicker from Node's compile cache; it holds nothing of the product's.
        NODE_COMPILE_CACHE: path.join(tmpdir(), 'infraudit-chaos-compile-cache'),
      },
    });
    replicas.set(id, replica);
    return replica;
  };

  it(
    `settles ${ACTIONS} approved actions, applies each fix at most once and keeps the audit trail`,
    { timeout: 900_000 },
    async () => {
      const random = seededRandom(SEED);
      const catalog = createCatalog();
      const world = { catalog } as Parameters<typeof actionFor>[0];
      const names = Array.from({ length: ACTIONS }, (_, i) => `chaos-${i}`);
      for (let i = 0; i < names.length; i += 50) {
        await Promise.all(
          names.slice(i, i + 50).map((Bucket) => s3.send(new CreateBucketCommand({ Bucket }))),
        );
      }
      for (let i = 0; i < names.length; i += 250) {
        await store.createActions(
          names.slice(i, i + 250).map((name) => actionFor(world, TYPE, name)),
          { actor: 'token:creator', now: new Date(), requireApproval: true },
        );
      }

      phase('actions created');
      // The first start on an empty database creates its first credentials; the others join.
      await start(REPLICAS[0]!);
      await Promise.all(REPLICAS.slice(1).map(start));
      await eventually(
        async () => ((await count('planned_at IS NULL')) === 0 ? true : undefined),
        'every action to be planned',
        300_000,
      );

      phase('planned');
      sandbox.injectFault({
        service: '*',
        operation: '*',
        kind: 'latency',
        ms: 15,
        probability: 1,
      });
      sandbox.injectFault({ service: '*', operation: '*', kind: 'throttle', probability: 0.04 });
      sandbox.injectFault({ service: '*', operation: '*', kind: 'error', probability: 0.02 });
      const before = sandbox.mutations().length;

      const ids = (await sql.query('SELECT id FROM actions ORDER BY created_at')).rows.map(
        (r) => r.id as string,
      );
      // Approvals arrive in batches, as people work the queue, while the killer is at work.
      const approvals = (async () => {
        for (let i = 0; i < ids.length; i += 20) {
          await Promise.all(
            ids.slice(i, i + 20).map((id) =>
              store.transition(id, 'approve', {
                actor: 'token:approver',
                now: new Date(),
                thenRequest: 'execute',
              }),
            ),
          );
        }
        phase('approved');
      })();

      // The killer: while work remains, SIGKILL the replica holding the most running work
      // now and then (or one at random when none holds any) and start it again a moment
      // later, without waiting for it to come back before the next kill.
      let kills = 0;
      let open = ACTIONS;
      const restarts: Promise<unknown>[] = [];
      while (open > 0) {
        await new Promise((r) => setTimeout(r, 500 + random() * 1_500));
        open = await count("status NOT IN ('completed', 'failed') OR requested_op IS NOT NULL");
        const alive = REPLICAS.filter((id) => replicas.has(id));
        if (open === 0 || kills >= 12 || alive.length < 2) continue;
        const holding = await sql.query(
          "SELECT split_part(lease_owner, '/', 1) AS id, count(*) AS n FROM actions " +
            'WHERE lease_owner IS NOT NULL GROUP BY 1 ORDER BY 2 DESC',
        );
        const busiest = holding.rows.map((r) => r.id as string).find((id) => alive.includes(id));
        const id = busiest ?? alive[Math.floor(random() * alive.length)]!;
        const victim = replicas.get(id)!;
        replicas.delete(id);
        await victim.kill();
        kills += 1;
        phase(`killed ${id} with ${open} open`);
        const pause = 200 + random() * 800;
        restarts.push(new Promise((r) => setTimeout(r, pause)).then(() => start(id)));
      }
      await Promise.all(restarts);
      await approvals;
      await eventually(
        async () =>
          (await count("status NOT IN ('completed', 'failed') OR requested_op IS NOT NULL")) === 0
            ? true
            : undefined,
        'every action to settle',
        300_000,
      );
      sandbox.clearFaults();
      for (const replica of replicas.values()) expect(await replica.stop()).toBe(0);
      replicas.clear();

      // Every action ended completed or failed, and a failure says why.
      const rows = (
        await sql.query(
          'SELECT id, resource_name, status, result, error FROM actions ORDER BY created_at',
        )
      ).rows as {
        id: string;
        resource_name: string;
        status: string;
        result: string | null;
        error: string | null;
      }[];
      expect(rows).toHaveLength(ACTIONS);
      const failed = rows.filter((r) => r.status === 'failed');
      for (const row of rows) {
        expect(['completed', 'failed']).toContain(row.status);
        if (row.status === 'failed') {
          const error = JSON.parse(row.error!) as { code: string; message: string };
          expect(error.code).toBeTruthy();
          expect(error.message.length).toBeGreaterThan(10);
        }
      }

      // The sandbox saw each fix applied once at most, and once exactly where it completed.
      const applied = new Map<string, number>();
      for (const m of sandbox.mutations().slice(before)) {
        expect(m.operation).toBe('PutBucketEncryption');
        applied.set(m.resource, (applied.get(m.resource) ?? 0) + 1);
      }
      for (const row of rows) {
        const times = applied.get(row.resource_name) ?? 0;
        expect(times, `${row.resource_name} (${row.status})`).toBeLessThanOrEqual(1);
        if (row.status === 'completed') {
          const kind = (JSON.parse(row.result!) as { kind: string }).kind;
          expect(times, `${row.resource_name} completed as ${kind}`).toBe(
            kind === 'already_compliant' ? 0 : 1,
          );
        }
      }

      // Each action was started once, and its audit trail walks the lifecycle without a gap.
      const events = (
        await sql.query(
          'SELECT action_id, type, from_status, to_status, comment FROM events ' +
            'WHERE action_id IS NOT NULL ORDER BY id',
        )
      ).rows as {
        action_id: string;
        type: string;
        from_status: string;
        to_status: string;
        comment: string | null;
      }[];
      const trail = new Map<string, typeof events>();
      for (const event of events) {
        if (!trail.has(event.action_id)) trail.set(event.action_id, []);
        trail.get(event.action_id)!.push(event);
      }
      let takenOver = 0;
      for (const row of rows) {
        const steps = (trail.get(row.id) ?? []).filter((e) => e.to_status !== null);
        expect(steps.filter((e) => e.to_status === 'executing')).toHaveLength(1);
        for (let i = 1; i < steps.length; i += 1) {
          expect(steps[i]!.from_status, `${row.id} step ${i}`).toBe(steps[i - 1]!.to_status);
        }
        expect(steps.at(-1)!.to_status).toBe(row.status);
        takenOver += (trail.get(row.id) ?? []).filter((e) =>
          e.comment?.startsWith(TAKEN_OVER),
        ).length;
      }

      // The hash chain over every audit entry verifies end to end.
      const verdict = await store.verifyAudit();
      expect(verdict.problem).toBeNull();
      expect(verdict.ok).toBe(true);
      expect(verdict.entries).toBeGreaterThan(ACTIONS * 4);

      const reasons = new Map<string, number>();
      for (const row of failed) {
        const code = (JSON.parse(row.error!) as { code: string }).code;
        reasons.set(code, (reasons.get(code) ?? 0) + 1);
      }
      process.stdout.write(
        `chaos: ${ACTIONS} actions, ${kills} kills, ${takenOver} take-overs, ` +
          `${ACTIONS - failed.length} completed, ${failed.length} failed ` +
          `${JSON.stringify(Object.fromEntries(reasons))}\n`,
      );
      expect(kills).toBeGreaterThanOrEqual(3);
      expect(takenOver).toBeGreaterThan(0);
    },
  );
});
