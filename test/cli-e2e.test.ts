import { readFile, rm, stat, writeFile, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CreateBucketCommand, GetBucketEncryptionCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliProcess } from './helpers/cli.ts';
import { ENCRYPTION_CHECK, prowlerFile } from './helpers/findings.ts';
import { startCommand, startServe, type ServeProcess } from './helpers/serve.ts';

const BUCKET = 'quarterly-reports-e2e';

let dataDir: string;
let serve: ServeProcess;
let s3: S3Client;
let env: Record<string, string>;

beforeAll(async () => {
  dataDir = await mkdtemp(path.join(tmpdir(), 'infraudit-e2e-'));
  serve = await startServe(['--demo', '--data', dataDir, '--port', '0']);
  env = { INFRAUDIT_URL: serve.endpoints.api!, INFRAUDIT_DATA: dataDir };
  s3 = new S3Client({
    region: 'us-east-1',
    endpoint: serve.endpoints.sandbox!,
    forcePathStyle: true,
    credentials: { accessKeyId: 'AKIAE2ETEST', secretAccessKey: 'e2e-secret' },
  });
}, 60_000);

afterAll(async () => {
  s3?.destroy();
  if (serve && serve.child.exitCode === null) await serve.stop();
  await rm(dataDir, { recursive: true, force: true });
});

async function encryption(bucket: string) {
  try {
    const out = await s3.send(new GetBucketEncryptionCommand({ Bucket: bucket }));
    return out.ServerSideEncryptionConfiguration ?? null;
  } catch (error) {
    if ((error as Error).name === 'ServerSideEncryptionConfigurationNotFoundError') return null;
    throw error;
  }
}

async function run(args: string[]) {
  const res = await cliProcess(args, env);
  expect(res.code, `infraudit ${args.join(' ')}\n${res.stderr}`).toBe(0);
  return res;
}

