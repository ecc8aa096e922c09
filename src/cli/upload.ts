import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { setTimeout as pause } from 'node:timers/promises';

const WRITE_BYTES = 1024 * 1024;

/** The connection ended before the server answered; `sent` bytes of the body had gone out. */
export class UploadBroken extends Error {
  readonly reason: string;
  readonly sent: number;

  constructor(reason: string, sent: number) {
    super(`the connection ended before an answer (${reason})`);
    this.name = 'UploadBroken';
    this.reason = reason;
    this.sent = sent;
  }
}

/**
 * Sends `body` as it is read and resolves with the server's answer, even one given before
 * the whole body was read: a server refusing an upload (too large, a bad record early on)
 * answers and closes the connection while the rest is still on its way. fetch gives up the
 * answer when sending then fails; here sending stops at the first byte of the answer, and
 * errors of the sending side after it are ignored.
 */
export function sendStreamed(
  url: string,
  method: string,
  headers: Record<string, string>,
  body: AsyncIterable<Uint8Array>,
): Promise<Response> {
  const target = new URL(url);
  const request = target.protocol === 'https:' ? httpsRequest : httpRequest;

  return new Promise((resolve, reject) => {
    let answered = false;
    let broken = false;
    let sent = 0;
    let wake = () => {};
    const req = request(target, { method, headers });

    req.on('response', (res: IncomingMessage) => {
      answered = true;
      wake();
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        resolve(answer(res, Buffer.concat(chunks)));
        // Sending stopped early: the connection has nothing more to carry.
        if (!req.writableEnded) req.destroy();
      });
      res.on('error', (error: NodeJS.ErrnoException) =>
        reject(new UploadBroken(`answer cut off: ${error.code ?? error.message}`, sent)),
      );
    });
    req.on('error', (error: NodeJS.ErrnoException) => {
      broken = true;
      wake();
      // Once the answer has begun, a failed write only means the server stopped reading.
      if (!answered) reject(new UploadBroken(error.code ?? error.message, sent));
    });
    req.on('close', () => wake());

    const write = async (chunk: Buffer): Promise<boolean> => {
      // Each write first lets the event loop wait on the socket, so an answer already on
      // its way is read before more is sent into a connection the server may be closing.
      await pause(0);
      if (answered || broken) return false;
      sent += chunk.byteLength;
      if (!req.write(chunk)) {
        let drained = () => {};
        await new Promise<void>((done) => {
          wake = drained = done;
          req.once('drain', drained);
        });
        req.off('drain', drained);
      }
      return !answered && !broken;
    };

    void (async () => {
      try {
        // Sent in pieces of at least WRITE_BYTES, so the wait before each costs little.
        let pending: Buffer[] = [];
        let size = 0;
        for await (const chunk of body) {
          pending.push(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
          size += chunk.byteLength;
          if (size < WRITE_BYTES) continue;
          const piece = Buffer.concat(pending, size);
          pending = [];
          size = 0;
          if (!(await write(piece))) return;
        }
        if (size > 0 && !(await write(Buffer.concat(pending, size)))) return;
        req.end();
      } catch (error) {
        // Reading the body failed: the request must not end as if it were complete.
        req.destroy();
        reject(error);
      }
    })();
  });
}

function answer(res: IncomingMessage, body: Buffer): Response {
  const status = res.statusCode ?? 0;
  const headers = new Headers();
  for (const [name, value] of Object.entries(res.headers)) {
    if (value !== undefined) headers.set(name, Array.isArray(value) ? value.join(', ') : value);
  }
  const empty = status === 204 || status === 205 || status === 304 || body.length === 0;
  return new Response(empty ? null : body, {
    status,
    statusText: res.statusMessage ?? '',
    headers,
  });
}
