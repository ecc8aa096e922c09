import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';

export interface Received {
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  json: any;
}

export type Behaviour = 'ok' | 'error' | 'unavailable' | 'slow';

/**
 * An HTTP receiver on 127.0.0.1 for Slack and webhook channels. `behaviour` decides the
 * answer (ok 200, error 500, unavailable 503, slow: answers only after `slowMs`); `down()` closes the port
 * so connections are refused, `up()` opens the same port again.
 */
export async function startHttpReceiver() {
  const received: Received[] = [];
  const hanging = new Set<() => void>();
  const state = { behaviour: 'ok' as Behaviour, slowMs: 2_000, seen: 0 };
  let server: Server | undefined;
  let port = 0;

  const listen = () =>
    new Promise<void>((resolve) => {
      server = createServer((req, res) => {
        const chunks: Buffer[] = [];
        req.on('data', (c: Buffer) => chunks.push(c));
        req.on('end', () => {
          state.seen += 1;
          const body = Buffer.concat(chunks).toString('utf8');
          if (state.behaviour === 'error' || state.behaviour === 'unavailable') {
            res.writeHead(state.behaviour === 'error' ? 500 : 503).end('boom');
            return;
          }
          if (state.behaviour === 'slow') {
            const timer = setTimeout(() => res.writeHead(200).end('late'), state.slowMs);
            hanging.add(() => clearTimeout(timer));
            return;
          }
          received.push({
            path: req.url ?? '',
            headers: req.headers,
            body,
            json: JSON.parse(body),
          });
          res.writeHead(200).end('ok');
        });
      });
      server.listen(port, '127.0.0.1', () => {
        port = (server!.address() as AddressInfo).port;
        resolve();
      });
    });

  const close = () =>
    new Promise<void>((resolve) => {
      for (const cancel of hanging) cancel();
      hanging.clear();
      if (!server) return resolve();
      server.closeAllConnections();
      server.close(() => resolve());
      server = undefined;
    });

  await listen();
  return {
    url: (path: string) => `http://127.0.0.1:${port}${path}`,
    received,
    state,
    down: close,
    up: listen,
    close,
  };
}

export type HttpReceiver = Awaited<ReturnType<typeof startHttpReceiver>>;

/**
 * What a webhook receiver must do: recompute the signature over `<timestamp>.<body>`,
 * compare in constant time, and refuse a timestamp more than five minutes away.
 */
export function verifyWebhook(
  secret: string,
  headers: IncomingHttpHeaders,
  body: string,
  now = Date.now(),
): boolean {
  const timestamp = String(headers['x-infraaudit-timestamp'] ?? '');
  const signature = String(headers['x-infraaudit-signature'] ?? '');
  if (!/^\d+$/.test(timestamp) || Math.abs(now / 1000 - Number(timestamp)) > 300) return false;
  const expected = `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
  const a = Buffer.from(signature);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

export interface Mail {
  from: string;
  to: string[];
  user: string | undefined;
  raw: string;
}

/** An SMTP server on 127.0.0.1 (no TLS) that requires AUTH with the given credentials. */
export async function startSmtpReceiver(credentials: { user: string; pass: string }) {
  const mails: Mail[] = [];
  const server = new SMTPServer({
    secure: false,
    disabledCommands: ['STARTTLS'],
    authMethods: ['PLAIN', 'LOGIN'],
    allowInsecureAuth: true,
    logger: false,
    onAuth(auth, _session, callback) {
      if (auth.username === credentials.user && auth.password === credentials.pass) {
        callback(null, { user: auth.username });
      } else {
        callback(new Error('invalid username or password'));
      }
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        mails.push({
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          to: session.envelope.rcptTo.map((r) => r.address),
          user: session.user as string | undefined,
          raw: Buffer.concat(chunks).toString('utf8'),
        });
        callback();
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const port = ((server as unknown as { server: Server }).server.address() as AddressInfo).port;
  return {
    port,
    mails,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
