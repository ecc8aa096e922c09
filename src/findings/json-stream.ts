import { invalidInput } from '../domain/errors.ts';
import { decodeUtf8 } from './encoding.ts';
import {
  BACKSLASH,
  CLOSE_BRACE,
  CLOSE_BRACKET,
  COMMA,
  isSpace,
  NEWLINE,
  OPEN_BRACE,
  OPEN_BRACKET,
  QUOTE,
} from './json-bytes.ts';

/** One element of the top-level array, as the text it was written with. */
export interface ArrayElement {
  text: string;
  /** Its place in the array, from 0. */
  index: number;
  /** The 1-based line of the file its first character is on. */
  line: number;
}

/** One finding held whole while it is read; a larger element is refused, not buffered. */
export const MAX_ELEMENT_BYTES = 16 * 1024 * 1024;

/**
 * Splits a JSON array that arrives in chunks into the texts of its elements, so a findings
 * file of any size is read one finding at a time. It only finds where each element starts
 * and ends (tracking nesting, strings and escapes); each element is then parsed by the
 * native `JSON.parse`, which is many times faster than a token-by-token parser in
 * JavaScript such as stream-json's, and gives the same values. A UTF-8 character split
 * between chunks is safe: element boundaries are ASCII bytes and pieces are joined as bytes.
 */
export class JsonArraySplitter {
  private state: 'before' | 'value' | 'comma' | 'after' = 'before';
  private depth = 0;
  private inString = false;
  private escaped = false;
  /** Pieces of the element under way from earlier chunks. */
  private pieces: Buffer[] = [];
  /** Bytes held in `pieces`. */
  private pending = 0;
  private inElement = false;
  private index = 0;
  private line = 1;
  private elementLine = 1;
  /** Where in the file the element under way starts. */
  private elementOffset = 0;
  private bytes = 0;

  /**
   * `inArray` starts the splitter inside the array, right after its `[` or a comma, for a
   * reader that has handled the file up to there itself: `index` is the next element's
   * place, `line` the line it is on and `offset` the bytes of the file before it (0 when
   * the text was decoded already, and offsets can no longer be wrong).
   */
  constructor(inArray?: { index: number; line: number; offset?: number }) {
    if (inArray) {
      this.state = 'value';
      this.depth = 1;
      this.index = inArray.index;
      this.line = inArray.line;
      this.bytes = inArray.offset ?? 0;
    }
  }

  /** The bytes consumed so far. */
  get offset(): number {
    return this.bytes;
  }

