import {
  type Document,
  isAlias,
  isCollection,
  isPair,
  type Node,
  parseAllDocuments,
  visit,
} from 'yaml';
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

/**
 * Deepest nesting of mappings and sequences read, as for JSON bodies. Scanner reports and
 * manifests need a few dozen levels; far deeper text would overflow the stack of whatever
 * walks the value next.
 */
export const MAX_YAML_DEPTH = 512;

/**
 * How far aliases may expand: the YAML library's count of aliased nodes a document copies.
 * Real files use a few anchors for shared labels; an "alias bomb" nests anchors so that a
 * small file expands to billions of nodes.
 */
export const MAX_YAML_ALIAS_COUNT = 100;

const NOTHING_IMPORTED = '; nothing was imported';

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

/**
 * Parses every document of a YAML file. Any error or limit of the parser refuses the whole
 * file with its place: a syntax error, nesting deeper than MAX_YAML_DEPTH, an alias with no
 * anchor, aliases that expand too far.
 */
export function parseYamlText(text: string): YamlFile {
  let list: Document[];
  try {
    const documents = parseAllDocuments(text, { uniqueKeys: true, prettyErrors: false });
    list = Array.isArray(documents) ? documents : [];
  } catch (error) {
    throw unreadable(error);
  }
  list.forEach((doc, index) => {
    refuseErrors(text, doc);
    refuseDepth(text, doc, index, list.length);
  });
  const values: unknown[] = [];
  const kept: Document[] = [];
  list.forEach((doc, index) => {
    const value = toValue(text, doc, index, list.length);
    if (value === null || value === undefined) return;
    refuseExpandedShape(text, doc, value, index, list.length);
    values.push(value);
    kept.push(doc);
  });
  return {
    values,
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

function refuseErrors(text: string, doc: Document): void {
  const error = doc.errors[0];
  if (!error) return;
  const offset = error.pos[0];
  const position = positionAt(text, offset);
  const at = `at line ${position.line}, column ${position.column}`;
  // The library catches its own stack overflow on deep collections and reports it as an
  // error of the document; its message would only name the overflow.
  if (error.code === 'RESOURCE_EXHAUSTION') {
    throw invalidInput(`not valid YAML: ${tooDeepText()} ${at}${NOTHING_IMPORTED}`, {
      problem: 'too_deep',
      maxDepth: MAX_YAML_DEPTH,
      ...position,
      offset,
    });
  }
  const truncated = offset >= text.trimEnd().length;
  throw invalidInput(
    `not valid YAML: ${error.message.split(' at line ')[0]} ${at}` +
      `${truncated ? ' (the file looks truncated)' : ''}${NOTHING_IMPORTED}`,
    { problem: truncated ? 'truncated' : 'syntax', ...position, offset },
  );
}

/** Walks the document without recursion and refuses it at its first node nested too deep. */
function refuseDepth(text: string, doc: Document, index: number, count: number): void {
  const stack: { node: unknown; depth: number }[] = [{ node: doc.contents, depth: 0 }];
  for (let item = stack.pop(); item; item = stack.pop()) {
    const { node, depth } = item;
    if (isPair(node)) {
      stack.push({ node: node.key, depth }, { node: node.value, depth });
      continue;
    }
    if (!isCollection(node)) continue;
    if (depth + 1 > MAX_YAML_DEPTH) {
      const offset = node.range?.[0] ?? 0;
      const position = positionAt(text, offset);
      throw invalidInput(
        `not valid YAML: ${documentName(index, count)}${tooDeepText()} at line ` +
          `${position.line}, column ${position.column}${NOTHING_IMPORTED}`,
        { problem: 'too_deep', maxDepth: MAX_YAML_DEPTH, ...position, offset },
      );
    }
    for (const child of node.items) stack.push({ node: child, depth: depth + 1 });
  }
}

function toValue(text: string, doc: Document, index: number, count: number): unknown {
  try {
    return doc.toJS({ maxAliasCount: MAX_YAML_ALIAS_COUNT }) as unknown;
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const where = documentName(index, count);
    if (message.startsWith('Excessive alias count')) {
      const first = firstAlias(text, doc, () => true);
      throw invalidInput(
        `not valid YAML: ${where}its aliases expand too far (more than ` +
          `${MAX_YAML_ALIAS_COUNT} copies of anchored nodes, as in an "alias bomb")` +
          `${first ? `; the first alias is *${first.name} at line ${first.line}, column ${first.column}` : ''}` +
          NOTHING_IMPORTED,
        {
          problem: 'too_many_aliases',
          maxAliasCount: MAX_YAML_ALIAS_COUNT,
          document: index + 1,
          ...(first ? { line: first.line, column: first.column } : {}),
        },
      );
    }
    if (message.startsWith('Unresolved alias')) {
      const missing = firstAlias(text, doc, (alias) => !alias.resolve(doc));
      const name = missing
        ? `*${missing.name} at line ${missing.line}, column ${missing.column}`
        : 'an alias';
      throw invalidInput(
        `not valid YAML: ${where}${name} refers to no anchor (an anchor \`&name\` must come ` +
          `before its alias in the same document)${NOTHING_IMPORTED}`,
        {
          problem: 'unresolved_alias',
          document: index + 1,
          ...(missing ? { line: missing.line, column: missing.column } : {}),
        },
      );
    }
    throw unreadable(error, where);
  }
}

/**
 * Aliases can build what the text does not show: a value that contains itself (`&a [*a]`),
 * or nesting far deeper than the text's when each anchor holds an alias of the one
 * before. Both are refused; the walk needs no recursion and, with the alias count bounded,
 * visits a bounded number of values.
 */
function refuseExpandedShape(
  text: string,
  doc: Document,
  value: unknown,
  index: number,
  count: number,
): void {
  const where = documentName(index, count);
  const open = new Set<object>();
  const stack: { value: unknown; depth: number; leave: boolean }[] = [
    { value, depth: 0, leave: false },
  ];
  for (let item = stack.pop(); item; item = stack.pop()) {
    const current = item.value;
    if (item.leave) {
      open.delete(current as object);
      continue;
    }
    const children = Array.isArray(current)
      ? current
      : isPlainObject(current)
        ? Object.values(current)
        : undefined;
    if (!children) continue;
    if (open.has(current as object)) {
      const alias = firstAlias(text, doc, (a, ancestors) => ancestors.includes(a.resolve(doc)));
      throw invalidInput(
        `not valid YAML: ${where}` +
          `${alias ? `the alias *${alias.name} at line ${alias.line}, column ${alias.column}` : 'an alias'}` +
          ` sits inside its own anchor, so the value would contain itself${NOTHING_IMPORTED}`,
        {
          problem: 'recursive_alias',
          document: index + 1,
          ...(alias ? { line: alias.line, column: alias.column } : {}),
        },
      );
    }
    if (item.depth + 1 > MAX_YAML_DEPTH) {
      throw invalidInput(
        `not valid YAML: ${where}with its aliases expanded, ${tooDeepText()}${NOTHING_IMPORTED}`,
        { problem: 'too_deep', maxDepth: MAX_YAML_DEPTH, document: index + 1 },
      );
    }
    open.add(current as object);
    stack.push({ value: current, depth: item.depth, leave: true });
    for (const child of children) stack.push({ value: child, depth: item.depth + 1, leave: false });
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** The first alias in the document that `wanted` picks, with its place. */
function firstAlias(
  text: string,
  doc: Document,
  wanted: (alias: Extract<Node, { source: string }>, ancestors: readonly unknown[]) => boolean,
): { name: string; line: number; column: number } | undefined {
  let found: { name: string; line: number; column: number } | undefined;
  try {
    visit(doc, {
      Alias(_key, alias, ancestors) {
        if (!isAlias(alias) || !wanted(alias, ancestors)) return undefined;
        found = { name: alias.source, ...positionAt(text, alias.range?.[0] ?? 0) };
        return visit.BREAK;
      },
    });
  } catch {
    // Only the message's pointer is lost: the refusal stands without it.
  }
  return found;
}

/** Anything else the library throws: a stack overflow is nesting, the rest is named as is. */
function unreadable(error: unknown, where = '') {
  if (error instanceof RangeError) {
    return invalidInput(`not valid YAML: ${where}${tooDeepText()}${NOTHING_IMPORTED}`, {
      problem: 'too_deep',
      maxDepth: MAX_YAML_DEPTH,
    });
  }
  const message = error instanceof Error ? error.message : String(error);
  return invalidInput(`not valid YAML: ${where}${message}${NOTHING_IMPORTED}`, {
    problem: 'syntax',
  });
}

function tooDeepText(): string {
  return `mappings and sequences nest deeper than ${MAX_YAML_DEPTH} levels`;
}

function documentName(index: number, count: number): string {
  return count > 1 ? `document ${index + 1}: ` : '';
}
