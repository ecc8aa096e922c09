import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inCliTerms } from '../src/cli/terms.ts';
import { startApi, type ApiHarness } from './helpers/api.ts';
import { cli, REPO } from './helpers/cli.ts';
import { createTestDatabase } from './helpers/databases.ts';

let api: ApiHarness;
let env: Record<string, string>;
let scratch: string;
/** A server nobody listens on: a command that gets as far as a request fails differently. */
const nowhere = { INFRAUDIT_URL: 'http://127.0.0.1:1', INFRAUDIT_TOKEN: 'ia_unused' };

beforeAll(async () => {
  api = await startApi();
  env = { INFRAUDIT_URL: api.url, INFRAUDIT_TOKEN: api.tokens.admin };
  scratch = await mkdtemp(path.join(tmpdir(), 'infraudit-cli-options-'));
});
afterAll(async () => {
  await api.close();
  await rm(scratch, { recursive: true, force: true });
});

describe('infraudit --version', () => {
  it('prints the version of package.json', async () => {
    const { version } = JSON.parse(readFileSync(path.join(REPO, 'package.json'), 'utf8'));
    for (const flag of ['--version', '-V']) {
      const res = await cli([flag]);
      expect(res.code).toBe(0);
      expect(res.stdout).toBe(`${version}\n`);
    }
  });
});

describe('option values the CLI can check', () => {
  const refused: [string[], string][] = [
    [['settings', 'remediation', 'set', '--rollback-window', '4'], 'from 5 to 120'],
    [['settings', 'remediation', 'set', '--rollback-window', '121'], 'from 5 to 120'],
    [['remediation', 'list', '--limit', '0'], 'from 1 to 500'],
    [['remediation', 'list', '--limit', '501'], 'from 1 to 500'],
    [['remediation', 'list', '--status', 'failed,finished'], '"finished"'],
    [['remediation', 'list', '--severity', 'dire'], '"dire"'],
    [['settings', 'fixes', 'set', '--rds-backup-retention-days', '36'], 'from 1 to 35'],
    [['settings', 'fixes', 'set', '--k8s-cpu-request', 'lots'], 'Kubernetes quantity'],
    [['settings', 'fixes', 'set', '--k8s-pod-security-level', 'strict'], 'baseline'],
    [['settings', 'fixes', 'set', '--k8s-pod-security-version', 'v2'], 'v1.N'],
    [['tokens', 'create', '--role', 'viewer', '--name', 'two words'], 'letters, digits'],
  ];

  it('are refused with exit code 2 before any request', async () => {
    for (const [args, expected] of refused) {
      const res = await cli(args, nowhere);
      expect(res.code, args.join(' ')).toBe(2);
      const flag = args.findLast((a) => a.startsWith('--'))!;
      expect(res.stderr, args.join(' ')).toContain(`option '${flag}`);
      expect(res.stderr, args.join(' ')).toContain(expected);
      expect(res.stderr).not.toContain('cannot reach');
    }
  });

  it('lets the limits themselves through', async () => {
    for (const minutes of ['5', '120']) {
      const res = await cli(['settings', 'remediation', 'set', '--rollback-window', minutes], env);
      expect(res.code).toBe(0);
      expect(res.stdout).toMatch(new RegExp(`rollbackWindowMinutes\\s+${minutes}`));
    }
    expect((await cli(['remediation', 'list', '--limit', '500'], env)).code).toBe(0);
    const days = await cli(['settings', 'fixes', 'set', '--rds-backup-retention-days', '35'], env);
    expect(days.code).toBe(0);
  });

  it('refuses `set` with nothing to change as a usage error', async () => {
    for (const group of ['remediation', 'fixes']) {
      const res = await cli(['settings', group, 'set'], nowhere);
      expect(res.code).toBe(2);
      expect(res.stderr).toMatch(/^error: nothing to change; give /);
    }
  });
});

