import { printParseErrorCode, visit, type JSONPath, type ParseErrorCode } from 'jsonc-parser';
import { invalidInput } from '../domain/errors.ts';

/** A place in the text, both 1-based, as an editor shows it. */
export interface TextPosition {
  line: number;
  column: number;
}

const BOM = 0xfeff;

/** The text without a UTF-8 byte-order mark, which editors on Windows like to add. */
export function stripBom(text: string): string {
  return text.charCodeAt(0) === BOM ? text.slice(1) : text;
}

/**
 * Parses JSON text. The native parser does the work; only when it refuses is the text
 * scanned again to say where and why, because the engine's own messages differ between
 * Node versions, sometimes lack a position and may quote the file's content.
 */
export function parseJsonText(text: string): unknown {
  if (!/\S/.test(text)) {
    throw invalidInput(
      'the findings file is empty; export findings from Prowler (--output-formats json-ocsf) ' +
        'or Security Hub (get-findings) and import that file',
      { problem: 'empty' },
    );
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw syntaxError(text, error);
  }
}

interface FoundError {
  code: ParseErrorCode;
  offset: number;
  line: number;
  column: number;
}

function syntaxError(text: string, cause: unknown) {
  const found = firstSyntaxError(text);
  if (!found) {
    const detail = cause instanceof Error ? cause.message : String(cause);
    return invalidInput(`not valid JSON: ${detail}; nothing was imported`, { problem: 'syntax' });
  }
  if (isTruncation(text, found)) {
    const end = positionAt(text, text.trimEnd().length);
    return invalidInput(
      `not valid JSON: unexpected end of input at line ${end.line}, column ${end.column} ` +
        '(the file looks truncated); nothing was imported',
      { problem: 'truncated', ...end, offset: text.trimEnd().length },
    );
  }
  const position = { line: found.line, column: found.column };
  return invalidInput(
    `not valid JSON: ${describeSyntaxError(text, found)} at line ${position.line}, ` +
      `column ${position.column}; nothing was imported`,
    { problem: 'syntax', ...position, offset: found.offset },
  );
}

const RUNS_TO_END = new Set([
  'UnexpectedEndOfString',
  'UnexpectedEndOfComment',
  'UnexpectedEndOfNumber',
]);

/**
 * A cut-off file fails at its very end, or inside a string, comment or number that
 * runs to the end without a line break (a line break would end the token earlier).
 */
function isTruncation(text: string, found: FoundError): boolean {
  if (found.offset >= text.trimEnd().length) return true;
  const runsToEnd = RUNS_TO_END.has(printParseErrorCode(found.code));
  return runsToEnd && !/[\r\n]/.test(text.slice(found.offset));
}

/** 1-based line and column of `offset`, counting the way editors do. */
export function positionAt(text: string, offset: number): TextPosition {
  let line = 1;
  let lineStart = 0;
  for (let i = text.indexOf('\n'); i !== -1 && i < offset; i = text.indexOf('\n', i + 1)) {
    line += 1;
    lineStart = i + 1;
  }
  return { line, column: offset - lineStart + 1 };
}

/** What is wrong with JSON text the native parser refused, and where in that text. */
export function locateSyntaxError(text: string): (TextPosition & { problem: string }) | undefined {
  const found = firstSyntaxError(text);
  if (!found) return undefined;
  return { problem: describeSyntaxError(text, found), line: found.line, column: found.column };
}

function firstSyntaxError(text: string): FoundError | undefined {
  let first: FoundError | undefined;
  try {
    visit(
      text,
      {
        onError(code, offset, _length, startLine, startCharacter) {
          first ??= { code, offset, line: startLine + 1, column: startCharacter + 1 };
        },
      },
      { disallowComments: true, allowTrailingComma: false, allowEmptyContent: false },
    );
  } catch (error) {
    // The scanner recurses per nesting level; text nested thousands deep overflows the
    // stack. The native parser's own message is then the best there is.
    if (!(error instanceof RangeError)) throw error;
  }
  return first;
}

/** Keyed by jsonc-parser's error names: its codes are a const enum, out of reach here. */
const SYNTAX_PROBLEMS: Readonly<Partial<Record<ReturnType<typeof printParseErrorCode>, string>>> = {
  InvalidSymbol: 'unexpected character',
  InvalidNumberFormat: 'malformed number',
  PropertyNameExpected: 'expected a property name in double quotes',
  ValueExpected: 'expected a value',
  ColonExpected: "expected ':' after a property name",
  CommaExpected: "expected ',' between values",
  CloseBraceExpected: "expected ',' or '}' after a property value",
  CloseBracketExpected: "expected ',' or ']' after an array element",
  EndOfFileExpected: 'unexpected content after the end of the JSON value',
  InvalidCommentToken: 'comments are not allowed in JSON',
  UnexpectedEndOfComment: 'unterminated comment',
  UnexpectedEndOfString: 'unterminated string',
  UnexpectedEndOfNumber: 'incomplete number',
  InvalidUnicode: 'invalid \\u escape in a string',
  InvalidEscapeCharacter: 'invalid escape sequence in a string',
  InvalidCharacter: 'unescaped control character in a string',
};

function describeSyntaxError(text: string, found: FoundError): string {
  const char = text[found.offset];
  const before = text.slice(0, found.offset).trimEnd();
  if ((char === '}' || char === ']') && before.endsWith(',')) {
    return `trailing comma before '${char}'`;
  }
  const problem = SYNTAX_PROBLEMS[printParseErrorCode(found.code)] ?? 'unexpected input';
  return char !== undefined && char.trim() !== '' ? `${problem}, found '${char}'` : problem;
}

/**
 * Where the value at `path` starts in the text, or where its nearest existing parent
 * starts when the value is missing. Subtrees off the path are skipped, so this is one
 * pass over the text whatever its size.
 */
export function locatePath(text: string, path: JSONPath): TextPosition | undefined {
  let best: { depth: number; position: TextPosition } | undefined;
  const record = (at: JSONPath, line: number, character: number) => {
    if (!isPrefix(at, path)) return false;
    if (!best || at.length > best.depth) {
      best = { depth: at.length, position: { line: line + 1, column: character + 1 } };
    }
    return true;
  };
  const onContainer = (
    _offset: number,
    _length: number,
    line: number,
    character: number,
    pathSupplier: () => JSONPath,
  ) => record(pathSupplier(), line, character);

  try {
    visit(
      text,
      {
        onObjectBegin: onContainer,
        onArrayBegin: onContainer,
        // A skipped subtree is resumed from only in the end callbacks, so they must exist.
        onObjectEnd: () => undefined,
        onArrayEnd: () => undefined,
        onObjectProperty(property, _offset, _length, line, character, pathSupplier) {
          record([...pathSupplier(), property], line, character);
        },
        onLiteralValue(_value, _offset, _length, line, character, pathSupplier) {
          record(pathSupplier(), line, character);
        },
      },
      { disallowComments: true },
    );
  } catch (error) {
    // The scanner recurses per nesting level, skipped subtrees included: text nested
    // thousands deep overflows the stack. The places found before it are still true.
    if (!(error instanceof RangeError)) throw error;
  }
  return best?.position;
}

function isPrefix(candidate: JSONPath, path: JSONPath): boolean {
  if (candidate.length > path.length) return false;
  return candidate.every((segment, i) => segment === path[i]);
}
