import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApi, type ApiHarness } from './helpers/api.ts';
import { cli, cliProcess } from './helpers/cli.ts';
import { ENCRYPTION_CHECK, prowlerFile } from './helpers/findings.ts';

let api: ApiHarness;
let env: Record<string, string>;
let scratch: string;
let findingsFile: string;

beforeAll(async () => {
  api = await startApi();
  env = { INFRAUDIT_URL: api.url, INFRAUDIT_TOKEN: api.tokens.admin };
  scratch = await mkdtemp(path.join(tmpdir(), 'infraudit-findings-cli-'));
  findingsFile = path.join(scratch, 'prowler.ocsf.json');
  await writeFile(
    findingsFile,
    prowlerFile([
      { check: ENCRYPTION_CHECK, bucket: 'fcli-one', severity: 'High' },
      { check: 'iam_root_mfa_enabled', bucket: 'fcli-two', account: '444455556666' },
      { check: ENCRYPTION_CHECK, bucket: 'fcli-three', status: 'PASS' },
    ]),
  );
});
afterAll(async () => {
  await api.close();
  await rm(scratch, { recursive: true, force: true });
});

async function json(args: string[]) {
  const res = await cli([...args, '-o', 'json'], env);
  expect(res.stderr).toBe('');
  expect(res.code).toBe(0);
  return JSON.parse(res.stdout);
}

