import { invalidInput } from '../domain/errors.ts';
import { jsonMayHoldUnstorableText } from '../domain/text.ts';
import { locateSyntaxError } from './json-text.ts';
import { decodeUtf8 } from './encoding.ts';
import { CLOSE_BRACKET, COMMA, isSpace, NEWLINE, OPEN_BRACKET } from './json-bytes.ts';
import { type ArrayElement, JsonArraySplitter } from './json-stream.ts';

/** One element of the top-level array, parsed. */
export interface ReadElement {
  value: unknown;
  /** Its place in the array, from 0. */
  index: number;
  /** Whether its text is known to hold no string a database cannot keep as written. */
  storable: boolean;
  /** Its text and the 1-based line it starts on, worked out when an error must name them. */
  locate(): { text: string; line: number };
}

/**
 * Bytes held while no end of an element has been seen; past this the file is not laid
 * out as expected (or holds very large findings), and the careful path takes over.
 */
const MAX_GUESS_BYTES = 4 * 1024 * 1024;

/**
 * Reads a JSON array that arrives in chunks, an element at a time, and parses them.
 *
 * Scanners write their findings pretty-printed, every element closing on a line of its own
 * indented like the line it opened on. A raw newline is never inside a JSON string, so the
 * bytes "newline, that indentation, `}`, `,`" can only be such a close, and everything
 * before the last of them in the data at hand is a run of whole elements. The run is
 * parsed by one native `JSON.parse` as an array, without looking at its bytes in
 * JavaScript. The guess proves itself: text that starts at an element and parses as
 * elements whole cannot end anywhere but between two of them. When the guess fails (a
 * file laid out otherwise, a syntax error), the rest of the file goes through
 * `JsonArraySplitter`, which tracks every byte and names the place of any error.
 */
export class JsonArrayReader {
  private mode: 'start' | 'runs' | 'careful' = 'start';
  /**
   * Bytes from the start of the next element on, not yet parsed. They are always in a
   * buffer of this reader's own, after at least one byte already read: a run is parsed
   * with that byte turned into `[` and its closing `,` into `]`, so the text decoded is a
   * JSON array as it stands, not one built by joining strings (which copies it again).
   */
  private pending: Buffer = Buffer.alloc(0);
  /** The close of an element: newline, the first element's indentation, `},`. */
  private close: Buffer | undefined;
  private splitter: JsonArraySplitter | undefined;
  private index = 0;
  private line = 1;
  private bytes = 0;

  /** The bytes read so far. */
  get offset(): number {
    return this.bytes;
  }

  /** Feeds the next chunk; returns the elements it completed, in order. */
  push(chunk: Buffer): ReadElement[] {
    this.bytes += chunk.length;
    if (this.mode === 'careful') return this.carefully(chunk);
    const joined = Buffer.allocUnsafe(1 + this.pending.length + chunk.length);
    this.pending.copy(joined, 1);
    chunk.copy(joined, 1 + this.pending.length);
    this.pending = joined.subarray(1);
    if (this.mode === 'start') {
      const found = this.findFirstElement();
      if (found === 'wait') return [];
      if (found === 'careful') return this.switchToCareful();
    }
    return this.runs(chunk.length);
  }

  /** Says the input is over: the last element, the `]` and what follows are checked closely. */
  end(): ReadElement[] {
    const last = this.mode === 'careful' ? [] : this.switchToCareful();
    this.splitter!.end();
    return last;
  }

  /**
   * Before the first element: finds the `[`, then the first element and the indentation
   * of its line. A file with its first element on the line of the `[`, or anything
   * unexpected, is read carefully throughout.
   */
  private findFirstElement(): 'wait' | 'careful' | 'runs' {
    const bytes = this.pending;
    let i = 0;
    while (i < bytes.length && isSpace(bytes[i]!)) i += 1;
    if (i === bytes.length) return bytes.length > MAX_GUESS_BYTES ? 'careful' : 'wait';
    if (bytes[i] !== OPEN_BRACKET) return 'careful';
    let start = i + 1;
    while (start < bytes.length && isSpace(bytes[start]!)) start += 1;
    if (start === bytes.length) return bytes.length > MAX_GUESS_BYTES ? 'careful' : 'wait';
    const lineStart = bytes.lastIndexOf(NEWLINE, start - 1);
    const indent = bytes.subarray(lineStart + 1, start);
    if (lineStart <= i || indent.some((c) => c !== 0x20 && c !== 0x09)) return 'careful';
    this.line += countNewlines(bytes, 0, start);
    this.pending = bytes.subarray(start);
    this.close = Buffer.concat([Buffer.from('\n'), indent, Buffer.from('},')]);
    this.mode = 'runs';
    return 'runs';
  }

