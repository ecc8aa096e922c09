import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PutBucketVersioningCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAccountClients } from '../src/cloud/accounts.ts';
import { createScanner, type Scanner } from '../src/inventory/scan.ts';
import type { DiscoveredResource } from '../src/inventory/types.ts';
import { type Sandbox, startSandbox } from '../src/sandbox/server.ts';
import { writeStateFile } from '../src/sandbox/state-file.ts';
import type { BucketState } from '../src/sandbox/types.ts';
import { cloudOf } from './helpers/accounts.ts';
import { type ApiHarness, startApi } from './helpers/api.ts';
import { cli } from './helpers/cli.ts';
import { versionedBucket } from './helpers/resources.ts';
import { ACCOUNT, REGION, silentLog } from './helpers/world.ts';

const bucket = versionedBucket;

/** Records resources in the inventory as a scan would, without reading the cloud. */
async function inventory(api: ApiHarness, resources: DiscoveredResource[]) {
  const now = new Date();
  const run = await api.store.startScan({ trigger: 'cli', actor: 'test', now, units: [] });
  await api.store.updateInventory({
    scanId: run!.id,
    startedAt: run!.startedAt,
    now,
    resources: resources.map((resource) => ({ scope: 'test', resource })),
    completeScopes: [],
  } as never);
  // One scan runs at a time: finish this one so the next recording can start its own.
  await api.store.finishScan(run!.id, { status: 'completed', now, summary: null });
}

const sandboxBucket = (versioning: 'Enabled' | null): BucketState => ({
  createdAt: '2024-01-01T00:00:00.000Z',
  encryption: null,
  publicAccessBlock: null,
  versioning,
  tags: { env: 'prod' },
});

