import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDispatcher } from '../src/alerts/dispatcher.ts';
import { loadConfig } from '../src/config.ts';
import { openStore, SQLITE_FILE } from '../src/store/connect.ts';
import type { Store } from '../src/store/store.ts';
import { newAction } from './helpers/actions.ts';
import { startHttpReceiver, type HttpReceiver } from './helpers/alert-receivers.ts';
import {
  createTestDatabase,
  databaseText,
  ENGINES,
  type TestDatabase,
} from './helpers/databases.ts';
import { captureLog as capture } from './helpers/log-capture.ts';
import { silentLog } from './helpers/world.ts';

const URL_TOKEN = 'T0KEN-in-the-webhook-path-5f1c';
const HMAC_KEY = 'hmac-key-never-at-rest-0123456789';
const SMTP_PASSWORD = 'smtp-password-never-at-rest-42';
const at = () => ({ actor: 'token:admin', now: new Date() });

const mode = (path: string) => statSync(path).mode & 0o777;

describe.each(ENGINES)('alert channel secrets at rest on %s', (engine) => {
  let database: TestDatabase;
  let http: HttpReceiver;
  let store: Store | undefined;
  const open = (opts: { secretKey?: Buffer } = {}) =>
    openStore({
      dataDir: database.dataDir,
      ...(database.url ? { databaseUrl: database.url } : {}),
      ...opts,
    });

  beforeAll(async () => {
    database = await createTestDatabase(engine);
    http = await startHttpReceiver();
  });
  afterAll(async () => {
    await store?.close();
    await http?.close();
    await database?.drop();
  });

  async function addChannels(s: Store) {
    const hook = await s.createAlertChannel(
      {
        name: 'siem',
        type: 'webhook',
        config: {},
        secrets: { url: http.url(`/in/${URL_TOKEN}`), secret: HMAC_KEY },
      },
      at(),
    );
    const mail = await s.createAlertChannel(
      {
        name: 'mail',
        type: 'email',
        config: {
          host: '127.0.0.1',
          port: 25,
          security: 'none',
          username: 'alerts',
          from: 'infraudit@example.test',
          to: ['oncall@example.test'],
        },
        secrets: { password: SMTP_PASSWORD },
      },
      at(),
    );
    await s.createAlertRule(
      { name: 'all', events: ['suggested'], minSeverity: 'low', channels: [hook.id] },
      at(),
    );
    return { hook, mail };
  }

  const suggest = async (s: Store) =>
    (
      await s.createAction(newAction({ severity: 'high' }), {
        actor: 'token:creator',
        now: new Date(),
        requireApproval: false,
      })
    ).action;

  it('stores webhook URLs, HMAC keys and SMTP passwords encrypted, and sends with them', async () => {
    store = await open();
    const { hook, mail } = await addChannels(store);

    const raw = await databaseText(database);
    for (const secret of [URL_TOKEN, HMAC_KEY, SMTP_PASSWORD]) expect(raw).not.toContain(secret);
    expect(raw).toContain('siem');

    const listed = await store.listAlertChannels();
    expect(listed.find((c) => c.id === hook.id)?.target).toBe(
      `${new URL(http.url('/')).origin}/****`,
    );
    expect(listed.find((c) => c.id === mail.id)?.target).toBe(
      'smtp://alerts:****@127.0.0.1:25 -> oncall@example.test',
    );
    expect((await store.alertChannelForSending(hook.id))?.secrets).toEqual({
      url: http.url(`/in/${URL_TOKEN}`),
      secret: HMAC_KEY,
    });
    expect((await store.alertChannelForSending(mail.id))?.secrets).toEqual({
      password: SMTP_PASSWORD,
    });

    const action = await suggest(store);
    const before = http.received.length;
    await createDispatcher({ store, log: silentLog, publicUrl: 'https://x.test' }).runOnce();
    const got = http.received.slice(before);
    expect(got.map((r) => [r.path, r.json.action.id])).toEqual([[`/in/${URL_TOKEN}`, action.id]]);
  });

  it('with another key, refuses to send, naming the channel, and sends once the key is right', async () => {
    await store!.close();
    const { log, lines } = capture();
    store = await open({ secretKey: randomBytes(32) });
    await expect(
      store.alertChannelForSending((await store.listAlertChannels())[0]!.id),
    ).rejects.toMatchObject({
      code: 'conflict',
      message: expect.stringMatching(/alert channel "/),
    });

    const action = await suggest(store);
    const before = http.received.length;
    // The clock moves only when the test moves it: one try now, the next when it says.
    let now = Date.now() + 1_000;
    const dispatcher = () =>
      createDispatcher({
        store: store!,
        log,
        publicUrl: 'https://x.test',
        backoffMs: 60_000,
        clock: () => new Date(now),
      });
    await dispatcher().runOnce();
    expect(http.received.length).toBe(before);
    const delivery = (await store.listAlertDeliveries({ limit: 500 })).find(
      (d) => d.actionId === action.id,
    )!;
    const detail = (await store.getAlertDelivery(delivery.id))!;
    expect(detail.status).toBe('pending');
    expect(detail.attemptLog).toHaveLength(1);
    expect(detail.attemptLog[0]!.error).toMatch(
      /cannot decrypt the secrets of alert channel "siem".*INFRAUDIT_SECRET_KEY/,
    );
    expect(lines.join('\n')).toContain('cannot decrypt the secrets of alert channel \\"siem\\"');
    expect(lines.join('\n')).not.toContain(URL_TOKEN);

    // The key file of the data folder is the one the secrets were stored with.
    await store.close();
    store = await open();
    now += 60_000;
    await dispatcher().runOnce();
    const sent = http.received.slice(before).filter((r) => r.json.action?.id === action.id);
    expect(sent).toHaveLength(1);
    expect((await store.getAlertDelivery(delivery.id))!.status).toBe('delivered');
  });

  it('encrypts, at start, channel secrets an earlier version stored in clear', async () => {
    await store!.close();
    store = undefined;
    const clear = JSON.stringify({ url: http.url(`/in/${URL_TOKEN}`), secret: HMAC_KEY });
    if (database.url) {
      const client = new pg.Client({ connectionString: database.url });
      await client.connect();
      await client.query("UPDATE alert_channels SET secrets = $1 WHERE name = 'siem'", [clear]);
      await client.end();
    } else {
      const file = new DatabaseSync(join(database.dataDir, SQLITE_FILE));
      file.prepare("UPDATE alert_channels SET secrets = ? WHERE name = 'siem'").run(clear);
      file.close();
    }
    expect(await databaseText(database)).toContain(HMAC_KEY);

    const { log, lines } = capture();
    store = await openStore({
      dataDir: database.dataDir,
      log,
      ...(database.url ? { databaseUrl: database.url } : {}),
    });
    expect(lines.join('\n')).toContain('encrypted alert channel secrets stored in clear');
    const siem = (await store.listAlertChannels()).find((c) => c.name === 'siem')!;
    expect((await store.alertChannelForSending(siem.id))?.secrets.secret).toBe(HMAC_KEY);
    const raw = await databaseText(database);
    for (const secret of [URL_TOKEN, HMAC_KEY, SMTP_PASSWORD]) expect(raw).not.toContain(secret);
  });
});

describe('data folder and database file modes', () => {
  const dirs: string[] = [];
  afterAll(() => {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });
  const fresh = () => {
    const parent = mkdtempSync(join(tmpdir(), 'infraudit-modes-'));
    dirs.push(parent);
    return join(parent, 'data');
  };

  it('creates the folder 0700 and the database, its -wal and -shm, and secret.key 0600', async () => {
    const dataDir = fresh();
    const store = await openStore({ dataDir });
    try {
      await store.createAlertChannel(
        { name: 'slack', type: 'slack', config: {}, secrets: { url: 'https://hooks.test/T/B/x' } },
        at(),
      );
      expect(mode(dataDir)).toBe(0o700);
      for (const file of [SQLITE_FILE, `${SQLITE_FILE}-wal`, `${SQLITE_FILE}-shm`, 'secret.key']) {
        expect(mode(join(dataDir, file)), file).toBe(0o600);
      }
      expect(
        Buffer.from(readFileSync(join(dataDir, 'secret.key'), 'utf8').trim(), 'base64'),
      ).toHaveLength(32);
    } finally {
      await store.close();
    }
  });

  it('tightens a folder and files left readable by others, and says so in the log', async () => {
    const dataDir = fresh();
    await (await openStore({ dataDir })).close();
    chmodSync(dataDir, 0o755);
    chmodSync(join(dataDir, SQLITE_FILE), 0o644);
    chmodSync(join(dataDir, 'secret.key'), 0o644);
    const { log, lines } = capture();
    const store = await openStore({ dataDir, log });
    await store.close();
    expect(mode(dataDir)).toBe(0o700);
    expect(mode(join(dataDir, SQLITE_FILE))).toBe(0o600);
    expect(mode(join(dataDir, 'secret.key'))).toBe(0o600);
    const logged = lines.map((l) => JSON.parse(l));
    expect(logged.filter((l) => /tightened permissions/.test(l.msg)).map((l) => l.path)).toEqual([
      dataDir,
      join(dataDir, SQLITE_FILE),
    ]);
    expect(logged.some((l) => /secret key file was readable/.test(l.msg))).toBe(true);
  });

  it('refuses a malformed INFRAUDIT_SECRET_KEY and a bad key file, changing nothing', async () => {
    const good = randomBytes(32).toString('base64');
    expect(loadConfig({ INFRAUDIT_SECRET_KEY: good }, '/').secretKey).toEqual(
      Buffer.from(good, 'base64'),
    );
    expect(loadConfig({}, '/').secretKey).toBeUndefined();
    for (const bad of ['short', randomBytes(16).toString('base64'), `${good}!`]) {
      expect(() => loadConfig({ INFRAUDIT_SECRET_KEY: bad }, '/')).toThrow(
        /INFRAUDIT_SECRET_KEY must be 32 random bytes in base64/,
      );
    }
    const dataDir = fresh();
    await (await openStore({ dataDir })).close();
    writeFileSync(join(dataDir, 'secret.key'), 'not a key\n', { mode: 0o600 });
    await expect(openStore({ dataDir })).rejects.toThrow(/secret\.key must be 32 random bytes/);
    expect(readFileSync(join(dataDir, 'secret.key'), 'utf8')).toBe('not a key\n');
  });
});
