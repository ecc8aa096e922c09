import { useState } from 'react';
import { SEVERITIES } from '../../../src/domain/status.ts';
import { RESOURCE_TYPES } from '../../../src/inventory/types.ts';
import { ApiError, get, post, type Me } from '../api.ts';
import { asApiError } from '../hooks.ts';
import { Link, navigate, type Location } from '../router.tsx';
import { Badge, ErrorNote, formatTime } from '../ui.tsx';
import { ListPage, RecordPage, type Item } from './ListPage.tsx';

/** The audit event types, for the log's filter. */
const EVENT_TYPES = [
  'transition',
  'request',
  'comment',
  'note',
  'settings',
  'finalize',
  'finding',
  'exclusion',
  'baseline',
  'window-closing',
  'alerts',
  'user',
];

const text = (value: unknown) => (value === null || value === undefined ? '' : String(value));
const resourceOf = (item: Item) => (item.resource ?? {}) as Record<string, unknown>;
const severity = (item: Item) =>
  item.severity ? <Badge kind="severity" value={String(item.severity)} /> : null;

export function Findings({ location }: { location: Location }) {
  return (
    <ListPage
      title="Findings"
      what="The findings list"
      endpoint="/findings"
      location={location}
      link={(item) => `/findings/${encodeURIComponent(text(item.id))}`}
      filters={[
        { name: 'kind', label: 'Kind', values: ['drift', 'vulnerability', 'recommendation'] },
        { name: 'status', label: 'Status', values: ['open', 'resolved', 'dismissed', 'excluded'] },
        { name: 'severity', label: 'Severity', values: SEVERITIES },
        { name: 'provider', label: 'Provider', values: ['aws', 'kubernetes'] },
        { name: 'q', label: 'Search' },
      ]}
      columns={[
        { label: 'Finding', cell: (f) => text(f.title) },
        { label: 'Kind', cell: (f) => text(f.kind) },
        { label: 'Resource', cell: (f) => text(resourceOf(f).name) },
        { label: 'Severity', cell: severity },
        { label: 'Status', cell: (f) => text(f.status) },
        { label: 'Last seen', cell: (f) => formatTime(text(f.lastSeen) || null) },
      ]}
    />
  );
}

export function FindingPage({ id, me }: { id: string; me: Me }) {
  return (
    <RecordPage
      title="Finding"
      what="Finding"
      endpoint={`/findings/${encodeURIComponent(id)}`}
      back="/findings"
      actions={(record, reload) => (
        <>
          <FindingDecision finding={record.finding as Item} me={me} onChanged={reload} />
          <CreateRemediation finding={record.finding as Item} me={me} />
          <LinkedActions actions={record.actions} />
        </>
      )}
    />
  );
}

/** Actions linked to a finding or a resource, each leading to its detail. */
function LinkedActions({ actions }: { actions: unknown }) {
  const items = Array.isArray(actions) ? (actions as Item[]) : [];
  return (
    <>
      <h2>Remediation actions</h2>
      {items.length === 0 ? (
        <p>None yet.</p>
      ) : (
        <ul>
          {items.map((a) => (
            <li key={text(a.id)}>
              <Link to={`/actions/${encodeURIComponent(text(a.id))}`}>{text(a.title)}</Link>{' '}
              <Badge kind="status" value={text(a.status)} />
            </li>
          ))}
        </ul>
      )}
    </>
  );
}

/**
 * An admin dismisses an open finding with a reason (later reports keep it dismissed) or
 * reopens a dismissed one; everyone sees who dismissed it and why.
 */