describe('infraudit serve --demo, driven by the CLI', () => {
  it('prints its endpoints and keeps the admin token in a private file', async () => {
    expect(serve.endpoints.api).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(serve.endpoints.sandbox).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const tokenFile = serve.endpoints['admin token']!;
    expect(tokenFile).toBe(path.join(dataDir, 'admin-token'));
    expect((await stat(tokenFile)).mode & 0o777).toBe(0o600);
    const token = (await readFile(tokenFile, 'utf8')).trim();
    expect(token.length).toBeGreaterThan(20);
    expect(serve.stderr()).not.toContain(token);

    const demo = JSON.parse((await run(['-o', 'json', 'remediation', 'list'])).stdout);
    const names = demo.items.map((a: { resource: { name: string } }) => a.resource.name);
    expect(names).toContain('finance-exports');
  }, 30_000);

  it('imports, approves, executes, verifies in the cloud and rolls back', async () => {
    await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
    expect(await encryption(BUCKET)).toBeNull();

    const file = path.join(dataDir, 'scan.ocsf.json');
    await writeFile(
      file,
      prowlerFile([
        { check: ENCRYPTION_CHECK, bucket: BUCKET, severity: 'High' },
        { check: ENCRYPTION_CHECK, bucket: 'app-config-prod', status: 'PASS' },
      ]),
    );
    const imported = JSON.parse((await run(['-o', 'json', 'findings', 'import', file])).stdout);
    expect(imported.counts).toMatchObject({ total: 2, failed: 1, passed: 1, created: 1 });

    const listed = await run(['-o', 'json', 'remediation', 'list', '--search', BUCKET]);
    const [action] = JSON.parse(listed.stdout).items;
    expect(action).toMatchObject({
      type: 's3.enable-default-encryption',
      status: 'pending_approval',
      severity: 'high',
      resource: { id: `arn:aws:s3:::${BUCKET}` },
      source: { kind: expect.any(String) },
    });

    await run(['remediation', 'approve', action.id, '--comment', 'owner agreed']);
    const executed = await run(['remediation', 'execute', action.id, '--wait', '--timeout', '60']);
    expect(executed.stdout).toContain(`action ${action.id}: completed`);
    expect(executed.stderr).toContain(': completed');

    const applied = await encryption(BUCKET);
    expect(applied?.Rules?.[0]?.ApplyServerSideEncryptionByDefault?.SSEAlgorithm).toBeTruthy();

    const shown = await run(['remediation', 'show', action.id]);
    expect(shown.stdout).toContain('status:         completed');
    expect(shown.stdout).toContain('Snapshot');
    expect(shown.stdout).toContain('rollback until:');

    const rolled = await run(['remediation', 'rollback', action.id, '--wait', '--timeout', '60']);
    expect(rolled.stdout).toContain(`action ${action.id}: rolled_back`);
    expect(await encryption(BUCKET)).toBeNull();

    const again = await cliProcess(['remediation', 'rollback', action.id], env);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/^error: cannot rollback an action that is rolled_back/);
  }, 180_000);

  it('execute --wait exits 1 when the cloud refuses, and retry --wait then completes', async () => {
    const sandbox = serve.endpoints.sandbox!;
    const listed = await run(['-o', 'json', 'remediation', 'list', '--search', 'finance-exports']);
    const action = JSON.parse(listed.stdout).items.find(
      (a: { type: string }) => a.type === 's3.enable-default-encryption',
    );
    expect(await encryption('finance-exports')).toBeNull();

    const fault = await fetch(`${sandbox}/_sandbox/faults`, {
      method: 'POST',
      body: JSON.stringify({
        service: 's3',
        operation: 'PutBucketEncryption',
        kind: 'error',
        probability: 1,
      }),
    });
    expect(fault.status).toBe(201);
    await run(['remediation', 'approve', action.id]);
    const failed = await cliProcess(
      ['remediation', 'execute', action.id, '--wait', '--timeout', '120'],
      env,
    );
    expect(failed.code).toBe(1);
    expect(failed.stderr).toContain(`error: action ${action.id} ended failed, not completed`);
    expect(await encryption('finance-exports')).toBeNull();

    expect((await fetch(`${sandbox}/_sandbox/faults`, { method: 'DELETE' })).status).toBe(204);
    const retried = await run(['remediation', 'retry', action.id, '--wait', '--timeout', '120']);
    expect(retried.stdout).toContain(`action ${action.id}: completed`);
    expect(await encryption('finance-exports')).not.toBeNull();
  }, 300_000);

  it('shuts down cleanly on SIGTERM and keeps the demo cloud state', async () => {
    expect(await serve.stop()).toBe(0);
    const saved = JSON.parse(await readFile(path.join(dataDir, 'sandbox-state.json'), 'utf8'));
    expect(JSON.stringify(saved)).toContain(BUCKET);
  }, 60_000);
});

describe('infraudit sandbox', () => {
  it('serves the S3 protocol and saves its state on exit', async () => {
    const stateFile = path.join(await mkdtemp(path.join(tmpdir(), 'infraudit-sandbox-')), 's.json');
    const sandbox = await startCommand(
      ['sandbox', '--port', '0', '--seed', 'empty', '--state', stateFile],
      'sandbox',
    );
    const client = new S3Client({
      region: 'us-east-1',
      endpoint: sandbox.endpoints.sandbox!,
      forcePathStyle: true,
      credentials: { accessKeyId: 'AKIAE2ETEST', secretAccessKey: 'e2e-secret' },
    });
    try {
      await client.send(new CreateBucketCommand({ Bucket: 'saved-on-exit' }));
    } finally {
      client.destroy();
    }
    expect(await sandbox.stop()).toBe(0);
    const saved = JSON.parse(await readFile(stateFile, 'utf8'));
    expect(JSON.stringify(saved.accounts)).toContain('saved-on-exit');
    await rm(path.dirname(stateFile), { recursive: true, force: true });
  }, 60_000);
});
