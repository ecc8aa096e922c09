import { isUtf8 } from 'node:buffer';
import { invalidInput } from '../domain/errors.ts';
import { NEWLINE } from './json-bytes.ts';

/**
 * Findings files are UTF-8, as JSON on the wire must be. Bytes that are not would be
 * decoded as U+FFFD and stored altered, so they are refused, naming where they are; a
 * UTF-16 file, as some Windows tools save, is named as such rather than reported as a
 * syntax error at its first character.
 */

const CONVERT = 'save the file as UTF-8 (e.g. iconv -f <its encoding> -t UTF-8) and import that';

/**
 * Refuses a file whose first bytes show it is UTF-16 or UTF-32: a byte-order mark of
 * either, or a NUL among the first four bytes (JSON text never holds a raw NUL, and an
 * ASCII character in UTF-16 or UTF-32 comes with one).
 */
export function refuseWideEncoding(head: Buffer): void {
  const wideBom = (head[0] === 0xff && head[1] === 0xfe) || (head[0] === 0xfe && head[1] === 0xff);
  const nul = head.subarray(0, 4).includes(0);
  if (!wideBom && !nul) return;
  throw invalidInput(`the findings file is UTF-16 or UTF-32, not UTF-8: ${CONVERT}`, {
    problem: 'encoding',
    line: 1,
    offset: 0,
  });
}

/** A whole findings file's text; refused unless it is UTF-8. */
export function decodeFindingsFile(bytes: Buffer): string {
  refuseWideEncoding(bytes);
  return decodeUtf8(bytes, { line: 1, offset: 0 });
}

/**
 * The text of `bytes`, refused unless they are UTF-8 throughout. `line` and `offset` say
 * where in the file the bytes start, so a refusal names the line of the first bad byte.
 */
export function decodeUtf8(bytes: Buffer, at: { line: number; offset: number }): string {
  if (!isUtf8(bytes)) refuseNonUtf8(bytes, at);
  return bytes.toString('utf8');
}

function refuseNonUtf8(bytes: Buffer, at: { line: number; offset: number }): never {
  const bad = firstInvalidUtf8(bytes);
  let line = at.line;
  for (let i = 0; i < bad; i++) if (bytes[i] === NEWLINE) line += 1;
  const offset = at.offset + bad;
  const byte = bytes[bad]!.toString(16).toUpperCase().padStart(2, '0');
  throw invalidInput(
    `the findings file is not UTF-8: byte 0x${byte} at line ${line} (offset ${offset}) is ` +
      `not part of a UTF-8 character; ${CONVERT}`,
    { problem: 'encoding', line, offset },
  );
}

/** The index of the first byte that does not begin or continue a well-formed character. */
export function firstInvalidUtf8(bytes: Buffer): number {
  let i = 0;
  while (i < bytes.length) {
    const b = bytes[i]!;
    if (b < 0x80) {
      i += 1;
      continue;
    }
    // The lead byte gives the length and the range of the byte after it (which excludes
    // overlong forms, surrogates and code points past U+10FFFF); the rest are 80..BF.
    let length: number;
    let low = 0x80;
    let high = 0xbf;
    if (b >= 0xc2 && b <= 0xdf) length = 2;
    else if (b >= 0xe0 && b <= 0xef) {
      length = 3;
      if (b === 0xe0) low = 0xa0;
      if (b === 0xed) high = 0x9f;
    } else if (b >= 0xf0 && b <= 0xf4) {
      length = 4;
      if (b === 0xf0) low = 0x90;
      if (b === 0xf4) high = 0x8f;
    } else return i;
    for (let k = 1; k < length; k++) {
      const c = bytes[i + k];
      if (c === undefined) return i;
      const [from, to] = k === 1 ? [low, high] : [0x80, 0xbf];
      if (c < from || c > to) return i;
    }
    i += length;
  }
  return bytes.length;
}
