import { invalidInput } from '../domain/errors.ts';
import {
  SEVERITIES,
  SOURCE_KINDS,
  STATUSES,
  type Severity,
  type SourceKind,
  type Status,
} from '../domain/status.ts';
import { PROVIDERS } from '../domain/action.ts';
import type { ActionQuery, SortField } from '../store/store.ts';

/** The list query as it arrives, after schema validation. */
export interface ListQueryString {
  status?: string[];
  severity?: string[];
  sourceKind?: string[];
  resourceType?: string[];
  provider?: string[];
  q?: string;
  sort?: SortField;
  order?: 'asc' | 'desc';
  limit?: number;
  cursor?: string;
}

/**
 * Turns the filters into the store's query, naming any unknown value. Each filter may be
 * repeated, and each value may hold several, comma-separated.
 */
export function parseListQuery(raw: ListQueryString): ActionQuery {
  const query: ActionQuery = {};
  const status = oneOf<Status>('status', raw.status, STATUSES);
  const severity = oneOf<Severity>('severity', raw.severity, SEVERITIES);
  const sourceKind = oneOf<SourceKind>('sourceKind', raw.sourceKind, SOURCE_KINDS);
  const resourceType = split('resourceType', raw.resourceType);
  const provider = oneOf('provider', raw.provider, PROVIDERS);
  if (status) query.status = status;
  if (severity) query.severity = severity;
  if (sourceKind) query.sourceKind = sourceKind;
  if (resourceType) query.resourceType = resourceType;
  if (provider) query.provider = provider;
  return { ...query, ...paging(raw) };
}

/** A listing's text search, order and page, as the query arrives and as the store takes it. */
interface Paging<S extends string> {
  sort?: S;
  order?: 'asc' | 'desc';
  limit?: number;
  cursor?: string;
}

/** The text search and paging of a listing's query, leaving out what was not given. */
export function paging<S extends string>(
  raw: Paging<S> & { q?: string },
): Paging<S> & { text?: string } {
  const out: Paging<S> & { text?: string } = {};
  if (raw.q?.trim()) out.text = raw.q.trim();
  if (raw.sort) out.sort = raw.sort;
  if (raw.order) out.order = raw.order;
  if (raw.limit !== undefined) out.limit = raw.limit;
  if (raw.cursor) out.cursor = raw.cursor;
  return out;
}

/**
 * Values of a filter, comma-separated or repeated. An empty item (`a,,b`, a trailing comma,
 * `name=`) is refused rather than dropped: it is a typo that would otherwise widen the filter.
 */
export function split(name: string, values: string[] | undefined): string[] | undefined {
  if (values === undefined) return undefined;
  const items = values.flatMap((value) => value.split(',')).map((item) => item.trim());
  if (items.some((item) => item === '')) {
    throw invalidInput(
      `${name} has an empty value; give one or more values separated by single commas`,
      { filter: name },
    );
  }
  return items.length > 0 ? items : undefined;
}

/** Values of a filter (comma-separated or repeated), each checked against `allowed`. */
export function oneOf<T extends string>(
  name: string,
  value: string[] | undefined,
  allowed: readonly T[],
): T[] | undefined {
  const items = split(name, value);
  for (const item of items ?? []) {
    if (!(allowed as readonly string[]).includes(item)) {
      throw invalidInput(
        `unknown ${name} "${item}" in the filter; use any of ${allowed.join(', ')}`,
        { filter: name, value: item },
      );
    }
  }
  return items as T[] | undefined;
}
