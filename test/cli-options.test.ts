import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
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
  await writeFile(path.join(scratch, 'bad.json'), '[{"status_code": 42}]');
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

/** `settings remediation set` with one maintenance window: a good one, changed by `change`. */
function windows(change: Record<string, string | undefined>): string[] {
  const window = {
    name: 'w',
    account: '111122223333',
    schedule: 'sat 01:00-03:00',
    timezone: 'UTC',
  };
  const list = JSON.stringify([{ ...window, ...change }]);
  return ['settings', 'remediation', 'set', '--maintenance-windows', list];
}

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
    [
      windows({ schedule: 'Mnday 01:00-03:00' }),
      '--maintenance-windows[0].schedule "Mnday 01:00-03:00" names an unknown day "Mnday": ' +
        'days are sun, mon, tue, wed, thu, fri, sat, a range of two such as mon-fri, or *',
    ],
    [
      windows({ schedule: 'sat,sun 1:00-3:00' }),
      '--maintenance-windows[0].schedule "sat,sun 1:00-3:00" is not in the expected form; ' +
        'write it as <days> <HH:MM>-<HH:MM>',
    ],
    [
      windows({ timezone: 'Mars/Base' }),
      '--maintenance-windows[0].timezone "Mars/Base" is an unknown time zone',
    ],
    [windows({ account: undefined }), '--maintenance-windows[0] must govern an account or a tag'],
    [windows({ name: undefined }), '--maintenance-windows[0].name is missing'],
    [windows({ colour: 'red' }), '--maintenance-windows[0] has an unknown field "colour"'],
    [
      ['settings', 'remediation', 'set', '--maintenance-windows', '{"name":"w"}'],
      '--maintenance-windows must be a list of windows, [] for none',
    ],
    [['settings', 'remediation', 'set', '--maintenance-windows', 'weekends'], 'a JSON list'],
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
    const window = await cli(['-o', 'json', ...windows({ schedule: 'Sat,SUN 01:00-03:00' })], env);
    expect(window.stderr).toBe('');
    expect(JSON.parse(window.stdout).maintenanceWindows).toEqual([
      { name: 'w', account: '111122223333', schedule: 'Sat,SUN 01:00-03:00', timezone: 'UTC' },
    ]);
    const none = await cli(['settings', 'remediation', 'set', '--maintenance-windows', '[]'], env);
    expect(none.code).toBe(0);
  });

  it('refuses `set` with nothing to change as a usage error', async () => {
    for (const group of ['remediation', 'fixes']) {
      const res = await cli(['settings', group, 'set'], nowhere);
      expect(res.code).toBe(2);
      expect(res.stderr).toMatch(/^error: nothing to change; give /);
    }
  });
});

describe('exit codes: 2 for a command line that is wrong, 1 for refusals and failures', () => {
  type Case = [
    why: string,
    args: string[],
    env: 'admin' | 'viewer' | 'stranger' | 'nowhere' | 'none',
    code: 1 | 2,
    says: string,
  ];
  const cases: Case[] = [
    [
      'unknown command',
      ['remediation', 'frobnicate'],
      'nowhere',
      2,
      "unknown command 'frobnicate'",
    ],
    [
      'missing option',
      ['remediation', 'reject', 'a-1'],
      'nowhere',
      2,
      "'--comment <text>' not specified",
    ],
    [
      'options that conflict',
      ['baseline', 'create', 'arn:aws:s3:::x', '--all'],
      'nowhere',
      2,
      'not both',
    ],
    ['no token', ['remediation', 'list'], 'none', 2, 'no API token'],
    [
      'a file that cannot be read',
      ['findings', 'import', 'no/such.json'],
      'nowhere',
      2,
      'cannot read the findings file',
    ],
    ['an unknown fix named', ['iam-policy', '--fix', 's3.nope'], 'none', 2, 'no fix "s3.nope"'],
    [
      '--secret-file without --wait',
      ['remediation', 'execute', 'a-1', '--secret-file', 'k'],
      'nowhere',
      2,
      '--secret-file needs --wait',
    ],
    ['a value the server refuses', ['audit', 'list', '--since', 'soon'], 'admin', 2, 'ISO-8601'],
    ['a file the server refuses', ['findings', 'import', 'bad.json'], 'admin', 2, 'findings[0]'],
    ['not found', ['remediation', 'show', 'no-such-action'], 'admin', 1, 'no-such-action'],
    ['not allowed', ['tokens', 'list'], 'viewer', 1, 'admin role'],
    ['a refused token', ['remediation', 'list'], 'stranger', 1, 'the token came from'],
    [
      'a conflict with what is stored',
      ['tokens', 'create', '--role', 'viewer', '--name', 'admin-test'],
      'admin',
      1,
      'already exists',
    ],
    ['an unreachable server', ['remediation', 'list'], 'nowhere', 1, 'cannot reach'],
  ];

  it.each(cases)('%s exits as the rule says', async (_why, args, who, code, says) => {
    const envs = {
      admin: env,
      viewer: { ...env, INFRAUDIT_TOKEN: api.tokens.viewer },
      stranger: { ...env, INFRAUDIT_TOKEN: 'ia_not-known' },
      nowhere,
      none: { INFRAUDIT_URL: 'http://127.0.0.1:1', INFRAUDIT_DATA: scratch },
    };
    const res = await cli(args, envs[who], scratch);
    expect(res.stderr, args.join(' ')).toContain(says);
    expect(res.stderr).toMatch(/^error: /);
    expect(res.code, `${args.join(' ')}\n${res.stderr}`).toBe(code);
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

  it('keeps the place of a part of a list value', () => {
    const flags = {
      sensitivePorts: '--sensitive-ports',
      maintenanceWindows: '--maintenance-windows',
    };
    expect(inCliTerms('body.sensitivePorts.1 must be <= 65535', flags)).toBe(
      '--sensitive-ports[1] must be <= 65535',
    );
    expect(inCliTerms('body.maintenanceWindows.0 is missing the field "name"', flags)).toBe(
      '--maintenance-windows[0] is missing the field "name"',
    );
    expect(inCliTerms('body.maintenanceWindows.12.schedule is too long', flags)).toBe(
      '--maintenance-windows[12].schedule is too long',
    );
    // A field that only starts like a mapped one is another field.
    const other = 'body.sensitivePortsExtra.0 is unknown';
    expect(inCliTerms(other, flags)).toBe(other);
  });

  it('names the flag when the server refuses a value', async () => {
    const res = await cli(['remediation', 'list', '--search', 'x'.repeat(201)], env);
    expect(res.code).toBe(2);
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
