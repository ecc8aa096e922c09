import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { type RunningServer, startServer } from '../src/cli/server.ts';
import { createTestDatabase, type TestDatabase } from './helpers/databases.ts';

describe('replicas starting together on an empty PostgreSQL database', () => {
  let database: TestDatabase | undefined;
  const dirs: string[] = [];
  const servers: RunningServer[] = [];

  afterAll(async () => {
    await Promise.all(servers.map((s) => s.close()));
    await database?.drop();
    await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
  });

  it('all start; exactly one creates the admin token and the admin user', async () => {
    database = await createTestDatabase('postgres');
    for (let i = 0; i < 3; i++) dirs.push(await mkdtemp(path.join(tmpdir(), 'infraudit-rep-')));
    const started = await Promise.allSettled(
      dirs.map((dataDir, i) =>
        startServer({
          dataDir,
          databaseUrl: database?.url,
          host: '127.0.0.1',
          port: 0,
          demo: false,
          sandboxPort: 0,
          engineConcurrency: 1,
          enginePollMs: 1000,
          // No scheduled scan can fall due while the test runs: nothing reads a cloud.
          scanTickMs: 3_600_000,
          replicaId: `replica-${i}`,
          importLimitBytes: 1024 * 1024,
          log: pino({ level: 'silent' }),
        }),
      ),
    );
    for (const result of started) if (result.status === 'fulfilled') servers.push(result.value);
    expect(started.map((r) => (r.status === 'rejected' ? String(r.reason) : 'up'))).toEqual([
      'up',
      'up',
      'up',
    ]);

    expect(servers.filter((s) => s.tokenCreated)).toHaveLength(1);
    expect(servers.filter((s) => s.adminLogin)).toHaveLength(1);
    // Only the replica that created the token has its file.
    const files = await Promise.all(dirs.map((dir) => readdir(dir)));
    expect(files.filter((names) => names.includes('admin-token'))).toHaveLength(1);

    const store = await database.open();
    try {
      const tokens = await store.listTokens();
      expect(tokens.map((t) => [t.name, t.role])).toEqual([['admin', 'admin']]);
      const users = await store.listUsers();
      expect(users.map((u) => [u.username, u.role])).toEqual([['admin', 'admin']]);
    } finally {
      await store.close();
    }
    for (const server of servers) {
      const health = await fetch(`${server.apiUrl}/api/v1/health`);
      expect(health.status).toBe(200);
    }
  }, 120_000);
});
