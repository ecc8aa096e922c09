import { Writable } from 'node:stream';
import pino from 'pino';

/** A logger at info whose JSON lines the test reads back. */
export function captureLog() {
  const lines: string[] = [];
  const log = pino(
    { level: 'info' },
    new Writable({
      write(chunk, _e, done) {
        lines.push(String(chunk));
        done();
      },
    }),
  );
  return { log, lines };
}