function FindingDecision(props: {
  finding: Item | undefined;
  me: Me;
  onChanged: () => Promise<void>;
}) {
  const { finding, me } = props;
  const [reason, setReason] = useState('');
  const [problem, setProblem] = useState<ApiError>();
  const [busy, setBusy] = useState(false);
  if (!finding) return null;
  const status = text(finding.status);
  const admin = me.role === 'admin';
  const path = `/findings/${encodeURIComponent(text(finding.id))}`;
  const send = async (op: 'dismiss' | 'reopen') => {
    setProblem(undefined);
    if (op === 'dismiss' && !reason.trim()) {
      setProblem(new ApiError(0, 'client', 'Write a reason first: a dismissal needs one.'));
      return;
    }
    setBusy(true);
    try {
      await post(`${path}/${op}`, op === 'dismiss' ? { reason: reason.trim() } : {});
      setReason('');
      await props.onChanged();
    } catch (error) {
      setProblem(asApiError(error));
    } finally {
      setBusy(false);
    }
  };
  return (
    <div className="controls" role="group" aria-label="Decision on this finding">
      <p>
        Status: <strong>{status}</strong>
        {status === 'dismissed'
          ? ` by ${text(finding.dismissedBy)} at ${formatTime(text(finding.dismissedAt) || null)}: ${text(finding.dismissedReason)}`
          : status === 'resolved' && text(finding.resolution)
            ? ` at ${formatTime(text(finding.resolvedAt) || null)}: ${text(finding.resolution)}`
            : ''}
      </p>
      {admin && (status === 'open' || status === 'excluded') ? (
        <>
          <label>
            Reason for dismissing
            <textarea
              value={reason}
              rows={2}
              maxLength={2000}
              onChange={(event) => setReason(event.target.value)}
            />
          </label>
          <div className="buttons">
            <button type="button" disabled={busy} onClick={() => void send('dismiss')}>
              Dismiss
            </button>
          </div>
        </>
      ) : null}
      {admin && status === 'dismissed' ? (
        <div className="buttons">
          <button type="button" disabled={busy} onClick={() => void send('reopen')}>
            Reopen
          </button>
        </div>
      ) : null}
      <ErrorNote error={problem} context="Refused" />
    </div>
  );
}

function CreateRemediation({ finding, me }: { finding: Item | undefined; me: Me }) {
  const [problem, setProblem] = useState<ApiError>();
  if (!finding || me.role === 'viewer') return null;
  const remedy = finding.remedy as { type?: string } | null | undefined;
  if (!remedy?.type) return <p>No catalog fix answers this finding.</p>;
  const create = async () => {
    setProblem(undefined);
    try {
      const { action } = await post<{ action: { id: string } }>(
        `/findings/${encodeURIComponent(text(finding.id))}/remediate`,
      );
      navigate(`/actions/${encodeURIComponent(action.id)}`);
    } catch (error) {
      setProblem(asApiError(error));
    }
  };
  return (
    <div className="controls">
      <button type="button" className="primary" onClick={() => void create()}>
        Create remediation ({remedy.type})
      </button>
      <ErrorNote error={problem} context="The remediation was not created" />
    </div>
  );
}

export function Resources({ location }: { location: Location }) {
  return (
    <ListPage
      title="Resources"
      what="The resource inventory"
      endpoint="/resources"
      location={location}
      link={(item) => `/resources/${encodeURIComponent(text(item.id))}`}
      filters={[
        { name: 'provider', label: 'Provider', values: ['aws', 'kubernetes'] },
        { name: 'type', label: 'Type', values: RESOURCE_TYPES },
        { name: 'q', label: 'Search' },
      ]}
      columns={[
        { label: 'Name', cell: (r) => text(r.name) },
        { label: 'Type', cell: (r) => text(r.type) },
        { label: 'Provider', cell: (r) => text(r.provider) },
        { label: 'Account', cell: (r) => text(r.account) },
        { label: 'Region', cell: (r) => text(r.region) },
      ]}
    />
  );
}

export function ResourcePage({ id }: { id: string }) {
  return (
    <RecordPage
      title="Resource"
      what="Resource"
      endpoint={`/resources/${encodeURIComponent(id)}`}
      back="/resources"
      actions={(record) => <LinkedActions actions={record.actions} />}
    />
  );
}