describe('baselines and check settings over HTTP and the CLI', () => {
  let dir: string;
  let sandbox: Sandbox;
  let scanner: Scanner;
  let s3: S3Client;
  let destroy: () => void;
  let api: ApiHarness;
  let env: Record<string, string>;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'infraudit-drift-api-'));
    const statePath = join(dir, 'state.json');
    await writeStateFile(statePath, {
      version: 1,
      defaultAccount: ACCOUNT,
      accounts: {
        [ACCOUNT]: {
          regions: {
            [REGION]: {
              s3: { buckets: { alpha: sandboxBucket('Enabled'), beta: sandboxBucket('Enabled') } },
            },
          },
        },
      },
    });
    sandbox = await startSandbox({ statePath });
    const cloud = cloudOf(sandbox);
    const clients = createAccountClients(cloud, null);
    s3 = new S3Client({ region: REGION, ...cloud });
    destroy = () => {
      clients.destroy();
      s3.destroy();
    };
    api = await startApi({
      scanner: (store) =>
        (scanner = createScanner({
          store,
          clients,
          accounts: null,
          defaultRegion: REGION,
          defaultKubeContext: false,
          log: silentLog,
        })),
    });
    env = { INFRAUDIT_URL: api.url, INFRAUDIT_TOKEN: api.tokens.admin };
    // The scan records the inventory, and a first baseline of each resource it finds.
    expect((await scanner.run({ trigger: 'cli', actor: 'test' })).status).toBe('completed');
  });
  afterAll(async () => {
    await scanner?.idle();
    await api?.close();
    destroy?.();
    await sandbox?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('creates baselines of named resources, lists and shows them', async () => {
    const created = await api.call('POST', '/api/v1/baselines', {
      body: { resourceIds: ['arn:aws:s3:::alpha'] },
    });
    expect(created.status).toBe(201);
    const scanned = await api.store.getResource('arn:aws:s3:::alpha');
    expect(created.body.baselines).toMatchObject([
      {
        resourceId: 'arn:aws:s3:::alpha',
        version: 2,
        reason: 'captured',
        active: true,
        capturedBy: 'token:admin-test',
        config: scanned?.config,
        tags: { env: 'prod' },
      },
    ]);
    expect(created.body.source).toBe('live');
    const listed = await api.call('GET', '/api/v1/baselines?type=AwsS3Bucket', { as: 'viewer' });
    expect(listed.status).toBe(200);
    expect(listed.body.total).toBe(2);
    const shown = await api.call('GET', `/api/v1/baselines/${created.body.baselines[0].id}`, {
      as: 'viewer',
    });
    expect(shown.body).toEqual(created.body.baselines[0]);
  });

  it('captures every resource with all, and promotes one after a change', async () => {
    const all = await api.call('POST', '/api/v1/baselines', { body: { all: true } });
    expect(all.status).toBe(201);
    expect(
      all.body.baselines
        .filter((b: any) => b.type === 'AwsS3Bucket')
        .map((b: any) => [b.name, b.version]),
    ).toEqual([
      ['alpha', 3],
      ['beta', 2],
    ]);
    // Changed in the cloud after the last scan: the promotion reads it live.
    await s3.send(
      new PutBucketVersioningCommand({
        Bucket: 'alpha',
        VersioningConfiguration: { Status: 'Suspended' },
      }),
    );
    const promoted = await api.call('POST', '/api/v1/baselines/promote', {
      body: { resourceId: 'arn:aws:s3:::alpha' },
    });
    expect(promoted.status).toBe(200);
    expect(promoted.body.baselines[0]).toMatchObject({ version: 4, reason: 'promoted' });
    expect(promoted.body.baselines[0].config.versioning.status).toBe('Suspended');
    const history = await api.call(
      'GET',
      `/api/v1/baselines?resourceId=${encodeURIComponent('arn:aws:s3:::alpha')}&allVersions=true`,
    );
    expect(history.body.items.map((b: any) => [b.version, b.active])).toEqual([
      [4, true],
      [3, false],
      [2, false],
      [1, false],
    ]);
  });

  it('refuses bad requests, unknown resources and viewers, and changes nothing', async () => {
    const before = (await api.call('GET', '/api/v1/baselines?allVersions=true')).body;
    const refusals: [string, string, unknown, string | undefined, number][] = [
      ['POST', '/api/v1/baselines', {}, undefined, 400],
      ['POST', '/api/v1/baselines', { all: true, resourceIds: ['x'] }, undefined, 400],
      ['POST', '/api/v1/baselines', { resourceIds: ['arn:aws:s3:::nope'] }, undefined, 404],
      [
        'POST',
        '/api/v1/baselines',
        { resourceIds: ['arn:aws:s3:::alpha'], extra: 1 },
        undefined,
        400,
      ],
      ['POST', '/api/v1/baselines/promote', { resourceId: 'arn:aws:s3:::nope' }, undefined, 404],
      ['POST', '/api/v1/baselines/promote', {}, undefined, 400],
      ['POST', '/api/v1/baselines', { all: true }, 'viewer', 403],
      ['POST', '/api/v1/baselines/promote', { resourceId: 'arn:aws:s3:::alpha' }, 'operator', 403],
    ];
    for (const [method, route, body, as, status] of refusals) {
      const answer = await api.call(method, route, { body, as: (as ?? 'admin') as never });
      expect([route, body, answer.status]).toEqual([route, body, status]);
      expect(answer.body.error.message).toBeTruthy();
    }
    expect((await api.call('GET', '/api/v1/baselines?bogus=1')).status).toBe(400);
    expect((await api.call('GET', '/api/v1/baselines/no-such-id')).status).toBe(404);
    expect((await api.call('GET', '/api/v1/baselines?allVersions=true')).body).toEqual(before);
  });

  it('promoting a resource that has no baseline is refused', async () => {
    // Recorded without a scan, so it has no baseline yet: refused before any cloud read.
    await inventory(api, [bucket('gamma', 'Enabled')]);
    const answer = await api.call('POST', '/api/v1/baselines/promote', {
      body: { resourceId: 'arn:aws:s3:::gamma' },
    });
    expect(answer.status).toBe(404);
    expect(answer.body.error.message).toContain('baseline create');
  });

  it('reads and changes the check settings, refusing bad values whole', async () => {
    const read = await api.call('GET', '/api/v1/settings/checks', { as: 'viewer' });
    expect(read.body).toMatchObject({ keyRotationDays: 90, keyUnusedDays: 90 });
    const changed = await api.call('PUT', '/api/v1/settings/checks', {
      body: { keyUnusedDays: 45, sensitivePorts: [22, 3389] },
    });
    expect(changed.status).toBe(200);
    expect(changed.body).toMatchObject({ keyUnusedDays: 45, sensitivePorts: [22, 3389] });
    for (const body of [{ keyUnusedDays: 0 }, { sensitivePorts: [22, 22] }, { nope: 1 }, {}]) {
      expect((await api.call('PUT', '/api/v1/settings/checks', { body })).status).toBe(400);
    }
    expect(
      (
        await api.call('PUT', '/api/v1/settings/checks', {
          body: { keyUnusedDays: 5 },
          as: 'operator',
        })
      ).status,
    ).toBe(403);
    expect((await api.call('GET', '/api/v1/settings/checks')).body).toEqual(changed.body);
  });

  it('drives the same through the CLI', async () => {
    const created = await cli(['baseline', 'create', 'arn:aws:s3:::beta'], env);
    expect(created.code).toBe(0);
    expect(created.stdout).toContain('arn:aws:s3:::beta');
    const listed = await cli(
      ['-o', 'json', 'baseline', 'list', '--resource', 'arn:aws:s3:::beta', '--all-versions'],
      env,
    );
    expect(listed.code).toBe(0);
    expect(JSON.parse(listed.stdout).items.map((b: any) => b.version)).toEqual([3, 2, 1]);
    const id = JSON.parse(listed.stdout).items[0].id;
    const shown = await cli(['baseline', 'show', id], env);
    expect(shown.stdout).toContain('"versioning"');
    const promoted = await cli(['baseline', 'promote', 'arn:aws:s3:::beta'], env);
    expect(promoted.code).toBe(0);
    expect(promoted.stdout).toContain('promoted');

    const neither = await cli(['baseline', 'create'], env);
    expect(neither.code).not.toBe(0);
    expect(neither.stderr).toContain('--all');
    const unknown = await cli(['baseline', 'promote', 'arn:aws:s3:::nope'], env);
    expect(unknown.code).not.toBe(0);
    expect(unknown.stderr).toContain('nope');

    const set = await cli(
      ['settings', 'checks', 'set', '--key-rotation-days', '30', '--sensitive-ports', '22,5432'],
      env,
    );
    expect(set.code).toBe(0);
    const got = await cli(['-o', 'json', 'settings', 'checks', 'get'], env);
    expect(JSON.parse(got.stdout)).toMatchObject({
      keyRotationDays: 30,
      sensitivePorts: [22, 5432],
    });
    const bad = await cli(['settings', 'checks', 'set', '--key-rotation-days', '0'], env);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain('1 to');
    const none = await cli(['settings', 'checks', 'set'], env);
    expect(none.code).not.toBe(0);
    expect((await api.store.getCheckSettings()).keyRotationDays).toBe(30);
  });
});