  /** Feeds the next chunk; returns the elements it completed, in order. */
  push(chunk: Buffer): ArrayElement[] {
    const out: ArrayElement[] = [];
    let start = this.inElement ? 0 : -1;
    const n = chunk.length;
    for (let i = 0; i < n; i++) {
      if (this.inString) {
        i = this.skipString(chunk, i);
        continue;
      }
      if (this.depth >= 2) {
        i = this.inside(chunk, i);
        if (this.depth === 1) {
          out.push(this.finish(chunk, start, i + 1));
          start = -1;
        }
        continue;
      }
      const c = chunk[i] as number;
      if (isSpace(c)) {
        if (c === NEWLINE) this.line += 1;
        continue;
      }
      if (this.state === 'before') {
        if (c !== OPEN_BRACKET) throw this.syntax('the file does not start with [');
        this.state = 'value';
        this.depth = 1;
        continue;
      }
      if (this.state === 'after') throw this.syntax('there is more after the closing ]');
      if (this.depth === 1 && !this.inElement) {
        if (this.state === 'comma') {
          if (c === COMMA) {
            this.state = 'value';
            continue;
          }
          if (c === CLOSE_BRACKET) {
            this.close();
            continue;
          }
          throw this.syntax('expected , or ] after a finding');
        }
        // state 'value': an element starts here, or the array ends when it is empty.
        if (c === CLOSE_BRACKET && this.index === 0) {
          this.close();
          continue;
        }
        if (c === CLOSE_BRACKET || c === COMMA) throw this.syntax('expected a finding');
        this.inElement = true;
        this.elementLine = this.line;
        this.elementOffset = this.bytes + i;
        start = i;
      }
      if (c === QUOTE) this.inString = true;
      else if (c === OPEN_BRACE || c === OPEN_BRACKET) this.depth += 1;
      else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) {
        if (this.depth === 1) {
          // A bare value (a number, say) ended by the array's close.
          out.push(this.finish(chunk, start, i));
          start = -1;
          this.close();
          continue;
        }
        this.depth -= 1;
        if (this.depth === 1) {
          out.push(this.finish(chunk, start, i + 1));
          start = -1;
        }
      } else if (c === COMMA && this.depth === 1) {
        out.push(this.finish(chunk, start, i));
        start = -1;
        this.state = 'value';
      }
    }
    if (this.inElement && start >= 0) {
      this.pieces.push(chunk.subarray(start));
      this.pending += n - start;
      if (this.pending > MAX_ELEMENT_BYTES) {
        throw invalidInput(
          `findings[${this.index}] (line ${this.elementLine}) is larger than ` +
            `${MAX_ELEMENT_BYTES / (1024 * 1024)} MB; no scanner writes one finding that large`,
          { problem: 'too_large', index: this.index, line: this.elementLine },
        );
      }
    }
    this.bytes += n;
    return out;
  }

  /**
   * The fast path, inside an element, where only strings, nesting and lines matter: moves
   * from `i` to the bracket that closes the element (depth back to 1), or to the chunk's
   * last byte. The state lives in locals while it runs, since this loop sees every byte
   * of the file that is not inside a string.
   */
  private inside(chunk: Buffer, from: number): number {
    const n = chunk.length;
    let depth = this.depth;
    let line = this.line;
    let i = from;
    for (; i < n; i++) {
      const c = chunk[i] as number;
      // Indentation is most of what is outside strings in a pretty-printed file.
      if (c === 0x20) continue;
      if (c === QUOTE) {
        this.inString = true;
        i = this.skipString(chunk, i + 1);
        if (this.inString) break;
      } else if (c === NEWLINE) line += 1;
      else if (c === OPEN_BRACE || c === OPEN_BRACKET) depth += 1;
      else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) {
        depth -= 1;
        if (depth === 1) break;
      }
    }
    this.depth = depth;
    this.line = line;
    return Math.min(i, n - 1);
  }

  /**
   * Moves through a string from `i` to its closing quote, found with `indexOf` rather than
   * byte by byte, since strings are most of a findings file. Returns the quote's index, or
   * the chunk's last index when the string goes on into the next chunk.
   */
  private skipString(chunk: Buffer, i: number): number {
    let from = i;
    if (this.escaped) {
      this.escaped = false;
      from += 1;
    }
    for (;;) {
      const quote = chunk.indexOf(QUOTE, from);
      const end = quote === -1 ? chunk.length : quote;
      // A run of backslashes right before the quote (or the chunk's end) escapes it when odd;
      // the run may start where this scan started, never earlier.
      let slashes = 0;
      while (end - slashes - 1 >= from && chunk[end - slashes - 1] === BACKSLASH) slashes += 1;
      const escaped = slashes % 2 === 1;
      if (quote === -1) {
        this.escaped = escaped;
        return chunk.length - 1;
      }
      if (!escaped) {
        this.inString = false;
        return quote;
      }
      from = quote + 1;
    }
  }

  /** Says the input is over; refuses an array that was not closed. */
  end(): void {
    if (this.state === 'before') {
      throw invalidInput('the findings file is empty', { problem: 'empty' });
    }
    if (this.state !== 'after') {
      throw invalidInput(
        `not valid JSON: unexpected end of input at line ${this.line} after ${this.index} ` +
          'findings (the file looks truncated)',
        { problem: 'truncated', line: this.line, index: this.index },
      );
    }
  }

  private finish(chunk: Buffer, start: number, end: number): ArrayElement {
    const tail = chunk.subarray(Math.max(start, 0), end);
    const bytes = this.pieces.length ? Buffer.concat([...this.pieces, tail]) : tail;
    this.pieces = [];
    this.pending = 0;
    this.inElement = false;
    this.state = 'comma';
    const element = {
      text: decodeUtf8(bytes, { line: this.elementLine, offset: this.elementOffset }).trimEnd(),
      index: this.index,
      line: this.elementLine,
    };
    this.index += 1;
    return element;
  }

  private close() {
    this.depth = 0;
    this.state = 'after';
  }

  private syntax(problem: string) {
    return invalidInput(`not valid JSON: ${problem} at line ${this.line}`, {
      problem: 'syntax',
      line: this.line,
      index: this.index,
    });
  }
}
