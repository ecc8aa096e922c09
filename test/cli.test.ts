import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildProgram } from '../src/cli/program.ts';
import { startApi, type ApiHarness } from './helpers/api.ts';
import { cli, cliProcess } from './helpers/cli.ts';
import { ENCRYPTION_CHECK, prowlerFile } from './helpers/findings.ts';

let api: ApiHarness;
let env: Record<string, string>;
let findingsFile: string;
let scratch: string;

beforeAll(async () => {
  api = await startApi();
  env = { INFRAUDIT_URL: api.url, INFRAUDIT_TOKEN: api.tokens.admin };
  scratch = await mkdtemp(path.join(tmpdir(), 'infraudit-cli-'));
  findingsFile = path.join(scratch, 'prowler.ocsf.json');
  await writeFile(
    findingsFile,
    prowlerFile([
      { check: ENCRYPTION_CHECK, bucket: 'cli-one', severity: 'High' },
      { check: ENCRYPTION_CHECK, bucket: 'cli-two' },
      { check: ENCRYPTION_CHECK, bucket: 'cli-three', status: 'PASS' },
    ]),
  );
});
afterAll(async () => {
  await api.close();
  await rm(scratch, { recursive: true, force: true });
});

async function actionIds(): Promise<string[]> {
  const args = ['remediation', 'list', '-o', 'json', '--sort', 'created', '--order', 'asc'];
  const res = await cli(args, env);
  expect(res.code).toBe(0);
  return JSON.parse(res.stdout).items.map((a: { id: string }) => a.id);
}

