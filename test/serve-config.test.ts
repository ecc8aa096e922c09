import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.ts';
import { openStore } from '../src/store/connect.ts';
import { startServe } from './helpers/serve.ts';

describe('INFRAUDIT_ENGINE_LEASE_MS', () => {
  it('defaults to 30 s and is refused outside 1 s to 10 min', () => {
    expect(loadConfig({}, '/').engineLeaseMs).toBe(30_000);
    expect(loadConfig({ INFRAUDIT_ENGINE_LEASE_MS: '5000' }, '/').engineLeaseMs).toBe(5000);
    for (const bad of ['999', '600001', 'soon']) {
      expect(() => loadConfig({ INFRAUDIT_ENGINE_LEASE_MS: bad }, '/')).toThrow(
        `INFRAUDIT_ENGINE_LEASE_MS must be a whole number from 1000 to 600000, got "${bad}"`,
      );
    }
  });
});

describe('infraudit serve', () => {
  it('uses the configured lease; the first admin token gets a free name', async () => {
    const dataDir = await mkdtemp(path.join(tmpdir(), 'infraudit-serve-config-'));
    try {
      // A database whose only token, once called "admin", is revoked: the name stays taken.
      const store = await openStore({ dataDir });
      const old = await store.createToken({ role: 'viewer', name: 'admin', now: new Date() });
      await store.revokeToken(old.info.id, { actor: 'test', now: new Date() });
      await store.close();

      const serve = await startServe(['--demo', '--data', dataDir, '--port', '0'], {
        INFRAUDIT_ENGINE_LEASE_MS: '4000',
        INFRAUDIT_LOG_LEVEL: 'info',
      });
      try {
        const token = (await readFile(serve.endpoints['admin token']!, 'utf8')).trim();
        const res = await fetch(`${serve.endpoints.api}/api/v1/tokens`, {
          headers: { authorization: `Bearer ${token}` },
        });
        expect(res.status).toBe(200);
        const listed = (await res.json()) as { items: { name: string }[] };
        const names = listed.items.map((t) => t.name);
        expect(names).toEqual(['admin', 'admin-2']);

        const started = serve
          .stderr()
          .split('\n')
          .find((line) => line.includes('"engine started"'));
        expect(JSON.parse(started!)).toMatchObject({ leaseMs: 4000 });
      } finally {
        await serve.stop();
      }
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  }, 60_000);
});
