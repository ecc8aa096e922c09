import { useEffect, useRef, type ReactNode } from 'react';
import type { ApiError } from './api.ts';

export function ErrorNote({ error, context }: { error: ApiError | undefined; context?: string }) {
  if (!error) return null;
  return (
    <div className="error" role="alert">
      {context ? <strong>{context}: </strong> : null}
      {error.message}
    </div>
  );
}

/** The page's feature is not on this server: said plainly, with no stand-in data. */
export function Unavailable({ what }: { what: string }) {
  return (
    <div className="notice" role="status">
      {what} is not available on this server. It appears here once the server provides it.
    </div>
  );
}

export function Badge({ value, kind }: { value: string; kind: 'status' | 'severity' | 'risk' }) {
  return <span className={`badge ${kind}-${value}`}>{value.replace(/_/g, ' ')}</span>;
}

// One formatter for every timestamp: building one per call costs more than the render.
const TIME = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'medium' });

export const formatTime = (iso: string | null | undefined) =>
  iso ? TIME.format(new Date(iso)) : '';

export function Json({ value }: { value: unknown }) {
  // A long record scrolls inside its box; focusable, so the keyboard can scroll it too.
  return (
    <pre className="json" tabIndex={0} role="region" aria-label="Raw data as JSON">
      {JSON.stringify(value, null, 2)}
    </pre>
  );
}

/**
 * A confirmation for clicks that change a resource. It names the resource, so a person
 * approving the wrong row notices before the change is made.
 */
export function Confirm(props: {
  title: string;
  children: ReactNode;
  confirmLabel: string;
  onConfirm: () => void;
  onCancel: () => void;
}) {
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const dialog = ref.current;
    if (dialog && !dialog.open) dialog.showModal();
  }, []);
  return (
    <dialog
      ref={ref}
      aria-labelledby="confirm-title"
      onCancel={(event) => {
        event.preventDefault();
        props.onCancel();
      }}
    >
      <h2 id="confirm-title">{props.title}</h2>
      <div>{props.children}</div>
      <div className="buttons">
        <button type="button" className="primary" onClick={props.onConfirm}>
          {props.confirmLabel}
        </button>
        <button type="button" onClick={props.onCancel}>
          Cancel
        </button>
      </div>
    </dialog>
  );
}

/** A required text or password input with its label, as the sign-in forms use them. */
export function Field(props: {
  label: string;
  type?: 'text' | 'password';
  autoComplete: string;
  value: string;
  onChange: (value: string) => void;
}) {
  return (
    <label>
      {props.label}
      <input
        type={props.type ?? 'text'}
        autoComplete={props.autoComplete}
        required
        value={props.value}
        onChange={(event) => props.onChange(event.target.value)}
      />
    </label>
  );
}

/** Server-side paging: the API hands out the next page's cursor, the URL keeps the current one. */
export function Pager(props: {
  current: string | null;
  next: string | null | undefined;
  go: (cursor: string | null) => void;
}) {
  return (
    <div className="pager">
      {props.current ? (
        <button type="button" onClick={() => props.go(null)}>
          First page
        </button>
      ) : null}
      {props.next ? (
        <button type="button" onClick={() => props.go(props.next!)}>
          Next page
        </button>
      ) : null}
    </div>
  );
}
