import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_FIX_OPTIONS } from '../src/domain/fix-options.ts';
import { startApi, type ApiHarness } from './helpers/api.ts';
import { cli } from './helpers/cli.ts';

describe('fix options over the API and CLI', () => {
  let api: ApiHarness;
  beforeAll(async () => {
    api = await startApi();
  });
  afterAll(async () => api?.close());

  it('starts from the documented defaults, readable by a viewer', async () => {
    const res = await api.call('GET', '/api/v1/settings/fixes', { as: 'viewer' });
    expect(res.status).toBe(200);
    expect(res.body).toEqual(DEFAULT_FIX_OPTIONS);
  });

  it('changes only what an admin sends, and audits it', async () => {
    const res = await api.call('PUT', '/api/v1/settings/fixes', {
      body: { ec2AuthorizedPorts: [443], rdsBackupRetentionDays: 14 },
    });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      ...DEFAULT_FIX_OPTIONS,
      ec2AuthorizedPorts: [443],
      rdsBackupRetentionDays: 14,
    });
    expect(await api.store.getFixOptions()).toEqual(res.body);
  });

  it.each([
    [{ rdsBackupRetentionDays: 0 }],
    [{ rdsBackupRetentionDays: 36 }],
    [{ ec2AuthorizedPorts: [70000] }],
    [{ ec2AuthorizedPorts: [443, 80, 443] }],
    [{ k8sCpuLimit: 'lots' }],
    [{ k8sPodSecurityLevel: 'strict' }],
    [{ k8sPodSecurityVersion: '1.29' }],
    [{ unknownOption: true }],
    [{}],
  ])('refuses %j with invalid_input and changes nothing', async (body) => {
    const before = await api.store.getFixOptions();
    const res = await api.call('PUT', '/api/v1/settings/fixes', { body });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('invalid_input');
    expect(await api.store.getFixOptions()).toEqual(before);
  });

  it('refuses an operator', async () => {
    const res = await api.call('PUT', '/api/v1/settings/fixes', {
      as: 'operator',
      body: { rdsApplyImmediately: true },
    });
    expect(res.status).toBe(403);
  });

  it('is driven from the CLI', async () => {
    const env = { INFRAUDIT_URL: api.url, INFRAUDIT_TOKEN: api.tokens.admin };
    const set = await cli(
      [
        '-o',
        'json',
        'settings',
        'fixes',
        'set',
        '--ec2-authorized-ports',
        '80,443,8443',
        '--k8s-pod-security-level',
        'restricted',
      ],
      env,
    );
    expect(set.code).toBe(0);
    expect(JSON.parse(set.stdout)).toMatchObject({
      ec2AuthorizedPorts: [80, 443, 8443],
      k8sPodSecurityLevel: 'restricted',
    });
    const get = await cli(['settings', 'fixes', 'get'], env);
    expect(get.stdout).toMatch(/ec2AuthorizedPorts\s+80,443,8443/);

    const bad = await cli(['settings', 'fixes', 'set', '--ec2-authorized-ports', '80,http'], env);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/comma-separated ports/);
    const gap = await cli(['settings', 'fixes', 'set', '--ec2-authorized-ports', '80,,443'], env);
    expect(gap.code).toBe(2);
    const empty = await cli(['settings', 'fixes', 'set'], env);
    expect(empty.code).toBe(2);
    expect(empty.stderr).toMatch(/nothing to change/);
  });
});
