import { useEffect, useState, type FormEvent } from 'react';
import { SEVERITIES, SOURCE_KINDS, STATUSES, type Status } from '../../../src/domain/status.ts';
import { RESOURCE_TYPES } from '../../../src/inventory/types.ts';
import { ApiError, get, post, type Me } from '../api.ts';
import { asApiError, useLoad } from '../hooks.ts';
import { queueRequests } from '../queue-requests.ts';
import { Link, navigate, type Location } from '../router.tsx';
import type { ActionSummary } from '../../../src/domain/action.ts';
import { Badge, ErrorNote, formatTime, Pager } from '../ui.tsx';

const PROVIDERS = ['aws', 'kubernetes'];

interface Page {
  items: ActionSummary[];
  nextCursor: string | null;
}
interface BulkResult {
  id: string;
  ok: boolean;
  error: { code: string; message: string } | null;
}
interface Counts {
  total: number;
  byStatus: Record<Status, number>;
}

/** Columns, and the API sort field of those the server can sort by. */
const COLUMNS: { label: string; sort?: string }[] = [
  { label: 'Action', sort: 'title' },
  { label: 'Resource' },
  { label: 'Source' },
  { label: 'Severity', sort: 'severity' },
  { label: 'Status', sort: 'status' },
  { label: 'Created', sort: 'created' },
];

/** Builds the queue URL from the current one with some parameters changed. */
function withParams(params: URLSearchParams, changes: Record<string, string | null>): string {
  const next = new URLSearchParams(params);
  for (const [name, value] of Object.entries(changes)) {
    if (value === null || value === '') next.delete(name);
    else next.set(name, value);
  }
  // Any change other than the page itself starts again from the first page.
  if (!('cursor' in changes)) next.delete('cursor');
  const query = next.toString();
  return `/actions${query ? `?${query}` : ''}`;
}

