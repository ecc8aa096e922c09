import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildMessage } from '../src/alerts/message.ts';
import type { ChannelSecretView } from '../src/alerts/model.ts';
import { sendAlert, targetHost } from '../src/alerts/send.ts';
import { canonicalHost, isForbiddenHost, refusedTarget } from '../src/alerts/targets.ts';
import { startHttpReceiver, type HttpReceiver } from './helpers/alert-receivers.ts';

// Nothing here connects to a link-local or metadata address: refusals are checked on
// names and on what an injected resolver answers, and every send that is not refused goes
// to the loopback receiver.

const message = () =>
  buildMessage(
    {
      event: 'suggested',
      severity: 'high',
      eventId: 1,
      at: new Date().toISOString(),
      actor: 'token:test',
      comment: null,
      fromStatus: null,
      toStatus: 'suggested',
      action: null,
      finding: null,
    },
    { publicUrl: 'https://infraudit.example.test', deliveryId: 'd-1' },
  );

describe('alert targets', () => {
  it('knows link-local and metadata hosts in every spelling, and lets loopback through', () => {
    const forbidden = [
      '169.254.169.254',
      '169.254.0.1',
      '2852039166',
      '0xa9fea9fe',
      '0251.0376.0251.0376',
      '[::ffff:169.254.169.254]',
      '::ffff:a9fe:a9fe',
      'fe80::1',
      '[FE80::abcd]',
      'febf::1',
      'fe80::1%eth0',
      'fd00:ec2::254',
      '100.100.100.200',
      'metadata.google.internal',
      'Metadata.Google.Internal.',
      'metadata.goog',
      'metadata',
      'instance-data.ec2.internal',
    ];
    for (const host of forbidden) expect(isForbiddenHost(host), host).toBe(true);
    const allowed = [
      '127.0.0.1',
      'localhost',
      '::1',
      '[::1]',
      'hooks.slack.com',
      '10.0.0.1',
      '169.255.0.1',
      'fec0::1',
      'fd00:ec2::253',
      'metadata.example.com',
    ];
    for (const host of allowed) expect(isForbiddenHost(host), host).toBe(false);
    expect(canonicalHost('2852039166')).toBe('169.254.169.254');
  });

  it('refuses a name that resolves to a forbidden address, whatever else it resolves to', async () => {
    const asked: string[] = [];
    const resolver = (answer: string[]) => async (host: string) => {
      asked.push(host);
      return answer;
    };
    expect(
      await refusedTarget('hooks.example.test', resolver(['10.1.2.3', '169.254.169.254'])),
    ).toBe(
      'refused: the channel target hooks.example.test resolves to the link-local or cloud ' +
        'metadata address 169.254.169.254',
    );
    expect(await refusedTarget('hooks.example.test', resolver(['fe80::1']))).toMatch(/fe80::1/);
    expect(await refusedTarget('hooks.example.test', resolver(['10.1.2.3', '::1']))).toBe(
      undefined,
    );
    expect(asked).toEqual(['hooks.example.test', 'hooks.example.test', 'hooks.example.test']);
    // A forbidden name or address is refused without resolving it.
    expect(await refusedTarget('metadata.google.internal', resolver([]))).toMatch(/refused/);
    expect(await refusedTarget('169.254.169.254', resolver([]))).toMatch(/refused/);
    expect(asked).toHaveLength(3);
    // A name that does not resolve is left to the send, which reports it.
    const failing = async () => {
      throw Object.assign(new Error('not found'), { code: 'ENOTFOUND' });
    };
    expect(await refusedTarget('nowhere.example.test', failing)).toBeUndefined();
  });

  it('checks the host every channel type connects to', () => {
    const channel = (type: ChannelSecretView['type'], config = {}, secrets = {}) => ({
      id: 'c',
      name: 'c',
      type,
      config,
      secrets,
    });
    expect(targetHost(channel('webhook', {}, { url: 'http://[fe80::1]:81/x?t=1' }))).toBe(
      '[fe80::1]',
    );
    expect(targetHost(channel('slack', {}, { url: 'https://hooks.slack.com/services/T' }))).toBe(
      'hooks.slack.com',
    );
    expect(targetHost(channel('email', { host: 'smtp.example.test', port: 587 }))).toBe(
      'smtp.example.test',
    );
    expect(isForbiddenHost(targetHost(channel('webhook', {}, { url: 'http://[fe80::1]/' })))).toBe(
      true,
    );
  });

  describe('at send time', () => {
    let http: HttpReceiver;
    beforeAll(async () => {
      http = await startHttpReceiver();
    });
    afterAll(async () => {
      await http?.close();
    });

    const hook = (): ChannelSecretView => ({
      id: 'hook',
      name: 'hook',
      type: 'webhook',
      config: {},
      // `localhost` resolves to the loopback receiver: a refusal that failed would reach it.
      secrets: {
        url: http.url('/resolved/s3cr3t').replace('127.0.0.1', 'localhost'),
        secret: 'k'.repeat(20),
      },
    });

    it('refuses a webhook whose name now resolves to a metadata address, and sends nothing', async () => {
      const before = http.state.seen;
      const result = await sendAlert(hook(), message(), {
        timeoutMs: 2_000,
        resolve: async () => ['169.254.169.254'],
      });
      expect(result).toMatchObject({ ok: false, statusCode: null });
      expect(result.error).toBe(
        'refused: the channel target localhost resolves to the link-local or cloud metadata ' +
          'address 169.254.169.254',
      );
      expect(result.error).not.toContain('s3cr3t');
      expect(http.state.seen).toBe(before);
    });

    it('sends to a name that resolves to loopback', async () => {
      const before = http.received.length;
      const result = await sendAlert(hook(), message(), { timeoutMs: 2_000 });
      expect(result).toMatchObject({ ok: true, statusCode: 200, error: null });
      expect(http.received.slice(before).map((r) => r.path)).toEqual(['/resolved/s3cr3t']);
    });
  });
});