describe('infraudit CLI over the API', () => {
  it('imports findings and lists the actions as a table and as JSON', async () => {
    // Imported by the operator, so the admin may approve what it creates (four-eyes).
    const imported = await cli(['findings', 'import', findingsFile], {
      ...env,
      INFRAUDIT_TOKEN: api.tokens.operator,
    });
    expect(imported.stderr).toBe('');
    expect(imported.code).toBe(0);
    expect(imported.stdout).toContain('format: prowler-ocsf');
    expect(imported.stdout).toMatch(/FINDINGS\s+FAILED\s+PASSED/);
    expect(imported.stdout).toMatch(/\n3\s+2\s+1\s+/);

    const table = await cli(['remediation', 'list', '--severity', 'high'], env);
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/^ID\s+STATUS\s+SEVERITY\s+TYPE/);
    expect(table.stdout).toContain('cli-one');
    expect(table.stdout).not.toContain('cli-two');

    const json = await cli(['-o', 'json', 'remediation', 'list', '--search', 'cli-two'], env);
    const page = JSON.parse(json.stdout);
    expect(page.items).toHaveLength(1);
    const [action] = page.items;
    expect(action).toMatchObject({
      type: 's3.enable-default-encryption',
      status: 'pending_approval',
      severity: 'medium',
      resource: { id: 'arn:aws:s3:::cli-two' },
      source: { kind: expect.any(String) },
    });
    expect(typeof action.id).toBe('string');
  });

  it('pages with --limit and --cursor', async () => {
    const first = JSON.parse(
      (await cli(['remediation', 'list', '-o', 'json', '--limit', '1'], env)).stdout,
    );
    expect(first.items).toHaveLength(1);
    expect(first.nextCursor).toEqual(expect.any(String));
    const next = await cli(
      ['remediation', 'list', '--limit', '1', '--cursor', first.nextCursor],
      env,
    );
    expect(next.code).toBe(0);
    expect(next.stdout).not.toContain(first.items[0].id);
  });

  it('approves, comments, shows and rejects', async () => {
    const [one, two] = await actionIds();
    const approved = await cli(['remediation', 'approve', one!, '--comment', 'go'], env);
    expect(approved.code).toBe(0);
    expect(approved.stdout).toContain(`action ${one}: approved`);

    const noted = await cli(['remediation', 'comment', one!, 'owner agreed'], env);
    expect(noted.code).toBe(0);

    const shown = await cli(['remediation', 'show', one!], env);
    expect(shown.code).toBe(0);
    for (const part of ['Plan', 'before:', 'after:', 'reversibility:', 'warnings:', 'Timeline']) {
      expect(shown.stdout).toContain(part);
    }
    expect(shown.stdout).toContain('pending_approval -> approved  "go"');
    expect(shown.stdout).toContain('"owner agreed"');

    const rejected = await cli(['remediation', 'reject', two!, '--comment', 'not ours'], env);
    expect(rejected.stdout).toContain(`action ${two}: rejected`);
  });

  it('reports refusals as "error: <message>" with exit code 1', async () => {
    const [, two] = await actionIds();
    const res = await cli(['remediation', 'execute', two!], env);
    expect(res.code).toBe(1);
    expect(res.stdout).toBe('');
    expect(res.stderr).toBe(
      'error: cannot execute an action that is rejected; execute is allowed only from ' +
        'approved, suggested, failed\n',
    );

    const viewer = await cli(['remediation', 'approve', two!], {
      ...env,
      INFRAUDIT_TOKEN: api.tokens.viewer,
    });
    expect(viewer.code).toBe(1);
    expect(viewer.stderr).toMatch(/^error: this needs the admin role/);

    const closed = await cli(['remediation', 'list'], {
      INFRAUDIT_URL: 'http://127.0.0.1:1',
      INFRAUDIT_TOKEN: api.tokens.viewer,
    });
    expect(closed.code).toBe(1);
    expect(closed.stderr).toMatch(/^error: cannot reach the InfraAudit server at http:\S+:1 /);
  });

  it('exits 2 on usage errors', async () => {
    const cases = [
      ['remediation', 'list', '--colour', 'red'],
      ['remediation', 'reject', 'some-id'],
      ['settings', 'remediation', 'set', '--auto-execute', 'yes'],
      ['remediation', 'list', '--limit', '0'],
      ['tokens', 'create'],
      ['-o', 'yaml', 'remediation', 'list'],
      ['no-such-command'],
    ];
    for (const args of cases) {
      const res = await cli(args, env);
      expect(res.code, args.join(' ')).toBe(2);
      expect(res.stderr, args.join(' ')).toMatch(/^error: /);
    }
  });

  it('gives up waiting after --timeout when nothing runs the action', async () => {
    const [one] = await actionIds();
    const res = await cli(['remediation', 'execute', one!, '--wait', '--timeout', '1'], env);
    expect(res.code).toBe(1);
    expect(res.stderr).toContain(`action ${one}: approved (execute queued)`);
    expect(res.stderr).toMatch(/error: gave up waiting for action .* after 1 s/);
  });

  it('reads and changes the remediation settings', async () => {
    const set = await cli(
      ['settings', 'remediation', 'set', '--rollback-window', '45', '--auto-execute', 'true'],
      env,
    );
    expect(set.code).toBe(0);
    expect(set.stdout).toMatch(/rollbackWindowMinutes\s+45/);

    const refused = await cli(['settings', 'remediation', 'set', '--rollback-window', '121'], env);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('--rollback-window');

    const got = await cli(['-o', 'json', 'settings', 'remediation', 'get'], env);
    expect(JSON.parse(got.stdout)).toEqual({
      requireApproval: true,
      autoExecute: true,
      rollbackWindowMinutes: 45,
      allowSelfApproval: false,
      maxBulkActions: 50,
      maintenanceWindows: [],
    });
  });

  it('creates tokens over the API and straight in a data folder', async () => {
    const args = ['-o', 'json', 'tokens', 'create', '--role', 'viewer', '--name', 'dash'];
    const remote = await cli(args, env);
    expect(remote.code).toBe(0);
    const created = JSON.parse(remote.stdout);
    expect(created.info).toMatchObject({ role: 'viewer', name: 'dash' });
    const asViewer = await cli(['remediation', 'list'], { ...env, INFRAUDIT_TOKEN: created.token });
    expect(asViewer.code).toBe(0);

    const local = await cli(['tokens', 'create', '--role', 'operator', '--data', api.dataDir], {});
    expect(local.code).toBe(0);
    const token = /token: (\S+)/.exec(local.stdout)?.[1];
    expect(await api.store.findToken(token!)).toMatchObject({ role: 'operator' });
  });

  it('uses the admin-token file of the data folder when no token is given', async () => {
    const dataDir = await mkdtemp(path.join(scratch, 'data-'));
    await writeFile(path.join(dataDir, 'admin-token'), `${api.tokens.admin}\n`, { mode: 0o600 });
    const list = (data: string) =>
      cli(['remediation', 'list'], { INFRAUDIT_URL: api.url, INFRAUDIT_DATA: data });
    expect((await list(dataDir)).code).toBe(0);
    const none = await list(scratch);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('no API token: give one with --token or INFRAUDIT_TOKEN');
    expect(none.stderr).toContain(path.join(scratch, 'admin-token'));
    expect(none.stderr).not.toContain('Authorization');
  });

  it('ends quietly when the reader closes its output early', async () => {
    const closed = { closedStdout: true };
    for (const args of [
      ['findings', 'list', '-o', 'json'],
      ['remediation', 'list'],
      ['iam-policy', '--kubernetes'],
      ['--help'],
    ]) {
      const res = await cliProcess(args, env, closed);
      expect(res.stderr, args.join(' ')).toBe('');
      expect(res.code, args.join(' ')).toBe(0);
    }
  }, 60_000);

  it('has --help for every command', async () => {
    const walk = (command: Command, prefix: string[]): string[][] =>
      command.commands.flatMap((sub) => {
        const args = [...prefix, sub.name()];
        return [args, ...walk(sub, args)];
      });
    const program = buildProgram({
      stdout: { write: () => true },
      stderr: { write: () => true },
      env: {},
      cwd: '.',
    });
    const commands = walk(program, []);
    expect(commands.length).toBeGreaterThan(15);
    for (const args of [[], ...commands]) {
      const res = await cli([...args, '--help']);
      expect(res.code, args.join(' ')).toBe(0);
      expect(res.stdout, args.join(' ')).toContain('Usage: infraudit');
      expect(res.stdout.length).toBeGreaterThan(80);
    }
  });
});