export function Queue({ location, me }: { location: Location; me: Me }) {
  const { params } = location;
  const paths = queueRequests(params);
  const page = useLoad<Page>(paths.page, () => get<Page>(paths.page), true);
  const counts = useLoad<Counts>(paths.counts, () => get<Counts>(paths.counts), true);
  const [selected, setSelected] = useState<Set<string>>(new Set());
  const [search, setSearch] = useState(params.get('q') ?? '');
  const q = params.get('q') ?? '';
  // Back, forward and the sidebar change the URL; the search box follows it.
  useEffect(() => setSearch(q), [q]);

  const go = (changes: Record<string, string | null>) => navigate(withParams(params, changes));
  const onSearch = (event: FormEvent) => {
    event.preventDefault();
    go({ q: search.trim() || null });
  };
  const sort = params.get('sort') ?? 'created';
  const order = params.get('order') ?? 'desc';
  const items = page.data?.items ?? [];

  return (
    <section aria-labelledby="queue-title">
      <h1 id="queue-title">Remediation queue</h1>
      <nav aria-label="Counts by status" className="counts">
        <Link to={withParams(params, { status: null })}>All {counts.data?.total ?? ''}</Link>
        {STATUSES.map((status) => (
          <Link
            key={status}
            to={withParams(params, { status })}
            aria-current={params.get('status') === status ? 'page' : undefined}
          >
            {status.replace(/_/g, ' ')}{' '}
            <span className="count">{counts.data?.byStatus[status] ?? 0}</span>
          </Link>
        ))}
      </nav>
      <ErrorNote error={counts.error} context="Counts could not be loaded" />
      <form className="filters" onSubmit={onSearch} role="search">
        <Select label="Status" name="status" values={STATUSES} params={params} go={go} />
        <Select label="Severity" name="severity" values={SEVERITIES} params={params} go={go} />
        <Select label="Source" name="sourceKind" values={SOURCE_KINDS} params={params} go={go} />
        <Select label="Provider" name="provider" values={PROVIDERS} params={params} go={go} />
        <Select
          label="Resource type"
          name="resourceType"
          values={RESOURCE_TYPES}
          params={params}
          go={go}
        />
        <label>
          Search
          <input
            type="search"
            value={search}
            maxLength={200}
            placeholder="title, resource id or name"
            onChange={(event) => setSearch(event.target.value)}
          />
        </label>
        <button type="submit">Search</button>
      </form>
      <ErrorNote error={page.error} context="The queue could not be loaded" />
      {me.role === 'admin' ? (
        <BulkBar
          selected={items.filter((a) => selected.has(a.id))}
          onDone={() => {
            setSelected(new Set());
            void page.reload();
            void counts.reload();
          }}
        />
      ) : null}
      <table className="queue">
        <thead>
          <tr>
            {me.role === 'admin' ? (
              <th scope="col">
                <input
                  type="checkbox"
                  aria-label="Select every action on this page"
                  checked={items.length > 0 && items.every((a) => selected.has(a.id))}
                  onChange={(event) =>
                    setSelected(new Set(event.target.checked ? items.map((a) => a.id) : []))
                  }
                />
              </th>
            ) : null}
            {COLUMNS.map((column) => (
              <th
                key={column.label}
                scope="col"
                aria-sort={
                  column.sort === sort ? (order === 'asc' ? 'ascending' : 'descending') : undefined
                }
              >
                {column.sort ? (
                  <button
                    type="button"
                    className="sort"
                    onClick={() =>
                      go({
                        sort: column.sort!,
                        order: column.sort === sort && order === 'desc' ? 'asc' : 'desc',
                      })
                    }
                  >
                    {column.label}
                    {column.sort === sort ? (order === 'asc' ? ' ▲' : ' ▼') : ''}
                  </button>
                ) : (
                  column.label
                )}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {items.map((action) => (
            <tr key={action.id}>
              {me.role === 'admin' ? (
                <td>
                  <input
                    type="checkbox"
                    aria-label={`Select ${action.title}`}
                    checked={selected.has(action.id)}
                    onChange={(event) => {
                      const next = new Set(selected);
                      if (event.target.checked) next.add(action.id);
                      else next.delete(action.id);
                      setSelected(next);
                    }}
                  />
                </td>
              ) : null}
              <td>
                <Link to={`/actions/${encodeURIComponent(action.id)}`}>{action.title}</Link>
              </td>
              <td>
                <span className="resource-name">{action.resource.name}</span>
                <span className="muted"> {action.resource.type}</span>
              </td>
              <td>
                {action.source.kind} <span className="muted">{action.source.origin}</span>
              </td>
              <td>
                <Badge kind="severity" value={action.severity} />
              </td>
              <td>
                <Badge kind="status" value={action.status} />
              </td>
              <td>{formatTime(action.createdAt)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {page.loading && !page.data ? <p role="status">Loading the queue…</p> : null}
      {page.data && items.length === 0 ? (
        <p role="status">No action matches these filters.</p>
      ) : null}
      <Pager
        current={params.get('cursor')}
        next={page.data?.nextCursor}
        go={(cursor) => go({ cursor })}
      />
    </section>
  );
}

function Select(props: {
  label: string;
  name: string;
  values: readonly string[];
  params: URLSearchParams;
  go: (changes: Record<string, string | null>) => void;
}) {
  const value = props.params.get(props.name) ?? '';
  return (
    <label>
      {props.label}
      <select
        name={props.name}
        value={value}
        onChange={(event) => props.go({ [props.name]: event.target.value })}
      >
        <option value="">any</option>
        {/* A shared URL may hold a list the menu does not offer; keep it selectable. */}
        {value && !props.values.includes(value) ? <option value={value}>{value}</option> : null}
        {props.values.map((v) => (
          <option key={v} value={v}>
            {v.replace(/_/g, ' ')}
          </option>
        ))}
      </select>
    </label>
  );
}

/**
 * Approves or rejects the selected actions with one comment, in one request. The server
 * makes each its own audited transition, and one refusal names its action without hiding
 * the others' outcome.
 */
function BulkBar({ selected, onDone }: { selected: ActionSummary[]; onDone: () => void }) {
  const [comment, setComment] = useState('');
  const [busy, setBusy] = useState(false);
  const [outcome, setOutcome] = useState<{ ok: number; failures: string[] }>();
  const [problem, setProblem] = useState<ApiError>();
  if (selected.length === 0 && !outcome) return null;

  const run = async (op: 'approve' | 'reject') => {
    if (op === 'reject' && !comment.trim()) {
      setProblem(new ApiError(0, 'client', 'A comment is required to reject actions.'));
      return;
    }
    setProblem(undefined);
    setOutcome(undefined);
    setBusy(true);
    try {
      const { results } = await post<{ results: BulkResult[] }>('/actions/bulk', {
        op,
        ids: selected.map((a) => a.id),
        ...(comment.trim() ? { comment: comment.trim() } : {}),
      });
      const title = new Map(selected.map((a) => [a.id, a.title]));
      setOutcome({
        ok: results.filter((r) => r.ok).length,
        failures: results
          .filter((r) => !r.ok)
          .map((r) => `${title.get(r.id) ?? r.id}: ${r.error?.message ?? 'refused'}`),
      });
      setComment('');
      onDone();
    } catch (error) {
      setProblem(asApiError(error));
    } finally {
      setBusy(false);
    }
  };

  return (
    <div className="bulk" role="region" aria-label="Selected actions">
      {selected.length > 0 ? (
        <>
          <span>{selected.length} selected</span>
          <label>
            Comment
            <input value={comment} onChange={(event) => setComment(event.target.value)} />
          </label>
          <button type="button" disabled={busy} onClick={() => void run('approve')}>
            Approve selected
          </button>
          <button type="button" disabled={busy} onClick={() => void run('reject')}>
            Reject selected
          </button>
        </>
      ) : null}
      <ErrorNote error={problem} />
      {outcome ? (
        <div role="status">
          {outcome.ok} done.
          {outcome.failures.length > 0 ? (
            <ul className="error">
              {outcome.failures.map((f) => (
                <li key={f}>{f}</li>
              ))}
            </ul>
          ) : null}
        </div>
      ) : null}
    </div>
  );
}