describe('refusals in CLI terms', () => {
  it('rewrites API field names as the flags of the command', () => {
    const flags = { rollbackWindowMinutes: '--rollback-window', 'resource.id': '--resource-id' };
    expect(inCliTerms('body.rollbackWindowMinutes must be >= 5, got 4', flags)).toBe(
      '--rollback-window must be >= 5, got 4',
    );
    expect(inCliTerms('rollbackWindowMinutes must be a whole number', flags)).toBe(
      '--rollback-window must be a whole number',
    );
    expect(inCliTerms('setting "rollbackWindowMinutes" must be true', flags)).toBe(
      'setting --rollback-window must be true',
    );
    expect(inCliTerms('body.resource.id must NOT be empty', flags)).toBe(
      '--resource-id must NOT be empty',
    );
    const unmapped = 'body.resource.type is missing';
    expect(inCliTerms(unmapped, flags)).toBe(unmapped);
  });

  it('names the flag when the server refuses a value', async () => {
    const res = await cli(['remediation', 'list', '--search', 'x'.repeat(201)], env);
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(/^error: --search must NOT have more than 200 characters/);
  });

  it('says where a refused token came from', async () => {
    const res = await cli(['remediation', 'list'], { ...env, INFRAUDIT_TOKEN: 'ia_not-known' });
    expect(res.code).toBe(1);
    expect(res.stderr).toContain('(the token came from INFRAUDIT_TOKEN)');
    const flag = await cli(['--token', 'ia_not-known', 'remediation', 'list'], env);
    expect(flag.stderr).toContain('(the token came from --token)');
  });
});

describe('tokens create straight in a database', () => {
  it('refuses a folder that holds no InfraAudit database, and creates nothing there', async () => {
    const typo = path.join(scratch, 'typo');
    const res = await cli(['tokens', 'create', '--role', 'admin', '--data', typo], {});
    expect(res.code).toBe(1);
    expect(res.stdout).toBe('');
    expect(res.stderr).toContain(`no InfraAudit database in ${typo}`);
    expect(res.stderr).toContain('a data folder is the folder where `infraudit serve` keeps');
    expect(existsSync(typo)).toBe(false);

    const empty = await mkdtemp(path.join(scratch, 'empty-'));
    const none = await cli(['tokens', 'create', '--role', 'admin', '--data', empty], {});
    expect(none.code).toBe(1);
    expect(existsSync(path.join(empty, 'infraudit.db'))).toBe(false);
  });

  it('writes to the PostgreSQL database given with --database alone', async () => {
    const database = await createTestDatabase('postgres');
    const blank = await createTestDatabase('postgres');
    try {
      await (await database.open()).close();
      const args = ['-o', 'json', 'tokens', 'create', '--role', 'operator', '--name', 'pg-ops'];
      const res = await cli([...args, '--database', database.url!], nowhere);
      expect(res.stderr).toBe('');
      expect(res.code).toBe(0);
      const { token } = JSON.parse(res.stdout);
      const store = await database.open();
      try {
        expect(await store.findToken(token)).toMatchObject({ name: 'pg-ops', role: 'operator' });
      } finally {
        await store.close();
      }

      const refused = await cli([...args, '--database', blank.url!], nowhere);
      expect(refused.code).toBe(1);
      expect(refused.stderr).toContain('holds no InfraAudit tables');
      expect(refused.stderr).not.toContain('cannot reach');
    } finally {
      await database.drop();
      await blank.drop();
    }
  });
});

describe('tokens list and revoke', () => {
  it('lists tokens, revokes one, and refuses the last admin token', async () => {
    const create = ['tokens', 'create', '--role', 'viewer', '--name', 'tv'];
    const viewer = JSON.parse((await cli(['-o', 'json', ...create], env)).stdout);
    const duplicate = await cli(create, env);
    expect(duplicate.code).toBe(1);
    expect(duplicate.stderr).toContain('a token named "tv" already exists');

    const listed = await cli(['tokens', 'list'], env);
    expect(listed.code).toBe(0);
    expect(listed.stdout).toMatch(/^ID\s+NAME\s+ROLE\s+CREATED\s+CREATED BY\s+STATUS/);
    // Made over the API with the admin token, so that token is its creator.
    const row = new RegExp(
      `${viewer.info.id}\\s+tv\\s+viewer\\s+\\S+\\s+token:admin-test\\s+active`,
    );
    expect(listed.stdout).toMatch(row);
    expect(listed.stdout).not.toContain(viewer.token);

    const revoked = await cli(['tokens', 'revoke', viewer.info.id], env);
    expect(revoked.code).toBe(0);
    expect(revoked.stdout).toBe(`token ${viewer.info.id} (tv) revoked\n`);
    const after = await cli(['remediation', 'list'], { ...env, INFRAUDIT_TOKEN: viewer.token });
    expect(after.code).toBe(1);
    expect(after.stderr).toContain('was revoked at');
    const json = JSON.parse((await cli(['-o', 'json', 'tokens', 'list'], env)).stdout);
    const listedViewer = json.items.find((t: { id: string }) => t.id === viewer.info.id);
    expect(listedViewer).toMatchObject({ revokedBy: 'token:admin-test' });

    const admin = json.items.find((t: { name: string }) => t.name === 'admin-test');
    const last = await cli(['tokens', 'revoke', admin.id], env);
    expect(last.code).toBe(1);
    expect(last.stderr).toContain('is the last active admin token');
  });
});
