import { useState } from 'react';
import { REQUESTS, TRANSITIONS } from '../../../src/domain/lifecycle.ts';
import type { Status } from '../../../src/domain/status.ts';
import { ApiError, get, post, type Me } from '../api.ts';
import { asApiError, useCountdown, useLoad } from '../hooks.ts';
import { Link } from '../router.tsx';
import type { Action, AuditEvent, PlannedCall } from '../../../src/domain/action.ts';
import { Badge, Confirm, ErrorNote, formatTime, Json } from '../ui.tsx';

interface Detail {
  action: Action;
  events: AuditEvent[];
  /** Why a queued execution has not started: its maintenance windows are closed. */
  waiting?: { message: string } | null;
}

const REVERSIBILITY = {
  full: 'Fully reversible: a rollback restores the resource exactly as it was.',
  partial: 'Partly reversible: a rollback cannot restore everything.',
  none: 'Not reversible: once applied, this change cannot be undone by a rollback.',
};

const isRecord = (value: unknown): value is Record<string, unknown> =>
  value !== null && typeof value === 'object' && !Array.isArray(value);

/**
 * The attributes that differ between two states, by dotted path. Objects on both sides are
 * compared key by key; anything else (a value, a list, an object replacing nothing) is one
 * row, so "no block" becoming a whole block reads as one change.
 */
export function changedAttributes(before: unknown, after: unknown, prefix = '') {
  const rows: { path: string; before: unknown; after: unknown }[] = [];
  if (isRecord(before) && isRecord(after)) {
    for (const key of [...new Set([...Object.keys(before), ...Object.keys(after)])].sort()) {
      rows.push(...changedAttributes(before[key], after[key], prefix ? `${prefix}.${key}` : key));
    }
  } else if (JSON.stringify(before) !== JSON.stringify(after)) {
    rows.push({ path: prefix || '(the whole configuration)', before, after });
  }
  return rows;
}

const show = (value: unknown) => (value === undefined ? '(not set)' : JSON.stringify(value));

const can = (op: keyof typeof TRANSITIONS, status: Status) =>
  (TRANSITIONS[op].from as readonly Status[]).includes(status);

type Pending = {
  op: 'approve' | 'reject' | 'execute' | 'retry' | 'rollback' | 'force-rollback';
  label: string;
};

