import { useState, type FormEvent, type ReactNode } from 'react';
import { get } from '../api.ts';
import { useLoad } from '../hooks.ts';
import { Link, navigate, type Location } from '../router.tsx';
import { ErrorNote, Json, Pager, Unavailable } from '../ui.tsx';

export type Item = Record<string, unknown>;

export interface Column {
  label: string;
  cell: (item: Item) => ReactNode;
}

export interface Filter {
  name: string;
  label: string;
  /** A menu of these values; a text box without. */
  values?: readonly string[];
}

interface Page {
  items: Item[];
  nextCursor?: string | null;
}

/**
 * A server-paged list whose filters live in the URL. The API may not have the route
 * (an older server): the page then says so rather than showing an empty list.
 */
export function ListPage(props: {
  title: string;
  what: string;
  endpoint: string;
  location: Location;
  columns: Column[];
  filters?: Filter[];
  /** Where a row leads, if anywhere. */
  link?: (item: Item) => string;
  toolbar?: (query: URLSearchParams) => ReactNode;
}) {
  const { params, path } = props.location;
  const query = new URLSearchParams();
  for (const f of [...(props.filters ?? []), { name: 'cursor' }]) {
    const value = params.get(f.name);
    if (value) query.set(f.name, value);
  }
  const key = `${props.endpoint}?${query}`;
  const page = useLoad<Page>(key, () => get<Page>(key), true);
  /** One navigation for all the changes, so filters set together all stay. */
  const go = (changes: Record<string, string | null>) => {
    const next = new URLSearchParams(params);
    for (const [name, value] of Object.entries(changes)) {
      if (value) next.set(name, value);
      else next.delete(name);
    }
    if (!('cursor' in changes)) next.delete('cursor');
    navigate(`${path}${next.size ? `?${next}` : ''}`);
  };

  return (
    <section aria-labelledby="list-title">
      <h1 id="list-title">{props.title}</h1>
      {page.error?.missingRoute ? (
        <Unavailable what={props.what} />
      ) : (
        <>
          {props.filters ? <Filters filters={props.filters} params={params} go={go} /> : null}
          {props.toolbar?.(query)}
          <ErrorNote error={page.error} context={`${props.what} could not be loaded`} />
          <table>
            <thead>
              <tr>
                {props.columns.map((c) => (
                  <th key={c.label} scope="col">
                    {c.label}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {(page.data?.items ?? []).map((item, i) => (
                <tr key={String(item.id ?? i)}>
                  {props.columns.map((c, j) => (
                    <td key={c.label}>
                      {j === 0 && props.link ? (
                        <Link to={props.link(item)}>{c.cell(item)}</Link>
                      ) : (
                        c.cell(item)
                      )}
                    </td>
                  ))}
                </tr>
              ))}
            </tbody>
          </table>
          {page.loading && !page.data ? <p role="status">Loading…</p> : null}
          {page.data && page.data.items.length === 0 ? <p role="status">Nothing to show.</p> : null}
          <Pager
            current={params.get('cursor')}
            next={page.data?.nextCursor}
            go={(cursor) => go({ cursor })}
          />
        </>
      )}
    </section>
  );
}

function Filters(props: {
  filters: Filter[];
  params: URLSearchParams;
  go: (changes: Record<string, string | null>) => void;
}) {
  const texts = props.filters.filter((f) => !f.values);
  const [draft, setDraft] = useState<Record<string, string>>(() =>
    Object.fromEntries(texts.map((f) => [f.name, props.params.get(f.name) ?? ''])),
  );
  const submit = (event: FormEvent) => {
    event.preventDefault();
    props.go(Object.fromEntries(texts.map((f) => [f.name, draft[f.name]?.trim() || null])));
  };
  return (
    <form className="filters" role="search" onSubmit={submit}>
      {props.filters.map((f) =>
        f.values ? (
          <label key={f.name}>
            {f.label}
            <select
              value={props.params.get(f.name) ?? ''}
              onChange={(e) => props.go({ [f.name]: e.target.value || null })}
            >
              <option value="">any</option>
              {f.values.map((v) => (
                <option key={v} value={v}>
                  {v}
                </option>
              ))}
            </select>
          </label>
        ) : (
          <label key={f.name}>
            {f.label}
            <input
              value={draft[f.name] ?? ''}
              onChange={(e) => setDraft({ ...draft, [f.name]: e.target.value })}
            />
          </label>
        ),
      )}
      {texts.length > 0 ? <button type="submit">Filter</button> : null}
    </form>
  );
}

/** One record of a list, shown whole; `actions` adds what a person may do with it. */
export function RecordPage(props: {
  title: string;
  what: string;
  endpoint: string;
  back: string;
  /** Controls above the record; `reload` shows a change they made at once. */
  actions?: (record: Item, reload: () => Promise<void>) => ReactNode;
}) {
  const loaded = useLoad<Item>(props.endpoint, () => get<Item>(props.endpoint), true);
  const record = loaded.data;
  return (
    <section aria-labelledby="record-title">
      <p>
        <Link to={props.back}>← Back</Link>
      </p>
      <h1 id="record-title">{props.title}</h1>
      {loaded.error?.missingRoute ? (
        <Unavailable what={props.what} />
      ) : (
        <ErrorNote
          error={loaded.error}
          context={`This ${props.what.toLowerCase()} could not be loaded`}
        />
      )}
      {record ? (
        <>
          {props.actions?.(record, loaded.reload)}
          <Json value={record} />
        </>
      ) : null}
    </section>
  );
}
