/**
 * Typed reads from parsed JSON that name the JSON path of anything out of shape.
 * Importers read every field they rely on through these, so a bad finding is refused
 * with the place to look rather than turning into a half-filled record.
 */

import { shorten } from '../domain/text.ts';

export type Path = readonly (string | number)[];
export type JsonObject = Record<string, unknown>;

export class ShapeError extends Error {
  readonly path: Path;
  readonly problem: string;

  constructor(path: Path, problem: string) {
    super(`${formatPath(path)}: ${problem}`);
    this.name = 'ShapeError';
    this.path = path;
    this.problem = problem;
  }
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** `Findings[3].Compliance.Status`, or `findings[3]...` when the root is a bare array. */
export function formatPath(path: Path): string {
  let out = typeof path[0] === 'number' || path.length === 0 ? 'findings' : '';
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else if (!IDENTIFIER.test(segment)) out += `[${JSON.stringify(segment)}]`;
    else out += out === '' ? segment : `.${segment}`;
  }
  return shorten(out);
}

export function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** What a value is, for messages; short, and never more than a snippet of a string. */
export function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') {
    const shown = value.length > 40 ? `${value.slice(0, 40)}...` : value;
    return `the string ${JSON.stringify(shown)}`;
  }
  if (typeof value === 'number' || typeof value === 'boolean') {
    return `the ${typeof value} ${String(value)}`;
  }
  return `an ${typeof value}`;
}

function mismatch(path: Path, expected: string, value: unknown): ShapeError {
  const found = value === undefined ? 'it is missing' : `found ${describeValue(value)}`;
  return new ShapeError(path, `expected ${expected}, ${found}`);
}

export function asObject(value: unknown, path: Path): JsonObject {
  if (!isObject(value)) throw mismatch(path, 'an object', value);
  return value;
}

export function requiredObject(parent: JsonObject, key: string, path: Path): JsonObject {
  return asObject(parent[key], [...path, key]);
}

export function optionalObject(
  parent: JsonObject,
  key: string,
  path: Path,
): JsonObject | undefined {
  const value = parent[key];
  return value === undefined || value === null ? undefined : asObject(value, [...path, key]);
}

/** A string that must be present and not empty (ids, check ids, titles). */
export function requiredString(parent: JsonObject, key: string, path: Path): string {
  const value = parent[key];
  if (typeof value !== 'string' || value.trim() === '') {
    throw mismatch([...path, key], 'a non-empty string', value);
  }
  return value;
}

/** A string that may be absent or null; an empty string reads as absent. */
export function optionalString(parent: JsonObject, key: string, path: Path): string | undefined {
  const value = parent[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw mismatch([...path, key], 'a string', value);
  return value === '' ? undefined : value;
}

export function optionalNumber(parent: JsonObject, key: string, path: Path): number | undefined {
  const value = parent[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number') throw mismatch([...path, key], 'a number', value);
  return value;
}

/** An array with at least one element. */
export function requiredList(parent: JsonObject, key: string, path: Path): unknown[] {
  const value = parent[key];
  if (!Array.isArray(value)) throw mismatch([...path, key], 'an array', value);
  if (value.length === 0) {
    throw new ShapeError([...path, key], 'expected at least one entry, found an empty array');
  }
  return value;
}

/** Reads every entry of a required list, so that any bad one is refused, and returns the first. */
export function firstOfList<T>(
  parent: JsonObject,
  key: string,
  path: Path,
  read: (value: unknown, path: Path) => T,
): T {
  const entries = requiredList(parent, key, path).map((entry, i) => read(entry, [...path, key, i]));
  return entries[0] as T;
}

export function optionalStringList(parent: JsonObject, key: string, path: Path): string[] {
  const value = parent[key];
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw mismatch([...path, key], 'an array of strings', value);
  value.forEach((item, i) => {
    if (typeof item !== 'string') throw mismatch([...path, key, i], 'a string', item);
  });
  return value as string[];
}