export function ActionDetail({ id, me }: { id: string; me: Me }) {
  const path = `/actions/${encodeURIComponent(id)}`;
  const detail = useLoad<Detail>(path, () => get<Detail>(path), true);
  const settings = useLoad<{ requireApproval: boolean; allowSelfApproval?: boolean }>(
    'settings',
    () => get('/settings/remediation'),
  );
  const [comment, setComment] = useState('');
  const [confirming, setConfirming] = useState<Pending>();
  const [problem, setProblem] = useState<ApiError>();
  const [busy, setBusy] = useState(false);
  const action = detail.data?.action;
  const secondsLeft = useCountdown(action?.status === 'completed' ? action.rollbackDeadline : null);

  if (!action) {
    return (
      <section>
        <h1>Action</h1>
        {detail.error ? (
          <ErrorNote error={detail.error} context="This action could not be loaded" />
        ) : (
          <p role="status">Loading…</p>
        )}
        <Link to="/actions">Back to the queue</Link>
      </section>
    );
  }

  /** Sends one change; a refusal stays on screen next to the buttons until the next try. */
  const attempt = async (send: () => Promise<unknown>) => {
    setBusy(true);
    setProblem(undefined);
    try {
      await send();
      setComment('');
      await detail.reload();
    } catch (error) {
      setProblem(asApiError(error));
    } finally {
      setBusy(false);
    }
  };

  const run = (op: Pending['op']) => {
    if (op === 'force-rollback') {
      // The dialog stays open until there is a reason: the audit trail must say why a
      // change made after the fix was overwritten.
      if (!comment.trim()) return;
      setConfirming(undefined);
      void attempt(() => post(`${path}/rollback`, { comment: comment.trim(), force: true }));
      return;
    }
    setConfirming(undefined);
    if (op === 'reject' && !comment.trim()) {
      setProblem(new ApiError(0, 'client', 'Write a comment first: a rejection needs a reason.'));
      return;
    }
    void attempt(() => post(`${path}/${op}`, comment.trim() ? { comment: comment.trim() } : {}));
  };

  const addComment = () => {
    if (!comment.trim()) {
      setProblem(new ApiError(0, 'client', 'Write a comment first.'));
      return;
    }
    void attempt(() => post(`${path}/comments`, { text: comment.trim() }));
  };

  const { status, plan } = action;
  const idle = action.requestedOp === null;
  const admin = me.role === 'admin';
  const requireApproval = settings.data?.requireApproval ?? true;
  const buttons: Pending[] = [];
  // Four eyes: whoever created an action may not approve it, unless the settings allow it.
  const ownAction = action.createdBy === me.actor;
  const mayApprove = !ownAction || settings.data?.allowSelfApproval === true;
  // A plan that could not read the live state shows no change to agree to; the API refuses it.
  if (admin && mayApprove && !plan.error && can('approve', status)) {
    buttons.push({ op: 'approve', label: 'Approve' });
  }
  if (admin && idle && status !== 'failed' && REQUESTS.execute.from.includes(status as never)) {
    if (status === 'approved' || !requireApproval)
      buttons.push({ op: 'execute', label: 'Execute' });
  }
  if (admin && idle && status === 'failed') buttons.push({ op: 'retry', label: 'Retry' });
  const windowOpen = secondsLeft !== undefined && secondsLeft > 0;
  // The engine refused the last rollback because the resource changed after the fix.
  const refusedRollback = status === 'completed' && action.error?.code === 'resource_changed';
  if (admin && idle && status === 'completed' && windowOpen) {
    buttons.push({ op: 'rollback', label: 'Rollback' });
    if (refusedRollback) buttons.push({ op: 'force-rollback', label: 'Roll back anyway' });
  }
  if (admin && can('reject', status) && idle) buttons.push({ op: 'reject', label: 'Reject' });
  const canComment = me.role !== 'viewer';
  const risky = (op: Pending['op']) => op !== 'approve';
  const changes = changedAttributes(plan.before ?? {}, plan.after ?? {});

  return (
    <section aria-labelledby="action-title" className="detail">
      <p>
        <Link to="/actions">← Back to the queue</Link>
      </p>
      <h1 id="action-title">{action.title}</h1>
      <p className="facts">
        <Badge kind="status" value={status} /> <Badge kind="severity" value={action.severity} />{' '}
        <span>
          Risk: <Badge kind="risk" value={action.risk} />
        </span>
        {action.requestedOp ? (
          <span role="status"> A {action.requestedOp} is queued for the engine.</span>
        ) : null}
      </p>
      <ErrorNote error={detail.error} context="The latest state could not be loaded" />
      {detail.data?.waiting ? (
        <p className="notice" role="status">
          Waiting: {detail.data.waiting.message}
        </p>
      ) : null}

      <div className="grid">
        <div>
          <h2>Resource</h2>
          <dl>
            <dt>Name</dt>
            <dd>
              <Link to={`/resources/${encodeURIComponent(action.resource.id)}`}>
                {action.resource.name}
              </Link>
            </dd>
            <dt>Type</dt>
            <dd>{action.resource.type}</dd>
            <dt>Where</dt>
            <dd>
              {action.resource.provider} {action.resource.account} {action.resource.region}
            </dd>
            <dt>Id</dt>
            <dd className="mono">{action.resource.id}</dd>
          </dl>
        </div>
        <div>
          <h2>Source finding</h2>
          <dl>
            <dt>Finding</dt>
            <dd>
              <Link to={`/findings/${encodeURIComponent(action.source.findingId)}`}>
                {action.source.title}
              </Link>
            </dd>
            <dt>Kind</dt>
            <dd>{action.source.kind}</dd>
            <dt>Reported by</dt>
            <dd>
              {action.source.origin} ({action.source.checkId})
            </dd>
          </dl>
        </div>
      </div>

      {admin || canComment ? (
        <div className="controls" role="group" aria-label="Actions on this remediation">
          <label>
            Comment
            <textarea
              value={comment}
              rows={2}
              maxLength={10_000}
              onChange={(event) => setComment(event.target.value)}
            />
          </label>
          <div className="buttons">
            {buttons.map((b) => (
              <button
                key={b.op}
                type="button"
                disabled={busy}
                className={b.op === 'approve' || b.op === 'execute' ? 'primary' : ''}
                onClick={() => (risky(b.op) ? setConfirming(b) : run(b.op))}
              >
                {b.label}
              </button>
            ))}
            {canComment ? (
              <button type="button" disabled={busy} onClick={addComment}>
                Comment
              </button>
            ) : null}
          </div>
          <ErrorNote error={problem} context="Refused" />
        </div>
      ) : null}

      {status === 'completed' ? (
        <p className="window" role="status">
          {windowOpen
            ? `Rollback possible for ${formatDuration(secondsLeft!)} more (until ${formatTime(action.rollbackDeadline)}).`
            : 'The rollback window has closed; this change can no longer be rolled back here.'}
        </p>
      ) : null}

      {refusedRollback ? (
        <RollbackRefusal
          resource={action.resource.name}
          events={detail.data?.events ?? []}
          admin={admin}
          windowOpen={windowOpen}
        />
      ) : null}

      <h2>What will change</h2>
      {plan.alreadyCompliant ? (
        <p>The resource already has this fix; nothing will change.</p>
      ) : null}
      {plan.refusal ? <p className="error">This fix cannot run here: {plan.refusal}</p> : null}
      {plan.error ? (
        <p className="error">
          The live state could not be read, so this plan cannot be approved: {plan.error.message}.
          To plan it again, reject this action and remediate its finding anew.
        </p>
      ) : null}
      {changes.length > 0 ? (
        <DiffTable
          caption="Attributes before and after the fix"
          hideCaption
          columns={['Before', 'After']}
          rows={changes}
        />
      ) : (
        <p>No attribute changes are planned.</p>
      )}
      {plan.warnings.length > 0 ? (
        <ul className="warnings">
          {plan.warnings.map((w) => (
            <li key={w}>{w}</li>
          ))}
        </ul>
      ) : null}
      <Calls title="API calls the fix will make" calls={plan.calls} />
      <Calls title="API calls a rollback would make" calls={plan.rollbackCalls} />
      <h2>Reversibility</h2>
      <p>
        {REVERSIBILITY[plan.reversibility.level]} {plan.reversibility.note}
      </p>

      <h2>Snapshot</h2>
      {action.snapshot ? (
        <details>
          <summary>Captured {formatTime(action.snapshot.capturedAt)}</summary>
          <Json value={action.snapshot.state} />
        </details>
      ) : (
        <p>No snapshot yet: it is taken from the live resource when the fix runs.</p>
      )}
      {action.error ? (
        <p className="error">
          Last error: {action.error.message} {action.error.code ? `(${action.error.code})` : ''}
        </p>
      ) : null}
      {action.result?.message ? <p>Outcome: {action.result.message}</p> : null}

      <h2>Timeline</h2>
      <ol className="timeline">
        {(detail.data?.events ?? []).map((event) => (
          <li key={event.id}>
            <time dateTime={event.at}>{formatTime(event.at)}</time> <strong>{event.actor}</strong>{' '}
            {describe(event)}
            {event.comment ? <q>{event.comment}</q> : null}
          </li>
        ))}
      </ol>

      {confirming ? (
        <Confirm
          title={`${confirming.label} this fix?`}
          confirmLabel={`Yes, ${confirming.label.toLowerCase()}`}
          onCancel={() => setConfirming(undefined)}
          onConfirm={() => run(confirming.op)}
        >
          <p>
            {confirmText(confirming.op)} <strong>{action.resource.name}</strong> (
            {action.resource.type}, {action.resource.id}).
          </p>
          {confirming.op === 'reject' && !comment.trim() ? (
            <p className="error">A rejection needs a comment: write one before confirming.</p>
          ) : null}
          {confirming.op === 'force-rollback' ? (
            <>
              <label>
                Why overwrite the change (required)
                <textarea
                  value={comment}
                  rows={2}
                  maxLength={10_000}
                  required
                  onChange={(event) => setComment(event.target.value)}
                />
              </label>
              {!comment.trim() ? (
                <p className="error">A forced rollback needs a comment saying why.</p>
              ) : null}
            </>
          ) : null}
        </Confirm>
      ) : null}
    </section>
  );
}