  /** Parses every whole element in the pending bytes as one run, or gives up guessing. */
  private runs(added: number): ReadElement[] {
    const close = this.close!;
    // Only the new bytes (and a close that straddles the old end) can hold a new close.
    const from = Math.max(0, this.pending.length - added - close.length);
    const found = this.pending.lastIndexOf(close);
    if (found < from) {
      if (this.pending.length > MAX_GUESS_BYTES) return this.switchToCareful();
      return [];
    }
    const end = found + close.length - 1;
    const array = Buffer.from(this.pending.buffer, this.pending.byteOffset - 1, end + 2);
    array[0] = OPEN_BRACKET;
    array[end + 1] = CLOSE_BRACKET;
    // The array starts one byte before the pending bytes, at the `[` put there.
    const text = decodeUtf8(array, {
      line: this.line,
      offset: this.bytes - this.pending.length - 1,
    });
    let values: unknown[];
    try {
      values = JSON.parse(text) as unknown[];
    } catch {
      array[end + 1] = COMMA;
      return this.switchToCareful();
    }
    const line = this.line;
    const first = this.index;
    const storable = !jsonMayHoldUnstorableText(text);
    this.index += values.length;
    this.line += countNewlines(this.pending, 0, end + 1);
    this.pending = this.pending.subarray(end + 1);
    let located: ArrayElement[] | undefined;
    const locate = (k: number) => {
      located ??= splitRun(text.slice(1, -1), first, line);
      const element = located[k]!;
      return { text: element.text, line: element.line };
    };
    return values.map((value, k) => ({
      value,
      index: first + k,
      storable,
      locate: () => locate(k),
    }));
  }

  /**
   * Hands the pending bytes, and every later chunk, to the careful splitter: from the
   * start of the file when no element was read yet, else from the next element on.
   */
  private switchToCareful(): ReadElement[] {
    const rest = this.pending;
    this.pending = Buffer.alloc(0);
    this.splitter =
      this.mode === 'runs'
        ? new JsonArraySplitter({
            index: this.index,
            line: this.line,
            offset: this.bytes - rest.length,
          })
        : new JsonArraySplitter();
    this.mode = 'careful';
    return this.carefully(rest);
  }

  private carefully(chunk: Buffer): ReadElement[] {
    return this.splitter!.push(chunk).map(parsed);
  }
}

/** An element the careful splitter found, parsed; a syntax error names its line. */
function parsed(element: ArrayElement): ReadElement {
  let value: unknown;
  try {
    value = JSON.parse(element.text);
  } catch (error) {
    const found = locateSyntaxError(element.text);
    const detail = found?.problem ?? (error instanceof Error ? error.message : String(error));
    const line = element.line + (found ? found.line - 1 : 0);
    throw invalidInput(`not valid JSON: ${detail} at line ${line}, in findings[${element.index}]`, {
      problem: 'syntax',
      index: element.index,
      line,
    });
  }
  return {
    value,
    index: element.index,
    storable: !jsonMayHoldUnstorableText(element.text),
    locate: () => ({ text: element.text, line: element.line }),
  };
}

/** The elements of a run that parsed, with their texts and lines: only for error messages. */
function splitRun(text: string, index: number, line: number): ArrayElement[] {
  const splitter = new JsonArraySplitter({ index, line });
  const elements = splitter.push(Buffer.from(`${text}]`, 'utf8'));
  splitter.end();
  return elements;
}

/** Four newline bytes, to compare a 32-bit word against in one step. */
const NEWLINES = NEWLINE * 0x01010101;

/**
 * Newlines in `bytes[from, to)`: the only loop over every byte on the fast path, so it
 * looks at four at a time. In each 32-bit word XORed with four newlines, a byte is zero
 * exactly where a newline was; the arithmetic below sets the top bit of exactly those
 * bytes (without the borrows of the shorter "has a zero byte" test, which can mark a
 * byte after a zero one), and a multiply adds the marks up.
 */
function countNewlines(bytes: Buffer, from: number, to: number): number {
  let n = 0;
  let i = from;
  // A 32-bit view needs an aligned start: the first few bytes are counted one by one.
  const aligned = Math.min(to, from + ((4 - ((bytes.byteOffset + from) & 3)) & 3));
  for (; i < aligned; i++) if (bytes[i] === NEWLINE) n += 1;
  const words = new Int32Array(bytes.buffer, bytes.byteOffset + i, (to - i) >>> 2);
  for (let k = 0; k < words.length; k++) {
    const v = words[k]! ^ NEWLINES;
    const zeros = ~(((v & 0x7f7f7f7f) + 0x7f7f7f7f) | v | 0x7f7f7f7f);
    n += Math.imul((zeros >>> 7) & 0x01010101, 0x01010101) >>> 24;
  }
  for (i += words.length * 4; i < to; i++) if (bytes[i] === NEWLINE) n += 1;
  return n;
}