export function AuditLog({ location }: { location: Location }) {
  return (
    <ListPage
      title="Audit log"
      what="The audit log"
      endpoint="/audit"
      location={location}
      filters={[
        { name: 'actor', label: 'Actor' },
        { name: 'actionId', label: 'Action id' },
        {
          name: 'type',
          label: 'Type',
          values: EVENT_TYPES,
        },
      ]}
      toolbar={(query) => <ExportLines query={query} />}
      columns={[
        { label: 'Time', cell: (e) => formatTime(text(e.at) || null) },
        { label: 'Actor', cell: (e) => text(e.actor) },
        { label: 'Type', cell: (e) => text(e.type) },
        {
          label: 'Change',
          cell: (e) => (e.from || e.to ? `${text(e.from)} → ${text(e.to)}` : ''),
        },
        { label: 'Action', cell: (e) => text(e.actionId) },
        { label: 'Comment', cell: (e) => text(e.comment) },
      ]}
    />
  );
}

/** Downloads every event the filters match, one JSON object a line, following the cursor. */
function ExportLines({ query }: { query: URLSearchParams }) {
  const [problem, setProblem] = useState<ApiError>();
  const [busy, setBusy] = useState(false);
  const run = async () => {
    setBusy(true);
    setProblem(undefined);
    try {
      const lines: string[] = [];
      let cursor: string | null | undefined = null;
      do {
        const params = new URLSearchParams(query);
        params.delete('cursor');
        params.set('limit', '500');
        if (cursor) params.set('cursor', cursor);
        const page: { items: Item[]; nextCursor?: string | null } = await get(`/audit?${params}`);
        for (const item of page.items) lines.push(JSON.stringify(item));
        cursor = page.nextCursor;
      } while (cursor);
      const blob = new Blob([lines.map((l) => `${l}\n`).join('')], {
        type: 'application/x-ndjson',
      });
      const link = document.createElement('a');
      link.href = URL.createObjectURL(blob);
      link.download = 'infraudit-audit.jsonl';
      link.click();
      URL.revokeObjectURL(link.href);
    } catch (error) {
      setProblem(asApiError(error));
    } finally {
      setBusy(false);
    }
  };
  return (
    <div className="toolbar">
      <button type="button" disabled={busy} onClick={() => void run()}>
        Export JSON lines
      </button>
      <ErrorNote error={problem} context="The export failed" />
    </div>
  );
}

export function AlertsPage({ location }: { location: Location }) {
  const tab = location.params.get('tab') ?? 'channels';
  const tabs = ['channels', 'rules', 'deliveries'];
  return (
    <>
      <nav aria-label="Alerts" className="tabs">
        {tabs.map((t) => (
          <button
            key={t}
            type="button"
            aria-pressed={t === tab}
            onClick={() => navigate(`/alerts?tab=${t}`)}
          >
            {t[0]!.toUpperCase() + t.slice(1)}
          </button>
        ))}
      </nav>
      <ListPage
        key={tab}
        title={`Alerts: ${tab}`}
        what={`Alert ${tab}`}
        endpoint={`/alerts/${tab}`}
        location={location}
        columns={
          tab === 'deliveries'
            ? [
                { label: 'Time', cell: (d) => formatTime(text(d.createdAt) || null) },
                { label: 'Event', cell: (d) => text(d.event) },
                { label: 'Severity', cell: severity },
                { label: 'Channel', cell: (d) => text((d.channel as Item | undefined)?.name) },
                { label: 'Status', cell: (d) => text(d.status) },
                { label: 'Attempts', cell: (d) => text(d.attempts) },
                {
                  label: 'Action',
                  cell: (d) =>
                    d.actionId ? (
                      <Link to={`/actions/${encodeURIComponent(text(d.actionId))}`}>open</Link>
                    ) : null,
                },
              ]
            : tab === 'rules'
              ? [
                  { label: 'Name', cell: (r) => text(r.name) },
                  { label: 'Events', cell: (r) => text((r.events as string[]).join(', ')) },
                  { label: 'Minimum severity', cell: (r) => text(r.minSeverity) },
                  {
                    label: 'Channels',
                    cell: (r) => (r.channels as Item[]).map((c) => text(c.name)).join(', '),
                  },
                ]
              : [
                  { label: 'Name', cell: (c) => text(c.name) },
                  { label: 'Type', cell: (c) => text(c.type) },
                  { label: 'Target', cell: (c) => text(c.target) },
                  { label: 'Health', cell: (c) => text((c.health as Item | undefined)?.state) },
                ]
        }
      />
    </>
  );
}
