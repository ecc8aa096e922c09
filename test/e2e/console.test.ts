import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { S3Client } from '@aws-sdk/client-s3';
import pg from 'pg';
import pino from 'pino';
import type { Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../../src/cli/server.ts';
import {
  axeViolations,
  ensureConsoleBuilt,
  launchChromium,
  type Chromium,
} from '../helpers/browser.ts';
import { REPO } from '../helpers/cli.ts';
import { createTestDatabase, ENGINES, type TestDatabase } from '../helpers/databases.ts';
import { encryptionOf, encryptWithKms } from '../helpers/world.ts';

const SCREENSHOTS = path.join(REPO, 'docs/screenshots');
const FIRST_PASSWORD = 'first-time-Passw0rd';
const PASSWORD = 'console-e2e-Passw0rd!';
/** A browser flow waits on the engine and on password hashing; 2 shared cores are slow. */
const FLOW = 120_000;
const WAIT = { timeout: 30_000 };

interface Summary {
  id: string;
  type: string;
  status: string;
  resource: { name: string; id: string };
}

describe.each(ENGINES)('web console in Chromium on %s', (engine) => {
  let database: TestDatabase;
  let server: RunningServer;
  let chromium: Chromium;
  let adminToken: string;

  const api = async (method: string, route: string, body?: unknown) => {
    const response = await fetch(`${server.apiUrl}/api/v1${route}`, {
      method,
      headers: {
        authorization: `Bearer ${adminToken}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await response.text();
    if (!response.ok) throw new Error(`${method} ${route}: ${response.status} ${text}`);
    return text ? JSON.parse(text) : undefined;
  };

  const findAction = async (type: string, bucket: string): Promise<Summary> => {
    const { items } = (await api('GET', `/actions?q=${bucket}&limit=50`)) as { items: Summary[] };
    const found = items.find((a) => a.type === type && a.resource.name === bucket);
    if (!found) throw new Error(`no ${type} action on ${bucket}`);
    return found;
  };

  const waitForStatus = async (id: string, status: string) => {
    for (let i = 0; i < 300; i++) {
      const { action } = await api('GET', `/actions/${id}`);
      if (action.status === status) return;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error(`action ${id} never reached ${status}`);
  };

  const changed = new Set<string>();
  /** Signs in through the page, choosing a password of one's own on first sign-in. */
  const signIn = async (username: string): Promise<Page> => {
    const page = await chromium.page();
    await page.goto(server.apiUrl);
    const first = !changed.has(username);
    await page.getByLabel('Username').fill(username);
    await page.getByLabel('Password').fill(first ? FIRST_PASSWORD : PASSWORD);
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    if (first) {
      await page.getByLabel('Current password').fill(FIRST_PASSWORD);
      await page.getByLabel('New password').fill(PASSWORD);
      await page.getByRole('button', { name: 'Change password' }).click();
      changed.add(username);
    }
    await page.getByRole('heading', { name: 'Remediation queue' }).waitFor();
    return page;
  };

  /** Moves a completed action's rollback deadline into the past, as time passing would. */
  const expireWindow = async (id: string) => {
    const past = new Date(Date.now() - 60_000).toISOString();
    if (database.url) {
      const client = new pg.Client({ connectionString: database.url });
      await client.connect();
      await client.query('UPDATE actions SET rollback_deadline = $1 WHERE id = $2', [past, id]);
      await client.end();
    } else {
      const db = new DatabaseSync(path.join(database.dataDir, 'infraudit.db'));
      db.exec('PRAGMA busy_timeout = 5000');
      db.prepare('UPDATE actions SET rollback_deadline = ? WHERE id = ?').run(past, id);
      db.close();
    }
  };

  beforeAll(async () => {
    ensureConsoleBuilt();
    database = await createTestDatabase(engine);
    server = await startServer({
      dataDir: database.dataDir,
      databaseUrl: database.url,
      host: '127.0.0.1',
      port: 0,
      demo: true,
      sandboxPort: 0,
      engineConcurrency: 2,
      enginePollMs: 50,
      importLimitBytes: 1024 * 1024,
      log: pino({ level: 'silent' }),
    });
    adminToken = readFileSync(server.tokenFile!, 'utf8').trim();
    for (const [username, role] of [
      ['alice', 'admin'],
      ['victor', 'viewer'],
    ]) {
      await api('POST', '/users', { username, role, password: FIRST_PASSWORD });
    }
    chromium = await launchChromium();
  }, 120_000);

  afterAll(async () => {
    await chromium?.close();
    await server?.close();
    await database?.drop();
  });

  it(
    'shows the sign-in page without serious accessibility problems, and refuses a wrong password',
    async () => {
      const page = await chromium.page();
      await page.goto(`${server.apiUrl}/actions?status=pending_approval`);
      await page.getByRole('heading', { name: 'Sign in to InfraAudit' }).waitFor();
      expect(await axeViolations(page)).toEqual([]);
      await page.getByLabel('Username').fill('alice');
      await page.getByLabel('Password').fill('not-the-password');
      await page.getByRole('button', { name: 'Sign in', exact: true }).click();
      await expect
        .poll(() => page.getByRole('alert').textContent(), WAIT)
        .toContain('Sign-in failed');
      await page.context().close();
    },
    FLOW,
  );

  it(
    'filters the queue, approves, executes and rolls back an action',
    async () => {
      const target = await findAction('s3.block-public-access', 'public-assets');
      const page = await signIn('alice');

      // Filters go to the URL, and the rows follow them.
      await page.locator('select[name=status]').selectOption('pending_approval');
      await page.locator('select[name=resourceType]').selectOption('AwsS3Bucket');
      await page.getByLabel('Search').fill('public-assets');
      await page.getByRole('button', { name: 'Search' }).click();
      await expect
        .poll(() => new URL(page.url()).searchParams.get('q'), WAIT)
        .toBe('public-assets');
      const url = new URL(page.url());
      expect(url.searchParams.get('status')).toBe('pending_approval');
      expect(url.searchParams.get('resourceType')).toBe('AwsS3Bucket');
      const rows = page.locator('table.queue tbody tr');
      await expect.poll(() => rows.count(), WAIT).toBeGreaterThan(0);
      for (const row of await rows.all()) {
        expect(await row.textContent()).toContain('pending approval');
        expect(await row.textContent()).toContain('public-assets');
      }
      expect(await axeViolations(page)).toEqual([]);
      if (engine === 'sqlite') {
        mkdirSync(SCREENSHOTS, { recursive: true });
        await page.screenshot({ path: path.join(SCREENSHOTS, 'queue.png') });
      }

      // A shared link opens the same view.
      const shared = await chromium.page();
      await shared.context().addCookies(await page.context().cookies());
      await shared.goto(page.url());
      await expect
        .poll(() => shared.locator('table.queue tbody tr').count(), WAIT)
        .toBe(await rows.count());
      await shared.context().close();

      await page
        .getByRole('link', { name: /public access/i })
        .first()
        .click();
      await page.getByRole('heading', { level: 1 }).waitFor();
      expect(new URL(page.url()).pathname).toBe(`/actions/${target.id}`);
      await expect.poll(() => page.locator('.diff').textContent(), WAIT).toContain('true');
      expect(await page.getByRole('button', { name: 'Execute' }).count()).toBe(0);

      await page.getByLabel('Comment').fill('CHG-1234 approved in the console');
      await page.getByRole('button', { name: 'Approve' }).click();
      await page.getByRole('button', { name: 'Execute' }).waitFor();
      expect(await page.locator('.timeline').textContent()).toContain(
        'CHG-1234 approved in the console',
      );

      await page.getByRole('button', { name: 'Execute' }).click();
      const dialog = page.getByRole('dialog');
      expect(await dialog.textContent()).toContain('public-assets');
      await dialog.getByRole('button', { name: 'Yes, execute' }).click();
      await page.locator('.facts .status-completed').waitFor({ timeout: 30_000 });
      await expect
        .poll(() => page.locator('.window').textContent(), WAIT)
        .toMatch(/Rollback possible for \d+:\d\d more/);
      expect(await axeViolations(page)).toEqual([]);
      if (engine === 'sqlite') {
        await page.screenshot({ path: path.join(SCREENSHOTS, 'detail.png'), fullPage: true });
      }

      await page.getByRole('button', { name: 'Rollback' }).click();
      expect(await page.getByRole('dialog').textContent()).toContain('public-assets');
      await page.getByRole('dialog').getByRole('button', { name: 'Yes, rollback' }).click();
      await page.locator('.facts .status-rolled_back').waitFor({ timeout: 30_000 });
      expect(await page.getByRole('button', { name: 'Rollback' }).count()).toBe(0);
      const { action } = await api('GET', `/actions/${target.id}`);
      expect(action.status).toBe('rolled_back');
      await page.context().close();
    },
    FLOW,
  );

  it(
    'approves several selected actions with one comment, each audited',
    async () => {
      const { items } = (await api('GET', '/actions?status=pending_approval&limit=500')) as {
        items: Summary[];
      };
      const byName = Map.groupBy(items, (a) => a.resource.name);
      const name = [...byName].find(([, actions]) => actions.length >= 2)?.[0];
      expect(name, JSON.stringify(items.map((a) => a.resource.name))).toBeDefined();
      const page = await signIn('alice');
      await page.getByLabel('Search').fill(name!);
      await page.getByRole('button', { name: 'Search' }).click();
      await page.locator('select[name=status]').selectOption('pending_approval');
      const boxes = page.locator('table.queue tbody input[type=checkbox]');
      await expect.poll(() => boxes.count(), WAIT).toBeGreaterThanOrEqual(2);
      const ids: string[] = [];
      for (const box of (await boxes.all()).slice(0, 2)) {
        await box.check();
      }
      for (const link of (await page.locator('table.queue tbody tr a').all()).slice(0, 2)) {
        ids.push(decodeURIComponent((await link.getAttribute('href'))!.split('/').pop()!));
      }
      await page
        .getByRole('region', { name: 'Selected actions' })
        .getByLabel('Comment')
        .fill('batch CHG-77');
      await page.getByRole('button', { name: 'Approve selected' }).click();
      await expect.poll(() => page.getByText('2 done.').count(), WAIT).toBe(1);
      for (const id of ids) {
        const { action, events } = await api('GET', `/actions/${id}`);
        expect(action.status).toBe('approved');
        expect(events.some((e: { comment: string | null }) => e.comment === 'batch CHG-77')).toBe(
          true,
        );
      }
      await page.context().close();
    },
    FLOW,
  );

  it(
    'shows no rollback once the window has closed',
    async () => {
      const target = await findAction('s3.enable-versioning', 'ml-training-data');
      // The bulk approval before may have approved it already.
      if (target.status !== 'approved') await api('POST', `/actions/${target.id}/approve`, {});
      await api('POST', `/actions/${target.id}/execute`, {});
      await waitForStatus(target.id, 'completed');
      await expireWindow(target.id);
      const page = await signIn('alice');
      await page.goto(`${server.apiUrl}/actions/${target.id}`);
      await page.locator('.facts .status-completed').waitFor();
      expect(await page.locator('.window').textContent()).toContain('rollback window has closed');
      expect(await page.getByRole('button', { name: 'Rollback' }).count()).toBe(0);
      await page.context().close();
    },
    FLOW,
  );

  it(
    'shows a viewer no action buttons',
    async () => {
      const target = await findAction('s3.enable-default-encryption', 'finance-exports');
      const page = await signIn('victor');
      expect(await page.locator('table.queue input[type=checkbox]').count()).toBe(0);
      await page.goto(`${server.apiUrl}/actions/${target.id}`);
      await page.getByRole('heading', { name: 'Timeline' }).waitFor();
      expect(await page.getByRole('button').allTextContents()).toEqual(['Sign out']);
      await page.context().close();
    },
    FLOW,
  );

  it(
    'refuses bad settings with a message and saves good ones',
    async () => {
      const page = await signIn('alice');
      await page.getByRole('link', { name: 'Settings' }).click();
      const window = page.getByLabel(/Rollback window/);
      await window.fill('200');
      await page.getByRole('button', { name: 'Save' }).click();
      expect(await page.getByRole('alert').textContent()).toContain('between 5 and 120 minutes');
      expect((await api('GET', '/settings/remediation')).rollbackWindowMinutes).toBe(30);
      expect(await axeViolations(page)).toEqual([]);
      if (engine === 'sqlite') {
        await page.screenshot({ path: path.join(SCREENSHOTS, 'settings.png') });
      }
      await window.fill('45');
      await page.getByRole('button', { name: 'Save' }).click();
      await page.getByText('Saved.').waitFor();
      expect((await api('GET', '/settings/remediation')).rollbackWindowMinutes).toBe(45);
      await page.context().close();
    },
    FLOW,
  );

  it(
    'lists findings with their actions, and says plainly when a feature is missing',
    async () => {
      const page = await signIn('alice');
      await page.getByRole('link', { name: 'Findings' }).click();
      await page.getByRole('heading', { name: 'Findings' }).waitFor();
      await page.locator('select').first().selectOption('vulnerability');
      await expect
        .poll(() => new URL(page.url()).searchParams.get('kind'), WAIT)
        .toBe('vulnerability');
      const links = page.locator('tbody tr a');
      await links.first().waitFor();
      // Findings seen at the same moment may list in any order; open one that has an action.
      let withAction: Locator | undefined;
      for (const link of await links.all()) {
        const id = decodeURIComponent((await link.getAttribute('href'))!.split('/').pop()!);
        const { actions } = await api('GET', `/findings/${encodeURIComponent(id)}`);
        if (actions.length > 0) {
          withAction = link;
          break;
        }
      }
      expect(withAction).toBeDefined();
      await withAction!.click();
      await page.getByRole('heading', { name: 'Remediation actions' }).waitFor();
      await page.locator('main a[href^="/actions/"]').first().click();
      await page.getByRole('heading', { name: 'Timeline' }).waitFor();

      await page.goto(`${server.apiUrl}/alerts?tab=no-such-list`);
      await page.getByText('is not available on this server').waitFor();
      expect(await page.getByRole('alert').count()).toBe(0);
      await page.context().close();
    },
    FLOW,
  );

  it(
    "shows the server's refusal where the click happened",
    async () => {
      const target = await findAction('s3.enable-versioning', 'audit-logs');
      const page = await signIn('alice');
      // Frozen timers: the page keeps showing Approve while someone else rejects the action.
      await page.clock.install();
      await page.goto(`${server.apiUrl}/actions/${target.id}`);
      await page.getByRole('button', { name: 'Approve' }).waitFor();
      await api('POST', `/actions/${target.id}/reject`, { comment: 'not this quarter' });
      await page.getByRole('button', { name: 'Approve' }).click();
      const alert = page.getByRole('alert');
      await alert.waitFor();
      expect(await alert.textContent()).toContain('cannot approve an action that is rejected');
      await page.context().close();
    },
    FLOW,
  );

  it(
    'filters the audit log and exports it as JSON lines',
    async () => {
      const page = await signIn('alice');
      await page.getByRole('link', { name: 'Audit log' }).click();
      await page.getByRole('heading', { name: 'Audit log' }).waitFor();
      await page.getByLabel('Actor').fill('user:alice');
      await page.getByRole('button', { name: 'Filter' }).click();
      await expect
        .poll(() => new URL(page.url()).searchParams.get('actor'), WAIT)
        .toBe('user:alice');
      const rows = page.locator('tbody tr');
      await expect.poll(() => rows.count(), WAIT).toBeGreaterThan(0);
      for (const row of await rows.all()) expect(await row.textContent()).toContain('user:alice');

      const [download] = await Promise.all([
        page.waitForEvent('download'),
        page.getByRole('button', { name: 'Export JSON lines' }).click(),
      ]);
      expect(download.suggestedFilename()).toBe('infraudit-audit.jsonl');
      const file = readFileSync((await download.path())!, 'utf8');
      const events = file
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line) as { actor: string });
      expect(events.length).toBeGreaterThan(0);
      expect(events.every((e) => e.actor === 'user:alice')).toBe(true);
      await page.context().close();
    },
    FLOW,
  );

  it(
    'works from the keyboard, and signs out for good',
    async () => {
      // The first sign-in may have to change the one-time password; that page is done.
      await (await signIn('alice')).context().close();
      const page = await chromium.page();
      await page.goto(server.apiUrl);
      await page.getByRole('heading', { name: 'Sign in to InfraAudit' }).waitFor();
      await page.keyboard.press('Tab');
      await page.keyboard.type('alice');
      await page.keyboard.press('Tab');
      await page.keyboard.type(PASSWORD);
      await page.keyboard.press('Enter');
      await page.getByRole('heading', { name: 'Remediation queue' }).waitFor();
      await page.keyboard.press('Tab');
      expect(await page.locator(':focus').textContent()).toBe('Skip to content');
      const link = page.locator('table.queue tbody tr a').first();
      await link.waitFor();
      await link.focus();
      await page.keyboard.press('Enter');
      await page.getByRole('heading', { name: 'Timeline' }).waitFor();

      await page.getByRole('button', { name: 'Sign out' }).click();
      await page.getByRole('heading', { name: 'Sign in to InfraAudit' }).waitFor();
      await page.reload();
      await page.getByRole('heading', { name: 'Sign in to InfraAudit' }).waitFor();
      await page.context().close();
    },
    FLOW,
  );

  it(
    'creates a remediation from a finding, and hides Approve from its creator',
    async () => {
      await api('PUT', '/settings/remediation', { allowSelfApproval: false });
      const { items } = (await api(
        'GET',
        '/findings?kind=vulnerability&status=open&limit=200',
      )) as {
        items: { id: string; remedy: { type: string } | null }[];
      };
      let findingId: string | undefined;
      for (const finding of items.filter((f) => f.remedy)) {
        const { actions } = (await api('GET', `/findings/${finding.id}`)) as {
          actions: { id: string; status: string }[];
        };
        const open = actions.filter((a) => a.status === 'pending_approval');
        if (open.length !== actions.length || open.length === 0) continue;
        for (const action of open) {
          await api('POST', `/actions/${action.id}/reject`, { comment: 'redo it by hand' });
        }
        findingId = finding.id;
        break;
      }
      expect(findingId).toBeDefined();

      const page = await signIn('alice');
      await page.goto(`${server.apiUrl}/findings/${findingId}`);
      await page.getByRole('button', { name: /Create remediation/ }).click();
      await page.getByRole('heading', { name: 'Timeline' }).waitFor();
      const id = decodeURIComponent(new URL(page.url()).pathname.split('/').pop()!);
      const { action } = await api('GET', `/actions/${id}`);
      expect(action.createdBy).toBe('user:alice');
      await page.getByRole('button', { name: 'Reject' }).waitFor();
      expect(await page.getByRole('button', { name: 'Approve' }).count()).toBe(0);
      await page.context().close();
    },
    FLOW,
  );

  it(
    'pages through the queue with the server cursor',
    async () => {
      const page = await signIn('alice');
      await page.goto(`${server.apiUrl}/actions?limit=10`);
      const rows = page.locator('table.queue tbody tr');
      await expect.poll(() => rows.count(), WAIT).toBe(10);
      const first = await rows.first().textContent();
      await page.getByRole('button', { name: 'Next page' }).click();
      await expect.poll(() => new URL(page.url()).searchParams.has('cursor'), WAIT).toBe(true);
      await expect.poll(() => rows.first().textContent(), WAIT).not.toBe(first);
      expect(new URL(page.url()).searchParams.get('limit')).toBe('10');
      await page.getByRole('button', { name: 'First page' }).click();
      await expect.poll(() => rows.first().textContent(), WAIT).toBe(first);
      await page.context().close();
    },
    FLOW,
  );

  it(
    'serves index.html for console paths and keeps JSON 404s for unknown API paths',
    async () => {
      const page = await fetch(`${server.apiUrl}/actions/abc?status=failed`);
      expect(page.status).toBe(200);
      expect(page.headers.get('content-type')).toContain('text/html');
      const missing = await fetch(`${server.apiUrl}/api/v1/no-such-route`);
      expect(missing.status).toBe(404);
      expect(((await missing.json()) as { error: { code: string } }).error.code).toBe('not_found');
      const asset = await fetch(`${server.apiUrl}/assets/no-such-file.js`);
      expect(asset.status).toBe(404);
      const escape = await fetch(`${server.apiUrl}/assets/..%2f..%2fpackage.json`);
      expect(escape.status).toBe(404);
    },
    FLOW,
  );
  it(
    'signs in with an API token, whose name and role come from GET /whoami',
    async () => {
      const { token } = (await api('POST', '/tokens', {
        role: 'operator',
        name: 'e2e-operator',
      })) as {
        token: string;
      };
      const page = await chromium.page();
      const asked: string[] = [];
      page.on('request', (r) => {
        if (r.url().includes('/api/v1/')) asked.push(`${r.method()} ${new URL(r.url()).pathname}`);
      });
      await page.goto(server.apiUrl);
      await page.getByRole('button', { name: 'Sign in with an API token instead' }).click();
      await page.getByLabel('API token').fill('not-a-real-token');
      await page.getByRole('button', { name: 'Sign in', exact: true }).click();
      await expect
        .poll(() => page.getByRole('alert').textContent(), WAIT)
        .toContain('not known to this server');

      await page.getByLabel('API token').fill(token);
      await page.getByRole('button', { name: 'Sign in', exact: true }).click();
      await page.getByRole('heading', { name: 'Remediation queue' }).waitFor();
      expect(await page.locator('.me').textContent()).toContain('e2e-operator (operator)');
      // An operator selects nothing in bulk: that is for admins.
      expect(await page.locator('table.queue input[type=checkbox]').count()).toBe(0);
      // The role is asked for, never worked out by trying what the token may do.
      expect(asked).toContain('GET /api/v1/whoami');
      expect(
        asked.filter((r) => r === 'GET /api/v1/tokens' || r === 'POST /api/v1/actions'),
      ).toEqual([]);

      // A reload keeps the tab signed in with the token.
      await page.reload();
      await page.getByRole('heading', { name: 'Remediation queue' }).waitFor();
      expect(await page.locator('.me').textContent()).toContain('e2e-operator (operator)');
      await page.getByRole('button', { name: 'Sign out' }).click();
      await page.getByRole('heading', { name: 'Sign in to InfraAudit' }).waitFor();
      await page.context().close();
    },
    FLOW,
  );

  it(
    'says why a rollback was refused, and lets an admin roll back anyway with a reason',
    async () => {
      const bucket = 'finance-exports';
      const target = await findAction('s3.enable-default-encryption', bucket);
      if (target.status !== 'approved') await api('POST', `/actions/${target.id}/approve`, {});
      await api('POST', `/actions/${target.id}/execute`, {});
      await waitForStatus(target.id, 'completed');
      // Someone changes the bucket by hand after the fix.
      const s3 = new S3Client({
        region: 'us-east-1',
        endpoint: server.sandboxUrl!,
        forcePathStyle: true,
        credentials: { accessKeyId: 'AKIACONSOLEE2E', secretAccessKey: 'console-e2e' },
      });
      await encryptWithKms({ s3 }, bucket);

      const page = await signIn('alice');
      await page.goto(`${server.apiUrl}/actions/${target.id}`);
      await page.locator('.facts .status-completed').waitFor();
      expect(await page.getByRole('button', { name: 'Roll back anyway' }).count()).toBe(0);
      await page.getByRole('button', { name: 'Rollback' }).click();
      await page.getByRole('dialog').getByRole('button', { name: 'Yes, rollback' }).click();
      const refusal = page.locator('.refusal');
      await refusal.waitFor(WAIT);
      expect(await refusal.textContent()).toContain(`${bucket} was changed after this fix`);
      expect(await refusal.locator('table').textContent()).toContain('aws:kms');
      expect((await api('GET', `/actions/${target.id}`)).action.status).toBe('completed');
      expect(await axeViolations(page)).toEqual([]);

      // A viewer reads the refusal but gets no button.
      const viewer = await signIn('victor');
      await viewer.goto(`${server.apiUrl}/actions/${target.id}`);
      await viewer.locator('.refusal').waitFor(WAIT);
      expect(await viewer.getByRole('button', { name: 'Roll back anyway' }).count()).toBe(0);
      await viewer.context().close();

      await page.getByRole('button', { name: 'Roll back anyway' }).click();
      const dialog = page.getByRole('dialog');
      expect(await dialog.textContent()).toContain(bucket);
      // No reason, no rollback: the dialog stays and says why.
      await dialog.getByRole('button', { name: 'Yes, roll back anyway' }).click();
      expect(await dialog.textContent()).toContain('needs a comment');
      expect((await api('GET', `/actions/${target.id}`)).action.requestedOp).toBeNull();
      await dialog.getByLabel('Why overwrite the change').fill('CHG-9 team key was a mistake');
      await dialog.getByRole('button', { name: 'Yes, roll back anyway' }).click();
      await page.locator('.facts .status-rolled_back').waitFor({ timeout: 30_000 });

      const { events } = (await api('GET', `/actions/${target.id}`)) as {
        events: { type: string; actor: string; comment: string | null; data: any }[];
      };
      const request = events.findLast((e) => e.type === 'request');
      expect(request).toMatchObject({
        actor: 'user:alice',
        comment: 'CHG-9 team key was a mistake',
        data: { request: 'rollback', force: true },
      });
      const done = events.findLast((e) => e.type === 'transition' && e.data?.forced);
      expect(JSON.stringify(done?.data.overwritten)).toContain('aws:kms');
      const now = await encryptionOf({ s3 }, bucket);
      expect(JSON.stringify(now ?? null)).not.toContain('aws:kms');
      s3.destroy();
      await page.context().close();
    },
    FLOW,
  );

  it(
    'lets an admin dismiss a finding with a reason and reopen it; a viewer only reads',
    async () => {
      const { items } = (await api('GET', '/findings?status=open&limit=200')) as {
        items: { id: string; title: string }[];
      };
      const finding = items.at(-1)!;
      expect(finding).toBeDefined();
      const path = `/findings/${encodeURIComponent(finding.id)}`;

      const viewer = await signIn('victor');
      await viewer.goto(`${server.apiUrl}${path}`);
      await viewer.getByRole('group', { name: 'Decision on this finding' }).waitFor();
      expect(await viewer.getByRole('button', { name: 'Dismiss' }).count()).toBe(0);
      await viewer.context().close();

      const page = await signIn('alice');
      await page.goto(`${server.apiUrl}${path}`);
      const decision = page.getByRole('group', { name: 'Decision on this finding' });
      await decision.getByRole('button', { name: 'Dismiss' }).click();
      expect(await decision.getByRole('alert').textContent()).toContain('needs one');
      expect((await api('GET', path)).finding.status).toBe('open');

      await decision.getByLabel('Reason for dismissing').fill('accepted risk, RISK-12');
      await decision.getByRole('button', { name: 'Dismiss' }).click();
      await decision.getByRole('button', { name: 'Reopen' }).waitFor(WAIT);
      expect(await decision.textContent()).toContain('accepted risk, RISK-12');
      const dismissed = (await api('GET', path)).finding;
      expect(dismissed).toMatchObject({
        status: 'dismissed',
        dismissedBy: 'user:alice',
        dismissedReason: 'accepted risk, RISK-12',
      });
      expect(await axeViolations(page)).toEqual([]);

      await decision.getByRole('button', { name: 'Reopen' }).click();
      await decision.getByRole('button', { name: 'Dismiss' }).waitFor(WAIT);
      expect((await api('GET', path)).finding.status).toBe('open');
      await page.context().close();
    },
    FLOW,
  );
});
