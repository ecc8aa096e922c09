import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCatalog } from '../src/catalog/index.ts';
import type { Action, SealedSecret } from '../src/domain/action.ts';
import type { Engine } from '../src/engine/engine.ts';
import { open, recipientKeyPair } from '../src/secrets/sealed-box.ts';
import { newAction } from '../src/service/new-action.ts';
import { actionWhen, quickEngine } from './helpers/actions.ts';
import { startApi, type ApiHarness } from './helpers/api.ts';
import {
  createTestDatabase,
  databaseText,
  ENGINES,
  type TestDatabase,
} from './helpers/databases.ts';
import { iamDocument, putState, startIamWorld, userRef, type IamWorld } from './helpers/iam.ts';
import { browse, login, type Browser } from './helpers/session.ts';

const catalog = createCatalog();

describe.each(ENGINES)(
  'no secret in any log line or answer, on %s',
  { timeout: 90_000 },
  (engine) => {
    let database: TestDatabase;
    let api: ApiHarness;
    let world: IamWorld;
    let worker: Engine;
    /** Every answer's headers and body, as text, with the route that gave it. */
    const answers: { route: string; text: string }[] = [];

    beforeAll(async () => {
      database = await createTestDatabase(engine);
      api = await startApi({ database });
      world = await startIamWorld();
      worker = quickEngine({ store: api.store, clients: world.clients, catalog });
      await worker.start();
    }, 60_000);
    afterAll(async () => {
      await worker?.stop();
      await api?.close();
      await world?.close();
      await database?.drop();
    }, 60_000);

    const keep = <T extends { text: string; headers?: Headers }>(route: string, res: T): T => {
      const headers = res.headers ? [...res.headers.entries()].map((h) => h.join(': ')) : [];
      answers.push({ route, text: [...headers, res.text].join('\n') });
      return res;
    };
    // Changes carry an Idempotency-Key, as the CLI sends one, so kept answers are scanned too.
    const as = async (b: Browser, method: string, route: string, body?: unknown) =>
      keep(
        `${method} ${route}`,
        await browse(api, b, method, route, {
          body,
          headers: method === 'GET' ? {} : { 'idempotency-key': randomUUID() },
        }),
      );

    it('signs in, changes a password, makes a token and collects a rotated key', async () => {
      // As `infraudit users create` sends it: a bearer token and an Idempotency-Key.
      const created = await fetch(`${api.url}/api/v1/users`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${api.tokens.admin}`,
          'content-type': 'application/json',
          'idempotency-key': randomUUID(),
        },
        body: JSON.stringify({ username: 'keeper', role: 'admin' }),
      });
      const oneTime: string = ((await created.json()) as any).oneTimePassword;
      const first = keep('POST /session (one-time)', await login(api, 'keeper', oneTime));
      const firstId = first.browser!.cookie.split('=')[1]!;
      const newPassword = 'keeper has a brand new passphrase';
      await as(first.browser!, 'POST', '/api/v1/session/password', {
        currentPassword: oneTime,
        newPassword,
      });
      const wrongGuess = 'an attempted wrong guess';
      keep('POST /session (wrong)', await login(api, 'keeper', wrongGuess));
      const second = keep('POST /session', await login(api, 'keeper', newPassword));
      const b = second.browser!;
      const sessionId = b.cookie.split('=')[1]!;

      const token = await as(b, 'POST', '/api/v1/tokens', {
        role: 'viewer',
        name: 'dash',
        expiresInMinutes: 60,
      });
      const tokenValue: string = (token.body as any).token;
      keep(
        'GET /actions (token)',
        await api.call('GET', '/api/v1/actions', { as: { token: tokenValue } }),
      );

      await putState(
        world.sandbox,
        iamDocument({ robot: { keys: [{ id: 'AKIAOLDKEY0000000009', created: 400, used: 1 }] } }),
      );
      const { action } = await api.store.createAction(
        newAction(
          catalog.get('iam.rotate-access-key')!,
          userRef('robot'),
          {
            kind: 'vulnerability',
            findingId: `rot-${engine}`,
            title: 'old key',
            origin: 'prowler',
            checkId: 'iam_rotate_access_key_90_days',
          },
          'high',
          { maxAgeDays: 90 },
        ),
        { actor: 'token:ops', now: new Date(), requireApproval: true },
      );
      worker.wake();
      await actionWhen(api.store, action.id, (a) => a.plannedAt !== null);
      expect((await as(b, 'POST', `/api/v1/actions/${action.id}/approve`, {})).status).toBe(200);
      const pair = recipientKeyPair();
      const queued = await as(b, 'POST', `/api/v1/actions/${action.id}/execute`, {
        recipientKey: pair.publicKey,
      });
      expect(queued.status).toBe(202);
      const done: Action = await actionWhen(
        api.store,
        action.id,
        (a) => !a.requestedOp && ['completed', 'failed'].includes(a.status),
        { ms: 20_000 },
      );
      expect(done.status).toBe('completed');
      const taken = await as(b, 'POST', `/api/v1/actions/${action.id}/secret`);
      expect(taken.status).toBe(200);
      // Sealed to the person who executed, here a signed-in user rather than a token.
      const secret = open((taken.body as any).secret as SealedSecret, pair.privateKey);
      expect(secret).toBe(world.secretOf(done.progress.newKeyId as string));
      expect((await api.store.events(action.id)).some((e) => e.actor === 'user:keeper')).toBe(true);
      expect((await as(b, 'DELETE', '/api/v1/session')).status).toBe(204);

      // At rest: the database keeps hashes and sealed secrets only.
      const stored = await databaseText(database, api.dataDir);
      const atRest = { oneTime, newPassword, wrongGuess, firstId, sessionId, tokenValue, secret };
      for (const [what, value] of Object.entries(atRest)) {
        expect(stored.includes(value), `${what} in the database`).toBe(false);
      }

      const logs = api.logLines.join('');
      expect(logs).toContain('signed in');
      expect(logs).toContain('"actor":"user:keeper"');
      const secrets = {
        oneTime,
        newPassword,
        wrongGuess,
        firstId,
        sessionId,
        tokenValue,
        secret,
        csrf: b.csrf,
      };
      for (const [what, value] of Object.entries(secrets)) {
        expect(logs.includes(value), `${what} in the log`).toBe(false);
      }
      // Only the answers meant to carry them do: the new token once, the session id in its
      // own Set-Cookie, the CSRF token to its session. No password is ever answered.
      for (const { route, text } of answers) {
        for (const [what, value] of Object.entries({ oneTime, newPassword, wrongGuess, secret })) {
          expect(text.includes(value), `${what} in the answer to ${route}`).toBe(false);
        }
        if (route !== 'POST /api/v1/tokens') {
          expect(text.includes(tokenValue), `token in the answer to ${route}`).toBe(false);
        }
        if (route !== 'POST /session') {
          expect(text.includes(sessionId), `session id in the answer to ${route}`).toBe(false);
        }
      }
    });

    it('never replays an answer that carried a secret to a retry with the same key', async () => {
      const send = () =>
        fetch(`${api.url}/api/v1/tokens`, {
          method: 'POST',
          headers: {
            authorization: `Bearer ${api.tokens.admin}`,
            'content-type': 'application/json',
            'idempotency-key': 'retried-token-key',
          },
          body: JSON.stringify({ role: 'viewer', name: 'retried' }),
        });
      const first = await send();
      expect(first.status).toBe(201);
      const token = ((await first.json()) as any).token as string;
      // The retry runs again and is refused: the token is shown once, and kept nowhere.
      const retry = await send();
      expect(retry.status).toBe(409);
      expect(await retry.text()).not.toContain(token);
      expect(await databaseText(database, api.dataDir)).not.toContain(token);
    });
  },
);