describe('infraudit findings and exclusions', { timeout: 60_000 }, () => {
  it('imports by streaming the file, with progress on stderr when asked', async () => {
    const res = await cli(['findings', 'import', findingsFile, '--progress'], {
      ...env,
      INFRAUDIT_TOKEN: api.tokens.operator,
    });
    expect(res.code).toBe(0);
    expect(res.stderr).toMatch(/sent \d+\.\d MiB of \d+\.\d MiB \(100%\)/);
    expect(res.stdout).toContain('format: prowler-ocsf');
    expect(res.stdout).toContain('stored findings: 2 opened, 0 updated, 0 resolved');
  });

  it('streams standard input, noting the bytes sent every 10 MiB when asked', async () => {
    // Over 10 MiB of passed findings, which store nothing new.
    const passed = Array.from({ length: 9_000 }, (_, i) => ({
      check: ENCRYPTION_CHECK,
      bucket: `fcli-stdin-${i}`,
      status: 'PASS' as const,
    }));
    const input = Buffer.from(prowlerFile(passed));
    expect(input.length).toBeGreaterThan(10 * 1024 * 1024);
    const res = await cliProcess(
      ['findings', 'import', '-', '--progress'],
      {
        ...env,
        INFRAUDIT_TOKEN: api.tokens.operator,
      },
      { input },
    );
    expect(res.code).toBe(0);
    expect(res.stderr).toMatch(/^sent 1\d\.\d MiB from standard input$/m);
    expect(res.stderr).toMatch(/sent \d+\.\d MiB from standard input \(all of it\)/);
    expect(res.stdout).toContain('format: prowler-ocsf');
  });

  it('refuses an empty file and empty standard input alike, as invalid input (exit 2)', async () => {
    const empty = path.join(scratch, 'empty.json');
    await writeFile(empty, '');
    const operator = { ...env, INFRAUDIT_TOKEN: api.tokens.operator };
    const fromFile = await cli(['findings', 'import', empty], operator);
    const fromFileProcess = await cliProcess(['findings', 'import', empty], operator);
    const fromStdin = await cliProcess(['findings', 'import', '-'], operator, {
      input: Buffer.alloc(0),
    });
    const blankStdin = await cliProcess(['findings', 'import', '-'], operator, {
      input: Buffer.from(' \n\n'),
    });
    // Without `input`, the child's standard input is /dev/null: read at once, and empty.
    const nullStdin = await cliProcess(['findings', 'import', '-'], operator);
    for (const res of [fromFile, fromFileProcess, fromStdin, blankStdin, nullStdin]) {
      expect(res.code).toBe(2);
      expect(res.stdout).toBe('');
      expect(res.stderr).toMatch(/^error: the findings file is empty.*\n$/);
    }
  });

  it('warns when a file names one finding twice, saying the last report stands', async () => {
    const file = path.join(scratch, 'twice.ocsf.json');
    await writeFile(
      file,
      prowlerFile([
        { check: ENCRYPTION_CHECK, bucket: 'fcli-twice', severity: 'Low' },
        { check: ENCRYPTION_CHECK, bucket: 'fcli-twice', severity: 'Low' },
      ]),
    );
    const res = await cli(['findings', 'import', file], {
      ...env,
      INFRAUDIT_TOKEN: api.tokens.operator,
    });
    expect(res.code).toBe(0);
    expect(res.stdout).toContain(
      '1 opened, 1 updated, 0 resolved, 0 dismissed, 0 excluded, 1 repeated',
    );
    expect(res.stdout).toMatch(
      /^warning: 1 finding\(s\) repeat a finding id read earlier in the file; .*the last report of an id stands$/m,
    );
  });

  it('lists as a table and as JSON with id, kind, severity, status and resource.id', async () => {
    const table = await cli(['findings', 'list', '--kind', 'vulnerability'], env);
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/^ID\s+KIND\s+STATUS\s+SEVERITY\s+CHECK\s+RESOURCE/);
    expect(table.stdout).toContain('fcli-one');

    const page = await json(['findings', 'list', '--severity', 'high']);
    expect(page.items).toHaveLength(1);
    expect(page.items[0]).toMatchObject({
      id: expect.any(String),
      kind: 'vulnerability',
      severity: 'high',
      status: 'open',
      resource: { id: 'arn:aws:s3:::fcli-one' },
    });
    const byAccount = await json(['findings', 'list', '--account', '444455556666']);
    expect(byAccount.items.map((f: any) => f.resource.name)).toEqual(['fcli-two']);

    const refused = await cli(['findings', 'list', '--status', 'maybe'], env);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/maybe/);
  });

  it('shows one finding with its actions, and remediates through its fix', async () => {
    const [one] = (await json(['findings', 'list', '--search', 'fcli-one'])).items;
    const shown = await json(['findings', 'show', one.id]);
    expect(shown).toMatchObject({
      id: one.id,
      kind: 'vulnerability',
      severity: 'high',
      status: 'open',
      resource: { id: 'arn:aws:s3:::fcli-one' },
    });
    expect(shown.actions).toHaveLength(1);
    const text = await cli(['findings', 'show', one.id], env);
    expect(text.stdout).toContain('fix:       s3.enable-default-encryption');
    expect(text.stdout).toContain(shown.actions[0].id);

    const remediated = await cli(['findings', 'remediate', one.id], env);
    expect(remediated.code).toBe(0);
    expect(remediated.stdout).toContain(`linked to open action ${shown.actions[0].id}`);

    const [two] = (await json(['findings', 'list', '--search', 'fcli-two'])).items;
    const none = await cli(['findings', 'remediate', two.id], env);
    expect(none.code).not.toBe(0);
    expect(none.stderr).toMatch(/has no catalog fix/);
  });

  it('dismisses with a reason and reopens', async () => {
    const [two] = (await json(['findings', 'list', '--search', 'fcli-two'])).items;
    const missing = await cli(['findings', 'dismiss', two.id], env);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/--reason/);

    const dismissed = await json([
      'findings',
      'dismiss',
      two.id,
      '--reason',
      'break-glass account',
    ]);
    expect(dismissed).toMatchObject({
      status: 'dismissed',
      dismissedReason: 'break-glass account',
    });
    const listed = await json(['findings', 'list', '--status', 'dismissed']);
    expect(listed.items.map((f: any) => f.id)).toEqual([two.id]);
    const reopened = await json(['findings', 'reopen', two.id]);
    expect(reopened.status).toBe('open');
  });

  it('adds, lists and removes exclusions, and refuses a bad one', async () => {
    const bad = await cli(
      ['exclusions', 'add', '--scope', 'tag', '--value', 'nokey', '--reason', 'x'],
      env,
    );
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/key=value/);

    const added = await json([
      'exclusions',
      'add',
      '--scope',
      'account',
      '--value',
      '444455556666',
      '--reason',
      'sandbox account',
    ]);
    expect(added).toMatchObject({ excluded: 1, exclusion: { scope: 'account' } });
    const table = await cli(['exclusions', 'list'], env);
    expect(table.stdout).toMatch(/^ID\s+SCOPE\s+VALUE\s+BY\s+REASON/);
    expect(table.stdout).toContain('sandbox account');
    const excluded = await json(['findings', 'list', '--status', 'excluded']);
    expect(excluded.items.map((f: any) => f.resource.name)).toEqual(['fcli-two']);

    const removed = await cli(['exclusions', 'remove', added.exclusion.id], env);
    expect(removed.code).toBe(0);
    expect(removed.stdout).toContain('1 finding(s) open again');
    expect(await json(['exclusions', 'list'])).toEqual([]);
  });
});
