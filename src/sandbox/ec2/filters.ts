import type { QueryParams, QueryValue } from '../query/form.ts';
import { ec2Error } from './errors.ts';
import type { Tag } from './model.ts';

/** One `Filter.N`: a name and the values any of which may match. */
export interface Filter {
  name: string;
  values: string[];
}

/** What an item answers for each filter name it supports. */
export type FilterFields<T> = Record<string, (item: T) => readonly string[]>;

export function readFilters(raw: QueryParams): Filter[] {
  const list = raw.Filter;
  if (list === undefined) return [];
  if (!Array.isArray(list)) throw ec2Error.invalidParameter('Filter must be a list');
  return list.map((entry: QueryValue, i) => {
    if (typeof entry !== 'object' || Array.isArray(entry) || typeof entry.Name !== 'string') {
      throw ec2Error.invalidParameter(`Filter.${i + 1}.Name is required`);
    }
    const values = entry.Value ?? [];
    if (!Array.isArray(values) || values.some((v) => typeof v !== 'string')) {
      throw ec2Error.invalidParameter(`Filter.${i + 1}.Value must be a list of values`);
    }
    return { name: entry.Name, values: values as string[] };
  });
}

/**
 * The items every filter matches (filters AND, a filter's values OR). Values may use
 * EC2's wildcards: `*` for any run of characters, `?` for one. `tag:<key>` and
 * `tag-key` work for items with tags.
 */
export function applyFilters<T>(
  items: readonly T[],
  filters: readonly Filter[],
  fields: FilterFields<T>,
  tagsOf?: (item: T) => readonly Tag[],
): T[] {
  const tests = filters.map((f) => {
    const patterns = f.values.map(glob);
    const read = fieldFor(f.name, fields, tagsOf);
    return (item: T) => read(item).some((value) => patterns.some((p) => p.test(value)));
  });
  return items.filter((item) => tests.every((test) => test(item)));
}

function fieldFor<T>(
  name: string,
  fields: FilterFields<T>,
  tagsOf: ((item: T) => readonly Tag[]) | undefined,
): (item: T) => readonly string[] {
  const own = fields[name];
  if (own) return own;
  if (tagsOf && name.startsWith('tag:')) {
    const key = name.slice(4);
    return (item) =>
      tagsOf(item)
        .filter((t) => t.Key === key)
        .map((t) => t.Value);
  }
  if (tagsOf && name === 'tag-key') return (item) => tagsOf(item).map((t) => t.Key);
  throw ec2Error.unknownFilter(name);
}

function glob(pattern: string): RegExp {
  let out = '';
  for (let i = 0; i < pattern.length; i += 1) {
    const c = pattern[i] as string;
    if (c === '\\' && i + 1 < pattern.length) {
      out += escape(pattern[i + 1] as string);
      i += 1;
    } else if (c === '*') out += '.*';
    else if (c === '?') out += '.';
    else out += escape(c);
  }
  return new RegExp(`^${out}$`, 's');
}

function escape(c: string): string {
  return c.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** One page of `items` from `NextToken`, `MaxResults` items long (all when not given). */
export function paginate<T>(
  items: readonly T[],
  maxResults: number | undefined,
  nextToken: string | undefined,
): { page: T[]; nextToken: string | undefined } {
  let start = 0;
  if (nextToken !== undefined) {
    const decoded = Buffer.from(nextToken, 'base64url').toString('utf8');
    const match = /^offset:(\d+)$/.exec(decoded);
    if (!match) throw ec2Error.badToken(nextToken);
    start = Number(match[1]);
  }
  if (maxResults === undefined) return { page: items.slice(start), nextToken: undefined };
  if (maxResults < 5 || maxResults > 1000) {
    throw ec2Error.invalidParameter(
      `Value ( ${maxResults} ) for parameter maxResults is invalid. ` +
        'Expecting a value between 5 and 1000.',
    );
  }
  const end = start + maxResults;
  return {
    page: items.slice(start, end),
    nextToken: end < items.length ? Buffer.from(`offset:${end}`).toString('base64url') : undefined,
  };
}
