import { lazy, Suspense, useEffect, useState, type FormEvent } from 'react';
import {
  ApiError,
  changePassword,
  dropPrefetched,
  resume,
  signIn,
  signInWithToken,
  signOut,
  whenSignedOut,
  type Me,
} from './api.ts';
import { asApiError } from './hooks.ts';
import { Link, navigate, useLocation } from './router.tsx';
import { Queue } from './pages/Queue.tsx';
import { ErrorNote, Field } from './ui.tsx';

// Only the queue is in the first script; every other page is fetched when first opened,
// so the first open parses and compiles less.
const ActionDetail = lazy(() =>
  import('./pages/ActionDetail.tsx').then((m) => ({ default: m.ActionDetail })),
);
const areas = () => import('./pages/Areas.tsx');
const Findings = lazy(() => areas().then((m) => ({ default: m.Findings })));
const FindingPage = lazy(() => areas().then((m) => ({ default: m.FindingPage })));
const Resources = lazy(() => areas().then((m) => ({ default: m.Resources })));
const ResourcePage = lazy(() => areas().then((m) => ({ default: m.ResourcePage })));
const AuditLog = lazy(() => areas().then((m) => ({ default: m.AuditLog })));
const AlertsPage = lazy(() => areas().then((m) => ({ default: m.AlertsPage })));
const Settings = lazy(() => import('./pages/Settings.tsx').then((m) => ({ default: m.Settings })));

const SECTIONS = [
  { to: '/actions', label: 'Remediation' },
  { to: '/findings', label: 'Findings' },
  { to: '/resources', label: 'Resources' },
  { to: '/audit', label: 'Audit log' },
  { to: '/alerts', label: 'Alerts' },
  { to: '/settings', label: 'Settings' },
];

export function App() {
  const [me, setMe] = useState<Me | null>();
  const [startError, setStartError] = useState<ApiError>();
  const location = useLocation();

  // Answers fetched before sign-in was confirmed serve the first page only; the page has
  // taken its own by the time this runs (a child's effects run before its parent's).
  useEffect(() => {
    if (me !== undefined) dropPrefetched();
  }, [me]);

  useEffect(() => {
    whenSignedOut(() => setMe(null));
    resume().then(setMe, (error) => {
      setStartError(asApiError(error));
      setMe(null);
    });
  }, []);

  if (me === undefined) return <p role="status">Loading…</p>;
  if (me === null) {
    return <SignIn onSignedIn={setMe} startError={startError} />;
  }
  if (me.mustChangePassword) return <ChangePassword onChanged={setMe} />;

  const { path } = location;
  let page;
  let match: RegExpExecArray | null;
  if (path === '/' || path === '/actions') page = <Queue location={location} me={me} />;
  else if ((match = /^\/actions\/([^/]+)$/.exec(path))) {
    page = <ActionDetail key={match[1]} id={decodeURIComponent(match[1]!)} me={me} />;
  } else if (path === '/findings') page = <Findings location={location} />;
  else if ((match = /^\/findings\/([^/]+)$/.exec(path))) {
    page = <FindingPage id={decodeURIComponent(match[1]!)} me={me} />;
  } else if (path === '/resources') page = <Resources location={location} />;
  else if ((match = /^\/resources\/([^/]+)$/.exec(path))) {
    page = <ResourcePage id={decodeURIComponent(match[1]!)} />;
  } else if (path === '/audit') page = <AuditLog location={location} />;
  else if (path === '/alerts') page = <AlertsPage location={location} />;
  else if (path === '/settings') page = <Settings me={me} />;
  else {
    page = (
      <section>
        <h1>Page not found</h1>
        <p>
          There is no page at {path}. <Link to="/actions">Go to the remediation queue</Link>.
        </p>
      </section>
    );
  }

  const section = path === '/' ? '/actions' : `/${path.split('/')[1]}`;
  return (
    <div className="layout">
      <a className="skip" href="#main">
        Skip to content
      </a>
      <aside>
        <p className="brand">InfraAudit</p>
        <nav aria-label="Sections">
          <ul>
            {SECTIONS.map((s) => (
              <li key={s.to}>
                <Link to={s.to} aria-current={section === s.to ? 'page' : undefined}>
                  {s.label}
                </Link>
              </li>
            ))}
          </ul>
        </nav>
        <div className="me">
          <p>
            {me.name} <span className="muted">({me.role})</span>
          </p>
          <button
            type="button"
            onClick={() => {
              void signOut().finally(() => {
                setMe(null);
                navigate('/actions', { replace: true });
              });
            }}
          >
            Sign out
          </button>
        </div>
      </aside>
      <main id="main">
        <Suspense fallback={<p role="status">Loading…</p>}>{page}</Suspense>
      </main>
    </div>
  );
}

function ChangePassword({ onChanged }: { onChanged: (me: Me) => void }) {
  const [current, setCurrent] = useState('');
  const [next, setNext] = useState('');
  const [error, setError] = useState<ApiError>();
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setError(undefined);
    try {
      onChanged(await changePassword(current, next));
    } catch (caught) {
      setError(asApiError(caught));
    }
  };
  return (
    <main id="main" className="signin">
      <h1>Choose a new password</h1>
      <p>This password was set by an admin. Choose your own before going on.</p>
      <form onSubmit={submit}>
        <Field
          label="Current password"
          type="password"
          autoComplete="current-password"
          value={current}
          onChange={setCurrent}
        />
        <Field
          label="New password"
          type="password"
          autoComplete="new-password"
          value={next}
          onChange={setNext}
        />
        <ErrorNote error={error} context="The password was not changed" />
        <button type="submit" className="primary">
          Change password
        </button>
      </form>
    </main>
  );
}

function SignIn({
  onSignedIn,
  startError,
}: {
  onSignedIn: (me: Me) => void;
  startError?: ApiError;
}) {
  const [useToken, setUseToken] = useState(false);
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [token, setToken] = useState('');
  const [error, setError] = useState<ApiError | undefined>(startError);
  const [busy, setBusy] = useState(false);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      onSignedIn(useToken ? await signInWithToken(token.trim()) : await signIn(username, password));
    } catch (caught) {
      const failure = asApiError(caught);
      setError(
        failure.status === 404 && !useToken
          ? new ApiError(404, 'not_found', 'This server has no password sign-in; use an API token.')
          : failure,
      );
    } finally {
      setBusy(false);
    }
  };

  return (
    <main id="main" className="signin">
      <h1>Sign in to InfraAudit</h1>
      <form onSubmit={submit}>
        {useToken ? (
          <Field
            label="API token"
            type="password"
            autoComplete="off"
            value={token}
            onChange={setToken}
          />
        ) : (
          <>
            <Field
              label="Username"
              autoComplete="username"
              value={username}
              onChange={setUsername}
            />
            <Field
              label="Password"
              type="password"
              autoComplete="current-password"
              value={password}
              onChange={setPassword}
            />
          </>
        )}
        <ErrorNote error={error} context="Sign-in failed" />
        <button type="submit" className="primary" disabled={busy}>
          Sign in
        </button>
        <button type="button" className="link" onClick={() => setUseToken(!useToken)}>
          {useToken ? 'Sign in with a username and password' : 'Sign in with an API token instead'}
        </button>
      </form>
    </main>
  );
}
