import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SANDBOX_STATE_FILE } from '../src/cli/server.ts';
import type { Action, ActionSummary } from '../src/domain/action.ts';
import type { StateDocument } from '../src/sandbox/index.ts';
import { cliProcess } from './helpers/cli.ts';
import { daysAgo } from './helpers/iam.ts';
import { startServe, type ServeProcess } from './helpers/serve.ts';

const ACCOUNT = '111122223333';

let dataDir: string;
let serve: ServeProcess;
let env: Record<string, string>;
const secrets: string[] = [];

beforeAll(async () => {
  dataDir = await mkdtemp(path.join(tmpdir(), 'infraudit-secret-cli-'));
  serve = await startServe(['--demo', '--data', dataDir, '--port', '0'], {
    INFRAUDIT_LOG_LEVEL: 'debug',
  });
  env = { INFRAUDIT_URL: serve.endpoints.api!, INFRAUDIT_DATA: dataDir };
}, 60_000);

afterAll(async () => {
  if (serve && serve.child.exitCode === null) await serve.stop();
  await rm(dataDir, { recursive: true, force: true });
});

async function run(args: string[], expectCode = 0) {
  const res = await cliProcess(args, env);
  expect(res.code, `infraudit ${args.join(' ')}\n${res.stderr}`).toBe(expectCode);
  return res;
}

async function sandboxState(): Promise<StateDocument> {
  return (
    await fetch(`${serve.endpoints.sandbox}/_sandbox/state`)
  ).json() as Promise<StateDocument>;
}

type IamState = {
  users: Record<
    string,
    { accessKeys: { accessKeyId: string; secretAccessKey: string; status: string }[] }
  >;
};
const iamOf = (doc: StateDocument) => doc.accounts[ACCOUNT]!.iam as IamState;

async function plannedAction(match: (a: ActionSummary) => boolean): Promise<Action> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const page = JSON.parse(
      (await run(['remediation', 'list', '--limit', '500', '-o', 'json'])).stdout,
    );
    const item = (page.items as ActionSummary[]).find(match);
    if (item) {
      const { action } = JSON.parse(
        (await run(['remediation', 'show', item.id, '-o', 'json'])).stdout,
      );
      if (action.plannedAt) return action as Action;
    }
    if (Date.now() > deadline) throw new Error('the action was never planned');
    await new Promise((r) => setTimeout(r, 200));
  }
}

const rotationOf = (user: string) => (a: ActionSummary) =>
  a.type === 'iam.rotate-access-key' && a.resource.name === user;

describe('key rotation from the CLI against serve --demo', () => {
  it('shows the refusals the demo was seeded with, before approval', async () => {
    const pipeline = await plannedAction(rotationOf('data-pipeline'));
    expect(pipeline.plan.refusal).toMatch(/IAM user data-pipeline has two active access keys/);
    const root = await plannedAction(rotationOf('<root_account>'));
    expect(root.plan.refusal).toMatch(/root user keys cannot be rotated/);
    expect(pipeline.plan.calls).toEqual([]);
  }, 120_000);

  it('refuses a rotation without --wait, then writes the secret to a 0600 file', async () => {
    const action = await plannedAction(rotationOf('deploy-bot'));
    expect(action.plan.calls.map((c) => c.operation)).toEqual([
      'CreateAccessKey',
      'UpdateAccessKey',
    ]);
    await run(['remediation', 'approve', action.id]);

    const refused = await run(['remediation', 'execute', action.id], 2);
    expect(refused.stderr).toMatch(
      /only the invocation that requested the execution can collect; nothing was queued/,
    );
    expect(refused.stderr).toMatch(/--wait/);
    const still = JSON.parse((await run(['remediation', 'show', action.id, '-o', 'json'])).stdout);
    expect(still.action).toMatchObject({ status: 'approved', requestedOp: null });

    const file = path.join(dataDir, 'deploy-bot.secret');
    const done = await run(['remediation', 'execute', action.id, '--wait', '--secret-file', file]);
    expect(done.stdout).toMatch(/completed/);
    expect(done.stderr).toMatch(
      /SecretAccessKey for deploy-bot\/AKIA[A-Z2-7]{16} was written to .* \(mode 0600\)/,
    );
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    const written = (await readFile(file, 'utf8')).trim();

    const keys = iamOf(await sandboxState()).users['deploy-bot']!.accessKeys;
    const created = keys.find((k) => k.accessKeyId !== 'AKIADEMODEPLOYBOT001')!;
    expect(keys.find((k) => k.accessKeyId === 'AKIADEMODEPLOYBOT001')?.status).toBe('Inactive');
    expect(written).toBe(created.secretAccessKey);
    expect(done.stdout).not.toContain(written);
    secrets.push(written);

    const existing = await run(
      ['remediation', 'execute', action.id, '--wait', '--secret-file', file],
      2,
    );
    expect(existing.stderr).toMatch(/already exists; name a new file/);
  }, 120_000);

  it('prints the secret once on stdout, clearly labelled, without --secret-file', async () => {
    const doc = await sandboxState();
    iamOf(doc).users['ci-runner'] = {
      userId: 'AIDATESTCIRUNNER00001',
      path: '/',
      createDate: daysAgo(300),
      accessKeys: [
        { accessKeyId: 'AKIATESTCIRUNNER0001', status: 'Active', createDate: daysAgo(200) },
      ],
    } as unknown as IamState['users'][string];
    const put = await fetch(`${serve.endpoints.sandbox}/_sandbox/state`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(doc),
    });
    expect(put.status).toBe(204);
    await run([
      'remediation',
      'suggest',
      '--type',
      'iam.rotate-access-key',
      '--resource-id',
      `arn:aws:iam::${ACCOUNT}:user/ci-runner`,
      '--resource-type',
      'AwsIamUser',
    ]);
    const action = await plannedAction(rotationOf('ci-runner'));
    await run(['remediation', 'approve', action.id]);
    const done = await run(['remediation', 'execute', action.id, '--wait']);

    const created = iamOf(await sandboxState()).users['ci-runner']!.accessKeys.find(
      (k) => k.accessKeyId !== 'AKIATESTCIRUNNER0001',
    )!;
    expect(done.stdout).toContain(
      `SecretAccessKey for ci-runner/${created.accessKeyId}:\n  ${created.secretAccessKey}\n`,
    );
    expect(done.stdout).toMatch(/Shown once and stored nowhere by InfraAudit: keep it now/);
    expect(done.stdout.split(created.secretAccessKey)).toHaveLength(2);
    secrets.push(created.secretAccessKey);

    const after = JSON.parse((await run(['remediation', 'show', action.id, '-o', 'json'])).stdout);
    expect(after.action.sealedSecret).toBeNull();
  }, 120_000);

  it('keeps no secret in the database or the server log', async () => {
    expect(secrets).toHaveLength(2);
    expect(await serve.stop()).toBe(0);
    const files = await readdir(dataDir);
    const stored = (
      await Promise.all(
        files
          // The sandbox cloud's own state keeps what it issued, as IAM does; the written
          // secret file is the person's copy.
          .filter((f) => f !== SANDBOX_STATE_FILE && !f.endsWith('.secret'))
          .map((f) => readFile(path.join(dataDir, f)).then((b) => b.toString('latin1'))),
      )
    ).join('\n');
    expect(stored.length).toBeGreaterThan(0);
    for (const secret of secrets) {
      expect(stored).not.toContain(secret);
      expect(serve.stderr()).not.toContain(secret);
    }
  }, 60_000);
});
