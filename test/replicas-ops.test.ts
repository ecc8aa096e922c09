import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Action } from '../src/domain/action.ts';
import type { Store } from '../src/store/store.ts';
import { actionWhen } from './helpers/actions.ts';
import { createTestDatabase, ENGINES, type TestDatabase } from './helpers/databases.ts';
import { eventually, startReplica, type ReplicaProcess } from './helpers/replicas.ts';
import { startCommand } from './helpers/serve.ts';
import { actionFor, createBucket, startWorld, type World } from './helpers/world.ts';

const TYPE = 's3.enable-default-encryption';

describe('a replica in operation (serve on postgres)', () => {
  let database: TestDatabase;
  let store: Store;
  let world: World;
  const started: ReplicaProcess[] = [];
  let n = 0;

  beforeAll(async () => {
    database = await createTestDatabase('postgres');
    store = await database.open();
    world = await startWorld();
  });
  afterAll(async () => {
    for (const replica of started) await replica.kill();
    await world.close();
    await store.close();
    await database.drop();
  });

  async function replica(id: string, env: Record<string, string> = {}) {
    const running = await startReplica({
      id,
      databaseUrl: database.url!,
      sandboxUrl: world.sandbox.url,
      env,
    });
    started.push(running);
    return running;
  }

  /** An action on a new bucket, planned by the running replica and then approved to run. */
  async function approvedToRun(): Promise<{ action: Action; bucket: string }> {
    const bucket = `ops-bucket-${++n}`;
    await createBucket(world, bucket);
    const [created] = await store.createActions([actionFor(world, TYPE, bucket)], {
      actor: 'token:creator',
      now: new Date(),
      requireApproval: true,
    });
    const action = created!.action;
    await actionWhen(store, action.id, (a) => Boolean(a.plannedAt), { ms: 20_000 });
    await store.transition(action.id, 'approve', {
      actor: 'token:approver',
      now: new Date(),
      thenRequest: 'execute',
    });
    return { action, bucket };
  }

  const get = async (replicaUrl: string, path: string) => {
    const response = await fetch(`${replicaUrl}${path}`);
    return { status: response.status, text: await response.text() };
  };

  it(
    'answers the probes and serves Prometheus metrics without a token',
    { timeout: 60_000 },
    async () => {
      const one = await replica('ops-1', { INFRAUDIT_LOG_LEVEL: 'info' });
      const live = await get(one.url, '/health/live');
      expect(live.status).toBe(200);
      expect(JSON.parse(live.text)).toEqual({ status: 'ok', replica: 'ops-1' });
      const ready = await get(one.url, '/health/ready');
      expect(ready.status).toBe(200);

      const { action, bucket } = await approvedToRun();
      const done = await actionWhen(store, action.id, (a) => a.status === 'completed', {
        ms: 20_000,
      });
      expect(done.result?.kind).toBe('applied');

      const metrics = await get(one.url, '/metrics');
      expect(metrics.status).toBe(200);
      const text = metrics.text;
      expect(text).toContain('infraudit_replica_info{replica="ops-1"} 1');
      expect(text).toMatch(
        new RegExp(`infraudit_actions\\{status="completed",type="${TYPE}"\\} 1`),
      );
      expect(text).toMatch(/infraudit_queue_depth\{request="execute"\} 0/);
      expect(text).toMatch(
        new RegExp(
          `infraudit_execution_duration_seconds_count\\{type="${TYPE}",status="completed"\\} 1`,
        ),
      );
      expect(text).toContain('infraudit_cloud_concurrency_limit 8');
      expect(text).toContain('infraudit_live_replicas 1');
      expect(text).toContain('infraudit_lease_expiries_total 0');
      expect(text).toContain('# TYPE infraudit_alert_delivery_failures_total counter');

      // Every log line of the run names the replica; those about the action carry its id and attempt.
      const lines = one.process
        .stderr()
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as Record<string, unknown>);
      const settledLine = lines.find((l) => l.msg === 'action settled' && l.actionId === action.id);
      expect(settledLine).toMatchObject({ replica: 'ops-1', attempt: 1, status: 'completed' });
      expect(lines.every((l) => l.replica === 'ops-1')).toBe(true);
      expect(bucket).toBeTruthy();
      expect(await one.stop()).toBe(0);
    },
  );

  it(
    'is not ready while a migration this code knows has not run',
    { timeout: 60_000 },
    async () => {
      const two = await replica('ops-2');
      const client = new pg.Client({ connectionString: database.url });
      await client.connect();
      // Put back as it was: the migrator checks that applied migrations keep their order.
      const { rows } = await client.query<{ timestamp: string }>(
        "SELECT timestamp FROM schema_migrations WHERE name = '010-replicas'",
      );
      try {
        await client.query("DELETE FROM schema_migrations WHERE name = '010-replicas'");
        const ready = await get(two.url, '/health/ready');
        expect(ready.status).toBe(503);
        expect(JSON.parse(ready.text)).toMatchObject({
          status: 'unavailable',
          reason: 'migrations not applied: 010-replicas',
        });
        expect((await get(two.url, '/health/live')).status).toBe(200);
      } finally {
        await client.query(
          "INSERT INTO schema_migrations (name, timestamp) VALUES ('010-replicas', $1)",
          [rows[0]!.timestamp],
        );
        await client.end();
      }
      expect((await get(two.url, '/health/ready')).status).toBe(200);
      expect(await two.stop()).toBe(0);
    },
  );

  it(
    'on SIGTERM stops being ready, hands unfinished work back and exits',
    { timeout: 60_000 },
    async () => {
      const leaving = await replica('ops-leaving', {
        INFRAUDIT_SHUTDOWN_GRACE_MS: '1500',
        INFRAUDIT_ENGINE_LEASE_MS: '60000',
      });
      const { action, bucket } = await approvedToRun();
      world.sandbox.injectFault({
        service: 's3',
        operation: 'GetBucketEncryption',
        kind: 'latency',
        ms: 8_000,
        count: 1,
      });
      // Nothing else reads or claims this action until the replica holds it.
      await actionWhen(store, action.id, (a) => a.status === 'executing', { ms: 20_000 });
      leaving.process.child.kill('SIGTERM');
      // During the grace period the API still answers, but not as ready.
      const during = await eventually(async () => {
        const r = await get(leaving.url, '/health/ready').catch(() => undefined);
        return r && r.status === 503 ? r : undefined;
      }, 'readiness to turn unavailable');
      expect(JSON.parse(during.text).reason).toBe('the server is shutting down');
      expect(await leaving.exited).toBe(0);
      expect(leaving.process.stderr()).toMatch(/handed it back/);
      // Without the hand-back the lease would hold for a minute; it is free now.
      expect((await store.stranded(new Date())).map((a) => a.id)).toContain(action.id);

      await replica('ops-heir');
      const settled = await actionWhen(store, action.id, (a) => a.status === 'failed', {
        ms: 20_000,
      });
      expect(settled.error?.code).toBe('interrupted');
      const puts = world.sandbox
        .mutations()
        .filter((m) => m.resource === bucket && m.operation === 'PutBucketEncryption');
      expect(puts).toHaveLength(0);
    },
  );
});

