import { randomUUID } from 'node:crypto';

/**
 * A new row id: a version 7 UUID (RFC 9562), whose first 48 bits are the time in
 * milliseconds and the rest random. Rows made together get neighbouring ids, so a batch
 * of thousands lands at the right edge of every index that holds the id, rather than on
 * as many random pages: on a large import that is most of the cost of each commit. The
 * random bits come from Node's `randomUUID`, which draws from a pooled buffer.
 */
export function newId(now: number = Date.now()): string {
  // A version 4 UUID is random past its version digit (index 14) and keeps its variant.
  return `${timePrefix(now)}-7${randomUUID().slice(15)}`;
}

/** The time fields of the last id made: a batch makes thousands within one millisecond. */
let last = { ms: -1, prefix: '' };

function timePrefix(ms: number): string {
  if (ms !== last.ms) {
    const time = ms.toString(16).padStart(12, '0');
    last = { ms, prefix: `${time.slice(0, 8)}-${time.slice(8, 12)}` };
  }
  return last.prefix;
}
