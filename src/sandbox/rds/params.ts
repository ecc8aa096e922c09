import type { ParamReader, QueryParams, QueryValue } from '../query/form.ts';
import { invalidValue } from './errors.ts';

/*
 * RDS names the items of its request lists (`VpcSecurityGroupIds.VpcSecurityGroupId.1`,
 * `Tags.Tag.1.Key`), where IAM and STS say `member`. These read them, and build the
 * typed parameters the mutation log records: what the SDK command input stated.
 */

export type ParamType = 'string' | 'int' | 'bool' | 'strings' | 'tags' | 'filters';

export interface Tag {
  Key: string;
  Value: string;
}

export interface Filter {
  Name: string;
  Values: string[];
}

/** The items of a named list: `{ Outer: { Inner: [...] } }`, or `[...]` sent as members. */
export function namedList(raw: QueryParams, outer: string, inner: string): QueryValue[] {
  const value = raw[outer];
  if (value === undefined || value === '') return [];
  if (Array.isArray(value)) return value;
  if (typeof value === 'object') {
    const items = value[inner];
    if (items === undefined || items === '') return [];
    if (Array.isArray(items)) return items;
  }
  throw invalidValue(`${outer} must be a list of ${inner}`);
}

export function strings(raw: QueryParams, outer: string, inner: string): string[] {
  return namedList(raw, outer, inner).map((v) => {
    if (typeof v !== 'string') throw invalidValue(`${outer} must be a list of ${inner} values`);
    return v;
  });
}

export function tags(raw: QueryParams, outer = 'Tags'): Tag[] {
  return namedList(raw, outer, 'Tag').map((item) => {
    if (typeof item !== 'object' || Array.isArray(item) || typeof item.Key !== 'string') {
      throw invalidValue(`each of ${outer} needs a Key`);
    }
    const value = item.Value;
    return { Key: item.Key, Value: typeof value === 'string' ? value : '' };
  });
}

export function filters(raw: QueryParams): Filter[] {
  return namedList(raw, 'Filters', 'Filter').map((item) => {
    if (typeof item !== 'object' || Array.isArray(item) || typeof item.Name !== 'string') {
      throw invalidValue('each filter needs a Name');
    }
    return { Name: item.Name, Values: strings(item, 'Values', 'Value') };
  });
}

/** The inner element name of each list parameter the sandbox reads. */
const LIST_ITEMS: Record<string, string> = {
  VpcSecurityGroupIds: 'VpcSecurityGroupId',
  AvailabilityZones: 'AvailabilityZone',
  DBSecurityGroups: 'DBSecurityGroupName',
};

/**
 * Reads the parameters of `spec` that the request carries, typed, in the order of the
 * spec. Parameters the caller left out stay out, so the result is the command input.
 */
export function typedParams(
  read: ParamReader,
  raw: QueryParams,
  spec: Record<string, ParamType>,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, type] of Object.entries(spec)) {
    if (raw[name] === undefined) continue;
    if (type === 'string') out[name] = read.str(name);
    else if (type === 'int') out[name] = read.int(name);
    else if (type === 'bool') out[name] = read.bool(name);
    else if (type === 'strings') out[name] = strings(raw, name, LIST_ITEMS[name] ?? 'member');
    else if (type === 'tags') out[name] = tags(raw, name);
    else out[name] = filters(raw);
  }
  return out;
}

/** Refuses parameters the sandbox does not act on, so no change is silently dropped. */
export function refuseUnknown(
  raw: QueryParams,
  spec: Record<string, ParamType>,
  operation: string,
): void {
  const unknown = Object.keys(raw).filter((name) => !(name in spec));
  if (unknown.length > 0) {
    throw invalidValue(
      `The sandbox does not emulate ${unknown.join(', ')} for ${operation}; ` +
        `it emulates ${Object.keys(spec).join(', ')}`,
    );
  }
}

/** Paging: MaxRecords from 20 to 100 (100 when left out), and the marker to resume at. */
export function paging(read: ParamReader): { max: number; marker: string | undefined } {
  const max = read.int('MaxRecords') ?? 100;
  if (max < 20 || max > 100) {
    throw invalidValue(`Invalid value ${max} for MaxRecords. Must be between 20 and 100`);
  }
  return { max, marker: read.str('Marker') };
}

/** One page of records sorted by identifier; the marker is the next page's first id. */
export function page<T>(
  items: readonly [string, T][],
  max: number,
  marker: string | undefined,
): { items: T[]; marker: string | undefined } {
  const sorted = [...items].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const start = marker === undefined ? 0 : sorted.findIndex(([id]) => id >= marker);
  const from = start === -1 ? sorted.length : start;
  const slice = sorted.slice(from, from + max);
  const next = sorted[from + max];
  return { items: slice.map(([, item]) => item), marker: next?.[0] };
}