/** The JSON lines a child process logged. */
const logLines = (stderr: string) =>
  stderr
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as { level: number; msg: string; reason?: string });

describe.each(ENGINES)('SIGTERM with a slow cloud call in flight (serve on %s)', (engine) => {
  let database: TestDatabase;
  let world: World;

  beforeAll(async () => {
    database = await createTestDatabase(engine);
    world = await startWorld();
  });
  afterAll(async () => {
    world.sandbox.clearFaults();
    await world.close();
    await database.drop();
  });

  it(
    'aborts the call, writes nothing after the hand-back and exits within the grace period',
    { timeout: 50_000 },
    async () => {
      const bucket = `slow-bucket-${engine}`;
      await createBucket(world, bucket);
      // Queued before the server starts: on SQLite the file serves one process at a time.
      let store = await database.open();
      const [created] = await store.createActions([actionFor(world, TYPE, bucket)], {
        actor: 'token:creator',
        now: new Date(),
        requireApproval: true,
      });
      const id = created!.action.id;
      await store.transition(id, 'approve', {
        actor: 'token:approver',
        now: new Date(),
        thenRequest: 'execute',
      });
      await store.close();

      // Far longer than the grace period and than this test may take.
      world.sandbox.injectFault({
        service: 's3',
        operation: 'GetBucketEncryption',
        kind: 'latency',
        ms: 60_000,
        count: 1,
      });
      const child = await startCommand(
        ['serve', '--port', '0', ...(database.url ? ['--database', database.url] : [])],
        'api',
        {
          INFRAUDIT_DATA: database.dataDir,
          INFRAUDIT_LOG_LEVEL: 'info',
          INFRAUDIT_REPLICA_ID: `slow-${engine}`,
          INFRAUDIT_SHUTDOWN_GRACE_MS: '1500',
          INFRAUDIT_ENGINE_LEASE_MS: '60000',
          INFRAUDIT_ENGINE_POLL_MS: '100',
          AWS_ENDPOINT_URL: world.sandbox.url,
          AWS_REGION: 'us-east-1',
          AWS_ACCESS_KEY_ID: 'AKIASANDBOXREPLICA',
          AWS_SECRET_ACCESS_KEY: 'sandbox-secret',
        },
      );
      const exited = new Promise<number | null>((resolve) => {
        if (child.child.exitCode !== null) resolve(child.child.exitCode);
        else child.child.once('exit', (code) => resolve(code));
      });
      // The fault is spent once the slow read has reached the sandbox.
      await eventually(
        async () => (world.sandbox.faults().length === 0 ? true : undefined),
        'the slow read to be in flight',
      );
      child.child.kill('SIGTERM');
      // Probed several times while stopping, as an orchestrator does.
      let unready = 0;
      await eventually(async () => {
        const r = await fetch(`${child.endpoints.api}/health/ready`).catch(() => undefined);
        if (r?.status === 503) unready += 1;
        return unready >= 3 ? true : undefined;
      }, 'three unready answers');
      expect(await exited).toBe(0);

      const lines = logLines(child.stderr());
      // A 503 from readiness while stopping is expected: one line saying so, no errors.
      expect(lines.filter((l) => l.msg === 'not ready')).toEqual([
        expect.objectContaining({ level: 30, reason: 'the server is shutting down' }),
      ]);
      const messages = lines.map((l) => l.msg);
      const handedBack = messages.indexOf(
        'running work did not finish within the grace period; handed it back',
      );
      expect(handedBack).toBeGreaterThan(-1);
      expect(messages.indexOf('stopped')).toBeGreaterThan(handedBack);
      // Nothing after the hand-back reached the store, and nothing expected is an error.
      expect(child.stderr()).not.toMatch(/store is closed/);
      expect(lines.filter((l) => l.level >= 50)).toEqual([]);

      store = await database.open();
      try {
        const action = await store.getAction(id);
        expect(action?.status).toBe('executing');
        expect(action?.error).toBeNull();
        const last = (await store.events(id)).at(-1);
        expect(last).toMatchObject({ type: 'transition', to: 'executing' });
        expect((await store.stranded(new Date())).map((a) => a.id)).toContain(id);
      } finally {
        await store.close();
      }
      const puts = world.sandbox
        .mutations()
        .filter((m) => m.resource === bucket && m.operation === 'PutBucketEncryption');
      expect(puts).toHaveLength(0);
    },
  );
});