function confirmText(op: Pending['op']): string {
  switch (op) {
    case 'execute':
    case 'retry':
      return 'This changes the live resource';
    case 'rollback':
      return 'This restores the snapshot onto the live resource';
    case 'force-rollback':
      return (
        'This restores the snapshot even though the resource was changed after the fix, ' +
        'and overwrites that change on'
      );
    case 'reject':
      return 'This closes the action without changing';
    default:
      return 'This approves the change to';
  }
}

function describe(event: AuditEvent): string {
  const words = (status: string | null) => status?.replace(/_/g, ' ') ?? '';
  if (event.type === 'transition') {
    return event.from
      ? `moved it from ${words(event.from)} to ${words(event.to)}`
      : `created it as ${words(event.to)}`;
  }
  if (event.type === 'comment') return 'commented';
  if (event.type === 'request') {
    const op = event.data?.request as string | undefined;
    return op ? `requested the ${op}${event.data?.force ? ' (forced)' : ''}` : 'made a request';
  }
  return event.type;
}

/**
 * Says in plain words why the last rollback did not happen, and what changed on the
 * resource since the fix (the engine keeps the state it expected and the one it found).
 */
function RollbackRefusal(props: {
  resource: string;
  events: AuditEvent[];
  admin: boolean;
  windowOpen: boolean;
}) {
  const refusal = props.events.findLast(
    (e) => e.type === 'transition' && e.from === 'rolling_back' && e.to === 'completed',
  );
  const data = (refusal?.data ?? {}) as { expected?: unknown; live?: unknown };
  const changes = changedAttributes(data.expected ?? {}, data.live ?? {});
  return (
    <div className="notice refusal" role="status">
      <h2>The rollback was refused</h2>
      <p>
        <strong>{props.resource}</strong> was changed after this fix was applied, so the rollback
        stopped rather than overwrite that change. Nothing was changed on the resource.
        {props.windowOpen && props.admin
          ? ' An admin can roll back anyway: the snapshot then replaces the current configuration, and the audit trail keeps what was overwritten.'
          : ''}
      </p>
      {changes.length > 0 ? (
        <DiffTable
          caption="Changed since the fix"
          columns={['After the fix', 'Now']}
          rows={changes}
        />
      ) : null}
    </div>
  );
}

