import { invalidInput } from '../domain/errors.ts';
import {
  SEVERITIES,
  SOURCE_KINDS,
  STATUSES,
  type Severity,
  type SourceKind,
  type Status,
} from '../domain/status.ts';
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
  const resourceType = split(raw.resourceType);
  const provider = split(raw.provider);
  if (status) query.status = status;
  if (severity) query.severity = severity;
  if (sourceKind) query.sourceKind = sourceKind;
  if (resourceType) query.resourceType = resourceType;
  if (provider) query.provider = provider;
  if (raw.q?.trim()) query.text = raw.q.trim();
  if (raw.sort) query.sort = raw.sort;
  if (raw.order) query.order = raw.order;
  if (raw.limit !== undefined) query.limit = raw.limit;
  if (raw.cursor) query.cursor = raw.cursor;
  return query;
}

function split(values: string[] | undefined): string[] | undefined {
  const items = (values ?? [])
    .flatMap((value) => value.split(','))
    .map((item) => item.trim())
    .filter(Boolean);
  return items.length > 0 ? items : undefined;
}

function oneOf<T extends string>(
  name: string,
  value: string[] | undefined,
  allowed: readonly T[],
): T[] | undefined {
  const items = split(value);
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
