import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAccountClients } from '../src/cloud/accounts.ts';
import { AppError } from '../src/domain/errors.ts';
import { openStore } from '../src/store/connect.ts';
import { createScanner, type Scanner } from '../src/inventory/scan.ts';
import { writeSandboxKubeconfig } from '../src/sandbox/k8s/kubeconfig.ts';
import { type Sandbox, startSandbox } from '../src/sandbox/server.ts';
import { cloudOf } from './helpers/accounts.ts';
import { type ApiHarness, startApi } from './helpers/api.ts';
import { cli, cliProcess } from './helpers/cli.ts';
import { startServe } from './helpers/serve.ts';
import { createTestDatabase, ENGINES, type TestDatabase } from './helpers/databases.ts';
import { sandboxScan } from './helpers/demo-scan.ts';
import { ACCOUNT, REGION, silentLog } from './helpers/world.ts';

const BUCKET_ARN = 'arn:aws:s3:::finance-exports';

/** Polls GET /scans/{id} until the scan is no longer running; returns what it saw. */
async function follow(api: ApiHarness, id: string) {
  const seen: string[] = [];
  for (let i = 0; i < 600; i++) {
    const res = await api.call('GET', `/api/v1/scans/${id}`, { as: 'viewer' });
    expect(res.status).toBe(200);
    seen.push(res.body.status);
    if (res.body.status !== 'running') return { run: res.body, seen };
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`scan ${id} did not finish`);
}