/** Attributes side by side, one row per dotted path, from `changedAttributes`. */
function DiffTable(props: {
  caption: string;
  hideCaption?: boolean;
  columns: [string, string];
  rows: ReturnType<typeof changedAttributes>;
}) {
  return (
    <table className="diff">
      <caption className={props.hideCaption ? 'sr-only' : undefined}>{props.caption}</caption>
      <thead>
        <tr>
          <th scope="col">Attribute</th>
          <th scope="col">{props.columns[0]}</th>
          <th scope="col">{props.columns[1]}</th>
        </tr>
      </thead>
      <tbody>
        {props.rows.map((c) => (
          <tr key={c.path}>
            <th scope="row" className="mono">
              {c.path}
            </th>
            <td className="before mono">{show(c.before)}</td>
            <td className="after mono">{show(c.after)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function formatDuration(seconds: number): string {
  const m = Math.floor(seconds / 60);
  const s = seconds % 60;
  return `${m}:${String(s).padStart(2, '0')}`;
}

function Calls({ title, calls }: { title: string; calls: PlannedCall[] }) {
  if (calls.length === 0) return null;
  return (
    <>
      <h3>{title}</h3>
      <ol className="calls">
        {calls.map((call, i) => (
          <li key={i}>
            <span className="mono">
              {call.service}:{call.operation}
            </span>
            {call.parameters && Object.keys(call.parameters).length > 0 ? (
              <details>
                <summary>parameters</summary>
                <Json value={call.parameters} />
              </details>
            ) : null}
          </li>
        ))}
      </ol>
    </>
  );
}
