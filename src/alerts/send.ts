import { createHmac } from 'node:crypto';
import nodemailer from 'nodemailer';
import { slackBody, type AlertMessage } from './message.ts';
import type { ChannelSecretView } from './model.ts';
import { refusedTarget, type Resolve } from './targets.ts';

export interface SendResult {
  ok: boolean;
  /** The HTTP status, or the SMTP reply code, when the receiver answered. */
  statusCode: number | null;
  /** Why it failed; never holds a URL, key or password. */
  error: string | null;
  durationMs: number;
}

export const SIGNATURE_HEADER = 'X-InfraAudit-Signature';
export const TIMESTAMP_HEADER = 'X-InfraAudit-Timestamp';

/** `sha256=<hex>` of HMAC-SHA256 over `<timestamp>.<body>` with the channel's secret. */
export function signWebhook(secret: string, timestamp: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

/** Sends one message over one channel, giving up after `timeoutMs`. Never throws. */
export async function sendAlert(
  channel: ChannelSecretView,
  message: AlertMessage,
  opts: { timeoutMs: number; now?: () => Date; resolve?: Resolve },
): Promise<SendResult> {
  const started = performance.now();
  const done = (result: Omit<SendResult, 'durationMs'>): SendResult => ({
    ...result,
    durationMs: Math.round(performance.now() - started),
  });
  try {
    const refused = await refusedTarget(targetHost(channel), opts.resolve);
    if (refused) return done({ ok: false, statusCode: null, error: refused });
    if (channel.type === 'email') return done(await sendEmail(channel, message, opts.timeoutMs));
    const body =
      channel.type === 'slack'
        ? JSON.stringify(slackBody(message))
        : JSON.stringify(message.payload);
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (channel.type === 'webhook') {
      const timestamp = String(Math.floor((opts.now?.() ?? new Date()).getTime() / 1000));
      headers[TIMESTAMP_HEADER] = timestamp;
      headers[SIGNATURE_HEADER] = signWebhook(channel.secrets.secret ?? '', timestamp, body);
    }
    const response = await fetch(channel.secrets.url ?? '', {
      method: 'POST',
      headers,
      body,
      redirect: 'manual',
      signal: AbortSignal.timeout(opts.timeoutMs),
    });
    // The body is read only to free the connection; a receiver's answer may echo secrets.
    await response.arrayBuffer().catch(() => undefined);
    if (response.status >= 200 && response.status < 300) {
      return done({ ok: true, statusCode: response.status, error: null });
    }
    return done({
      ok: false,
      statusCode: response.status,
      error: `the receiver answered ${response.status}`,
    });
  } catch (error) {
    return done({ ok: false, statusCode: null, error: describe(error, opts.timeoutMs) });
  }
}

/** The host a channel connects to: its SMTP server, or its URL's host. */
export function targetHost(channel: ChannelSecretView): string {
  if (channel.type === 'email') return String(channel.config.host);
  try {
    return new URL(channel.secrets.url ?? '').hostname;
  } catch {
    return '';
  }
}

async function sendEmail(
  channel: ChannelSecretView,
  message: AlertMessage,
  timeoutMs: number,
): Promise<Omit<SendResult, 'durationMs'>> {
  const c = channel.config;
  const security = c.security as 'starttls' | 'tls' | 'none';
  const transport = nodemailer.createTransport({
    host: String(c.host),
    port: Number(c.port),
    secure: security === 'tls',
    requireTLS: security === 'starttls',
    ignoreTLS: security === 'none',
    ...(c.username
      ? { auth: { user: String(c.username), pass: channel.secrets.password ?? '' } }
      : {}),
    connectionTimeout: timeoutMs,
    greetingTimeout: timeoutMs,
    socketTimeout: timeoutMs,
    logger: false,
  });
  let timer: NodeJS.Timeout | undefined;
  try {
    const sent = transport.sendMail({
      from: String(c.from),
      to: (c.to as string[]).join(', '),
      subject: message.subject,
      text: message.text,
    });
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(Object.assign(new Error('timeout'), { name: 'TimeoutError' })),
        timeoutMs,
      );
    });
    const info = (await Promise.race([sent, timeout])) as { response?: string };
    const code = Number(/^(\d{3})/.exec(info.response ?? '')?.[1] ?? 250);
    return { ok: true, statusCode: code, error: null };
  } catch (error) {
    const code = (error as { responseCode?: number }).responseCode;
    return { ok: false, statusCode: code ?? null, error: describe(error, timeoutMs) };
  } finally {
    clearTimeout(timer);
    transport.close();
  }
}

function describe(error: unknown, timeoutMs: number): string {
  const e = error as { name?: string; message?: string; code?: string; cause?: { code?: string } };
  if (e.name === 'TimeoutError' || e.code === 'ETIMEDOUT') {
    return `no answer within ${timeoutMs} ms`;
  }
  if (e.cause?.code) return `could not connect (${e.cause.code})`;
  // fetch's own messages name the URL it was given, which holds the channel's secret.
  if (e.name === 'TypeError') return 'could not send the request';
  return (e.message ?? String(error)).slice(0, 300);
}
