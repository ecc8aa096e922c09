/**
 * Text the databases cannot keep as given. PostgreSQL refuses NUL in text outright, SQLite
 * keeps it but then compares and searches past it oddly; and a lone UTF-16 surrogate is not
 * Unicode, so both drivers store U+FFFD instead. Such text is refused where it enters, so
 * what is stored is always exactly what was sent.
 */
export type TextProblem = 'nul' | 'lone_surrogate';

/** A string somewhere in a value that cannot be stored, and where it is. */
export interface UnstorableText {
  /** `comment`, `filters.0.value`; empty for the value itself. */
  path: string;
  /** The same path as property names and array indexes. */
  segments: (string | number)[];
  problem: TextProblem;
  /** Whether the problem is in a property name rather than a value. */
  inKey: boolean;
}

export function textProblem(text: string): TextProblem | undefined {
  if (text.includes('\u0000')) return 'nul';
  if (!text.isWellFormed()) return 'lone_surrogate';
  return undefined;
}

/**
 * Whether parsing this JSON text can give a string `textProblem` refuses. JSON carries a
 * NUL only as the escape \u0000 (a raw one is a syntax error), and a lone surrogate only
 * as an escape in \ud800-\udfff or raw in text that is itself not well formed. Text with
 * neither parses to storable strings alone, so the parsed value need not be walked; a
 * false alarm (an escaped backslash before `u0000`) costs only that walk.
 */
export function jsonMayHoldUnstorableText(text: string): boolean {
  // Most text has no \u escape at all, and a plain search says so several times faster
  // than the pattern; the pattern is tried only where an escape starts.
  for (let at = text.indexOf('\\u'); at !== -1; at = text.indexOf('\\u', at + 2)) {
    UNSTORABLE_ESCAPE.lastIndex = at;
    if (UNSTORABLE_ESCAPE.test(text)) return true;
  }
  return !text.isWellFormed();
}

const UNSTORABLE_ESCAPE = /\\u(?:0000|[dD][89a-fA-F])/y;

/**
 * A path or value shown in a message, cut in the middle past `max` characters: a value
 * nested thousands deep must not make a message of megabytes that no client shows whole.
 */
export function shorten(text: string, max = 240): string {
  if (text.length <= max) return text;
  const keep = Math.floor((max - 20) / 2);
  return `${text.slice(0, keep)}...(${text.length - 2 * keep} more)...${text.slice(-keep)}`;
}

/** What is wrong, in words a person sending the text can act on. */
export function describeTextProblem(problem: TextProblem): string {
  return problem === 'nul'
    ? 'contains a NUL character (\\u0000), which cannot be stored or searched for; remove it'
    : 'contains a lone UTF-16 surrogate (such as \\ud800 without its pair), which is not ' +
        'valid Unicode text; send well-formed text';
}

/**
 * The first string (value or property name) in a parsed JSON value that cannot be stored.
 * Only plain objects and arrays are entered: anything else is not text from a client. A
 * loop rather than recursion, so no nesting depth can overflow the stack.
 */
export function findUnstorableText(value: unknown): UnstorableText | undefined {
  // Each entry links to its parent, so that the path is built only for the string found.
  interface Place {
    value: unknown;
    segment?: string | number;
    parent?: Place;
  }
  const found = (place: Place, problem: TextProblem, inKey: boolean): UnstorableText => {
    const segments: (string | number)[] = [];
    for (let p: Place | undefined = place; p?.segment !== undefined; p = p.parent) {
      segments.push(p.segment);
    }
    segments.reverse();
    const path = shorten(segments.map((s) => (typeof s === 'string' ? printable(s) : s)).join('.'));
    return { path, segments, problem, inKey };
  };
  const pending: Place[] = [{ value }];
  for (let place = pending.pop(); place; place = pending.pop()) {
    const item = place.value;
    if (typeof item === 'string') {
      const problem = textProblem(item);
      if (problem) return found(place, problem, false);
    } else if (Array.isArray(item)) {
      for (let i = item.length - 1; i >= 0; i--) {
        pending.push({ value: item[i], segment: i, parent: place });
      }
    } else if (isPlainObject(item)) {
      const entries = Object.entries(item);
      for (const [key] of entries) {
        const problem = textProblem(key);
        if (problem) return found({ value: key, segment: key, parent: place }, problem, true);
      }
      for (let i = entries.length - 1; i >= 0; i--) {
        const [key, child] = entries[i]!;
        pending.push({ value: child, segment: key, parent: place });
      }
    }
  }
  return undefined;
}

/** A string shown in a message with any unstorable characters escaped. */
export function printable(text: string): string {
  return textProblem(text) ? JSON.stringify(text).slice(1, -1) : text;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object') return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}
