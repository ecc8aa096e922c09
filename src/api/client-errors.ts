import { maxHeaderSize, STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { HttpRefusal, toHttpError } from './errors.ts';

/** What Node's HTTP parser refused, before any route or hook could see the request. */
export function clientErrorRefusal(error: NodeJS.ErrnoException): HttpRefusal {
  if (error.code === 'HPE_HEADER_OVERFLOW') {
    const kb = Math.round(maxHeaderSize / 1024);
    return new HttpRefusal(
      'headers_too_large',
      `the request line and headers are larger than ${kb} KB, the most this server reads; ` +
        'send fewer or shorter headers (a bearer token is under 100 characters)',
      { maxBytes: maxHeaderSize },
    );
  }
  if (error.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
    return new HttpRefusal(
      'request_timeout',
      'the request did not arrive in full in time; send it again',
    );
  }
  return new HttpRefusal(
    'invalid_input',
    `the request is not valid HTTP/1.1 (${error.code ?? 'unreadable'}); send it again with ` +
      'a standard HTTP client',
    ...(error.code ? [{ reason: error.code }] : []),
  );
}

/**
 * The server's `clientError` listener: answers in the API's error shape on the raw
 * socket, then closes it, as Node itself does for these errors.
 */
export function clientErrorHandler(this: FastifyInstance, error: Error, socket: Socket): void {
  const cause = error as NodeJS.ErrnoException;
  // A reset or closed connection has nobody left to answer.
  if (cause.code === 'ECONNRESET' || socket.destroyed) return;
  this.log.debug({ err: cause }, 'refused a request the HTTP parser could not read');
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const { status, body } = toHttpError(clientErrorRefusal(cause));
  const text = JSON.stringify(body);
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}\r\n` +
      'Content-Type: application/json; charset=utf-8\r\n' +
      `Content-Length: ${Buffer.byteLength(text)}\r\n` +
      'Connection: close\r\n\r\n' +
      text,
  );
}
