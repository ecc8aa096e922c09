import { type Document, parseAllDocuments } from 'yaml';
import { invalidInput } from '../../domain/errors.ts';
import { positionAt, type TextPosition } from '../json-text.ts';
import type { Path } from '../shape.ts';

/** The documents of a YAML file, and where a path inside one of them starts in the text. */
export interface YamlFile {
  /** The documents' values; empty documents (a stray `---`) are left out. */
  values: unknown[];
  /** The 1-based line and column of `path` in the n-th value, or of its nearest parent. */
  locate(index: number, path: Path): TextPosition | undefined;
}

const FIRST_LINE = /^(---|%YAML|[A-Za-z0-9_."'/-]+\s*:(\s|$))/;

/**
 * True when the text reads as YAML rather than JSON: its first line that is not blank
 * or a comment is a document marker or a `key:` line. JSON and anything else (a CSV, say)
 * stay with the JSON reader and its messages.
 */
export function looksLikeYaml(text: string): boolean {
  for (const line of text.split(/\r?\n/)) {
    const trimmed = line.trim();
    if (trimmed === '' || trimmed.startsWith('#')) continue;
    return FIRST_LINE.test(trimmed);
  }
  return false;
}

/** Parses every document of a YAML file; the first syntax error refuses it with its place. */
export function parseYamlText(text: string): YamlFile {
  const documents = parseAllDocuments(text, { uniqueKeys: true, prettyErrors: false });
  const list: Document[] = Array.isArray(documents) ? documents : [];
  for (const doc of list) {
    const error = doc.errors[0];
    if (!error) continue;
    const offset = error.pos[0];
    const position = positionAt(text, offset);
    const truncated = offset >= text.trimEnd().length;
    throw invalidInput(
      `not valid YAML: ${error.message.split(' at line ')[0]} at line ${position.line}, column ` +
        `${position.column}${truncated ? ' (the file looks truncated)' : ''}; nothing was imported`,
      { problem: truncated ? 'truncated' : 'syntax', ...position, offset },
    );
  }
  const kept = list.filter((doc) => doc.toJS() !== null && doc.toJS() !== undefined);
  return {
    values: kept.map((doc) => doc.toJS({ maxAliasCount: 100 }) as unknown),
    locate(index, path) {
      const doc = kept[index];
      if (!doc) return undefined;
      for (let depth = path.length; depth >= 0; depth -= 1) {
        const node = depth === 0 ? doc.contents : doc.getIn(path.slice(0, depth), true);
        const range = (node as { range?: [number, number, number] } | undefined)?.range;
        if (range) return positionAt(text, range[0]);
      }
      return undefined;
    },
  };
}