for (const engine of ENGINES) {
  describe(`scans and resources over the API (${engine})`, () => {
    let dir: string;
    let sandbox: Sandbox;
    let database: TestDatabase;
    let api: ApiHarness;
    let scanner: Scanner;
    let destroy: () => void;

    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), 'infraudit-scan-api-'));
      sandbox = await startSandbox({ seed: 'demo' });
      database = await createTestDatabase(engine);
      const kubeconfig = await writeSandboxKubeconfig(join(dir, 'kubeconfig'), sandbox.url);
      const clients = createAccountClients(cloudOf(sandbox, kubeconfig), null);
      destroy = () => clients.destroy();
      api = await startApi({
        database,
        scanner: (store) =>
          (scanner = createScanner({
            store,
            clients,
            accounts: null,
            defaultRegion: REGION,
            defaultKubeContext: true,
            log: silentLog,
          })),
      });
    });

    afterAll(async () => {
      await scanner?.idle();
      await api?.close();
      destroy?.();
      await database?.drop();
      await sandbox?.close();
      await rm(dir, { recursive: true, force: true });
    });

    let scanId: string;

    it('starts a scan, answers at once and shows its progress to the end', async () => {
      const started = await api.call('POST', '/api/v1/scans', {
        as: 'operator',
        body: { trigger: 'cli' },
      });
      expect(started.status).toBe(202);
      expect(started.body).toMatchObject({ trigger: 'cli', actor: 'token:operator-test' });
      expect(started.body.units.map((u: { service: string }) => u.service).sort()).toEqual([
        'ec2',
        'iam',
        'kubernetes',
        'rds',
        's3',
      ]);
      scanId = started.body.id;
      const { run } = await follow(api, scanId);
      expect(run.status).toBe('completed');
      expect(run.units.every((u: { status: string }) => u.status === 'complete')).toBe(true);
      expect(run.summary.resources).toBeGreaterThan(40);
      expect(run.summary.couldNotRead).toEqual([]);
      expect(run.summary.findings.opened).toBeGreaterThan(0);
    });

    it('lists scans and resources, with filters and pages', async () => {
      const scans = await api.call('GET', '/api/v1/scans', { as: 'viewer' });
      expect(scans.body.items.map((r: { id: string }) => r.id)).toEqual([scanId]);

      const buckets = await api.call(
        'GET',
        `/api/v1/resources?provider=aws&type=AwsS3Bucket&account=${ACCOUNT}&limit=3`,
        { as: 'viewer' },
      );
      expect(buckets.status).toBe(200);
      expect(buckets.body.items).toHaveLength(3);
      expect(buckets.body.items[0].config).toBeUndefined();
      const rest = await api.call(
        'GET',
        `/api/v1/resources?type=AwsS3Bucket&limit=10&cursor=${encodeURIComponent(buckets.body.nextCursor)}`,
        { as: 'viewer' },
      );
      expect(rest.body.items).toHaveLength(5);
      expect(rest.body.nextCursor).toBeNull();

      const k8s = await api.call('GET', '/api/v1/resources?provider=kubernetes&q=checkout', {
        as: 'viewer',
      });
      expect(k8s.body.items.map((r: { id: string }) => r.id)).toEqual([
        'k8s://default/shop/Deployment/checkout',
      ]);
    });

    it('shows one resource with its configuration, findings and actions', async () => {
      for (const path of [encodeURIComponent(BUCKET_ARN), BUCKET_ARN]) {
        const res = await api.call('GET', `/api/v1/resources/${path}`, { as: 'viewer' });
        expect(res.status).toBe(200);
        expect(res.body.resource).toMatchObject({
          id: BUCKET_ARN,
          type: 'AwsS3Bucket',
          config: { name: 'finance-exports', encryption: null },
          lastScanId: scanId,
        });
        expect(res.body.findings.length).toBeGreaterThan(0);
        expect(res.body.findings.every((f: any) => f.resource.id === BUCKET_ARN)).toBe(true);
        expect(Array.isArray(res.body.actions)).toBe(true);
      }
      const ns = await api.call(
        'GET',
        `/api/v1/resources/${encodeURIComponent('k8s://default//Namespace/shop')}`,
        { as: 'viewer' },
      );
      expect(ns.body.resource.config.labels).toBeTypeOf('object');
    });

    it('refuses bad requests clearly and changes nothing', async () => {
      const cases: [string, string, object, number, string][] = [
        ['GET', '/api/v1/resources/arn:aws:s3:::nope', {}, 404, 'no resource with id'],
        ['GET', '/api/v1/resources?color=red', {}, 400, 'color'],
        ['GET', '/api/v1/resources?limit=0', {}, 400, 'limit'],
        ['GET', '/api/v1/resources?cursor=forged.x', {}, 400, 'cursor'],
        ['GET', '/api/v1/scans/nope', {}, 404, 'no scan with id'],
        ['POST', '/api/v1/scans', { body: { trigger: 'scheduled' } }, 400, 'trigger'],
        ['POST', '/api/v1/scans', { body: { extra: 1 } }, 400, 'extra'],
        ['PUT', '/api/v1/settings/scan', { body: { intervalMinutes: -1 } }, 400, 'interval'],
        ['PUT', '/api/v1/settings/scan', { body: {} }, 400, 'no settings given'],
        ['PUT', '/api/v1/settings/scan', { body: { every: 5 } }, 400, 'every'],
      ];
      for (const [method, url, options, status, text] of cases) {
        const res = await api.call(method, url, { as: 'admin', ...options });
        expect({ url, status: res.status }).toEqual({ url, status });
        expect(res.body.error.message.toLowerCase()).toContain(text.toLowerCase());
      }
      const scans = await api.call('GET', '/api/v1/scans', { as: 'viewer' });
      expect(scans.body.items).toHaveLength(1);
      const settings = await api.call('GET', '/api/v1/settings/scan', { as: 'viewer' });
      expect(settings.body).toEqual({ intervalMinutes: 240 });
    });

    it('lets only operators scan and only admins change the schedule', async () => {
      expect((await api.call('POST', '/api/v1/scans', { as: 'viewer', body: {} })).status).toBe(
        403,
      );
      expect((await api.call('GET', '/api/v1/resources', { as: null })).status).toBe(401);
      const denied = await api.call('PUT', '/api/v1/settings/scan', {
        as: 'operator',
        body: { intervalMinutes: 30 },
      });
      expect(denied.status).toBe(403);
      const changed = await api.call('PUT', '/api/v1/settings/scan', {
        as: 'admin',
        body: { intervalMinutes: 0 },
      });
      expect(changed.body).toEqual({ intervalMinutes: 0 });
      const read = await api.call('GET', '/api/v1/settings/scan', { as: 'viewer' });
      expect(read.body).toEqual({ intervalMinutes: 0 });
    });

    // Three scans of the demo account, each paced by the default cloud call rate.
    it(
      'scans from the CLI, following progress on stderr and printing the summary',
      { timeout: 20_000 },
      async () => {
        const env = { INFRAUDIT_URL: api.url, INFRAUDIT_TOKEN: api.tokens.operator };
        const waited = await cli(['scan', '--wait'], env);
        expect(waited.code).toBe(0);
        expect(waited.stderr).toMatch(/scan \S+ started/);
        expect(waited.stderr).toContain(`aws ${ACCOUNT} ${REGION} ec2: complete, 12 resources`);
        expect(waited.stderr).toContain('kubernetes default: complete');
        expect(waited.stdout).toMatch(/scan \S+: completed \(cli, by token:operator-test\)/);
        expect(waited.stdout).toContain('0 new');
        expect(waited.stdout).not.toContain('could not read');

        sandbox.injectFault({ service: 'rds', operation: '*', kind: 'error', count: 100 });
        const partial = await cli(['scan', '--wait'], env);
        sandbox.clearFaults();
        expect(partial.code).toBe(0);
        expect(partial.stderr).toContain(
          `aws ${ACCOUNT} ${REGION} rds: incomplete, 0 resources, 1 could`,
        );
        expect(partial.stdout).toContain('could not read (1):');
        expect(partial.stdout).toContain(
          `aws ${ACCOUNT} ${REGION} rds DescribeDBInstances: InternalFailure:`,
        );

        const json = await cli(['scan', '--wait', '-o', 'json'], env);
        expect(json.code).toBe(0);
        const run = JSON.parse(json.stdout);
        expect(run).toMatchObject({ status: 'completed', trigger: 'cli' });

        const listed = await cli(['scans', 'list', '--limit', '2'], env);
        expect(listed.stdout).toContain(run.id);
        expect(listed.stdout).toContain('more: --cursor');
        const shown = await cli(['scans', 'show', run.id, '-o', 'json'], env);
        expect(JSON.parse(shown.stdout).id).toBe(run.id);

        const resources = await cli(
          ['resources', 'list', '--type', 'AwsS3Bucket', '--q', 'finance', '-o', 'json'],
          env,
        );
        expect(JSON.parse(resources.stdout).items.map((r: { id: string }) => r.id)).toEqual([
          BUCKET_ARN,
        ]);
        const withGone = await cli(
          ['resources', 'list', '--include-gone', '--type', 'AwsS3Bucket', '-o', 'json'],
          env,
        );
        expect(withGone.code).toBe(0);
        expect(JSON.parse(withGone.stdout).items).toHaveLength(8);
        const one = await cli(['resources', 'show', BUCKET_ARN], env);
        expect(one.code).toBe(0);
        expect(one.stdout).toContain('AwsS3Bucket finance-exports');
        expect(one.stdout).toContain('"encryption": null');
        const missing = await cli(['resources', 'show', 'arn:aws:s3:::nope'], env);
        expect(missing.code).toBe(1);
        expect(missing.stderr).toContain('no resource with id');

        const viewer = await cli(['scan'], { ...env, INFRAUDIT_TOKEN: api.tokens.viewer });
        expect(viewer.code).toBe(1);
        const tooLong = await cli(['settings', 'scan', 'set', '--interval', '99999'], {
          ...env,
          INFRAUDIT_TOKEN: api.tokens.admin,
        });
        expect(tooLong.code).toBe(2);
        const set = await cli(['settings', 'scan', 'set', '--interval', '60', '-o', 'json'], {
          ...env,
          INFRAUDIT_TOKEN: api.tokens.admin,
        });
        expect(JSON.parse(set.stdout)).toEqual({ intervalMinutes: 60 });
      },
    );

    it('runs one scan at a time across replicas; the CLI follows the running one', async () => {
      // Slow listing keeps the first scan running while the others ask.
      sandbox.injectFault({ service: 's3', operation: 'ListBuckets', kind: 'latency', ms: 3000 });
      // Another replica: its own store on the API's database.
      const otherStore = await openStore(
        database.url
          ? { dataDir: api.dataDir, databaseUrl: database.url }
          : { dataDir: api.dataDir },
      );
      const { clients: otherClients, scanner: replica } = await sandboxScan(
        sandbox,
        otherStore,
        dir,
        () => new Date(),
      );
      try {
        const before = (await api.call('GET', '/api/v1/scans?limit=500')).body.items.length;
        const posts = [1, 2, 3, 4, 5].map(() =>
          api.call('POST', '/api/v1/scans', { as: 'operator', body: {} }),
        );
        const direct = [1, 2].map(() =>
          replica.start({ trigger: 'manual', actor: 'token:replica' }).then(
            (run) => ({ run, error: null }),
            (error: unknown) => ({ run: null, error: error as AppError }),
          ),
        );
        const answers = await Promise.all(posts);
        const replicaAnswers = await Promise.all(direct);
        const started = [
          ...answers.filter((a) => a.status === 202).map((a) => a.body.id as string),
          ...replicaAnswers.flatMap((a) => (a.run ? [a.run.id] : [])),
        ];
        expect(started).toHaveLength(1);
        const id = started[0] as string;
        for (const refused of answers.filter((a) => a.status !== 202)) {
          expect(refused.status).toBe(409);
          expect(refused.body.error.code).toBe('conflict');
          expect(refused.body.error.message).toContain(`scan ${id} is already running`);
          expect(refused.body.error.details).toEqual({ scanId: id });
        }
        for (const refused of replicaAnswers.filter((a) => a.error)) {
          expect(refused.error).toBeInstanceOf(AppError);
          expect(refused.error?.details).toEqual({ scanId: id });
        }

        const env = { INFRAUDIT_URL: api.url, INFRAUDIT_TOKEN: api.tokens.operator };
        const plain = await cli(['scan'], env);
        expect(plain.code).toBe(1);
        expect(plain.stderr).toContain(`scan ${id} is already running`);
        const waited = await cli(['scan', '--wait', '-o', 'json'], env);
        expect(waited.code).toBe(0);
        expect(waited.stderr).toContain(`scan ${id} is already running; following it`);
        expect(JSON.parse(waited.stdout)).toMatchObject({ id, status: 'completed' });

        const after = (await api.call('GET', '/api/v1/scans?limit=500')).body.items;
        expect(after).toHaveLength(before + 1);
        sandbox.clearFaults();
        // Once it has ended, the next scan starts.
        const next = await api.call('POST', '/api/v1/scans', { as: 'operator', body: {} });
        expect(next.status).toBe(202);
        expect((await follow(api, next.body.id)).run.status).toBe('completed');
      } finally {
        sandbox.clearFaults();
        await scanner?.idle();
        otherClients.destroy();
        await otherStore.close();
      }
    }, 60_000);
  });
}

describe('a server without a cloud to scan', () => {
  it('refuses POST /scans as unsupported and records nothing', async () => {
    const api = await startApi();
    try {
      const res = await api.call('POST', '/api/v1/scans', { as: 'operator', body: {} });
      expect(res.status).toBe(422);
      expect(res.body.error).toMatchObject({ code: 'unsupported' });
      expect((await api.call('GET', '/api/v1/scans', { as: 'viewer' })).body.items).toEqual([]);
    } finally {
      await api.close();
    }
  });
});

describe('serve with an accounts file', () => {
  it('scans what the file lists, and refuses a bad file at start', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'infraudit-serve-accounts-'));
    try {
      const file = join(dir, 'accounts.yaml');
      await writeFile(
        file,
        `aws:\n  - id: "${ACCOUNT}"\n    regions: [${REGION}]\nkubernetes:\n  - contexts: [default]\n`,
      );
      const server = await startServe([
        '--demo',
        '--port',
        '0',
        '--data',
        join(dir, 'data'),
        '--accounts',
        file,
      ]);
      try {
        const env = {
          INFRAUDIT_URL: server.endpoints.api as string,
          INFRAUDIT_DATA: join(dir, 'data'),
        };
        const run = await cliProcess(['scan', '--wait', '-o', 'json'], env);
        expect(run.code).toBe(0);
        const scanned = JSON.parse(run.stdout);
        expect(scanned.status).toBe('completed');
        expect(
          scanned.units.map(
            (u: { account: string; service: string }) => `${u.account} ${u.service}`,
          ),
        ).toEqual([
          `${ACCOUNT} s3`,
          `${ACCOUNT} iam`,
          `${ACCOUNT} ec2`,
          `${ACCOUNT} rds`,
          'default kubernetes',
        ]);
      } finally {
        await server.stop();
      }

      await writeFile(file, 'aws:\n  - id: "123"\n    regions: [us-east-1]\n');
      const refused = await cliProcess([
        'serve',
        '--demo',
        '--port',
        '0',
        '--data',
        join(dir, 'data'),
        '--accounts',
        file,
      ]);
      expect(refused.code).not.toBe(0);
      expect(refused.stderr).toContain('aws[0].id must be a 12-digit account id');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 90_000);
});
