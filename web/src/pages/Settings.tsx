import { useEffect, useState, type FormEvent } from 'react';
import { ROLLBACK_WINDOW_MAX, ROLLBACK_WINDOW_MIN } from '../../../src/domain/settings.ts';
import { get, put, type ApiError, type Me } from '../api.ts';
import { asApiError, useLoad } from '../hooks.ts';
import { ErrorNote } from '../ui.tsx';

interface RemediationSettings {
  requireApproval: boolean;
  autoExecute: boolean;
  rollbackWindowMinutes: number;
}

export function windowProblem(text: string): string | null {
  if (!/^\d+$/.test(text.trim())) return 'The rollback window must be a whole number of minutes.';
  const minutes = Number(text);
  if (minutes < ROLLBACK_WINDOW_MIN || minutes > ROLLBACK_WINDOW_MAX) {
    return `The rollback window must be between ${ROLLBACK_WINDOW_MIN} and ${ROLLBACK_WINDOW_MAX} minutes.`;
  }
  return null;
}

export function Settings({ me }: { me: Me }) {
  const loaded = useLoad<RemediationSettings>('settings', () => get('/settings/remediation'));
  const [form, setForm] = useState<{
    requireApproval: boolean;
    autoExecute: boolean;
    window: string;
  }>();
  const [problem, setProblem] = useState<string | null>(null);
  const [refusal, setRefusal] = useState<ApiError>();
  const [saved, setSaved] = useState(false);
  const [busy, setBusy] = useState(false);
  const admin = me.role === 'admin';

  useEffect(() => {
    if (loaded.data && !form) {
      setForm({
        requireApproval: loaded.data.requireApproval,
        autoExecute: loaded.data.autoExecute,
        window: String(loaded.data.rollbackWindowMinutes),
      });
    }
  }, [loaded.data, form]);

  const save = async (event: FormEvent) => {
    event.preventDefault();
    if (!form) return;
    setSaved(false);
    setRefusal(undefined);
    const invalid = windowProblem(form.window);
    setProblem(invalid);
    if (invalid) return;
    setBusy(true);
    try {
      const next = await put<RemediationSettings>('/settings/remediation', {
        requireApproval: form.requireApproval,
        autoExecute: form.autoExecute,
        rollbackWindowMinutes: Number(form.window),
      });
      setForm({
        requireApproval: next.requireApproval,
        autoExecute: next.autoExecute,
        window: String(next.rollbackWindowMinutes),
      });
      setSaved(true);
    } catch (error) {
      setRefusal(asApiError(error));
    } finally {
      setBusy(false);
    }
  };

  return (
    <section aria-labelledby="settings-title">
      <h1 id="settings-title">Settings</h1>
      <h2>Remediation</h2>
      <ErrorNote error={loaded.error} context="The settings could not be loaded" />
      {form ? (
        <form className="settings" onSubmit={save} noValidate>
          <fieldset disabled={!admin || busy}>
            <legend className="sr-only">Remediation settings</legend>
            {!admin ? <p>Only an admin can change these settings.</p> : null}
            <label className="check">
              <input
                type="checkbox"
                checked={form.requireApproval}
                onChange={(e) => setForm({ ...form, requireApproval: e.target.checked })}
              />
              Require approval before a fix runs
            </label>
            <label className="check">
              <input
                type="checkbox"
                checked={form.autoExecute}
                onChange={(e) => setForm({ ...form, autoExecute: e.target.checked })}
              />
              Run a fix as soon as it is approved
            </label>
            <label>
              Rollback window (minutes, {ROLLBACK_WINDOW_MIN} to {ROLLBACK_WINDOW_MAX})
              <input
                type="number"
                inputMode="numeric"
                min={ROLLBACK_WINDOW_MIN}
                max={ROLLBACK_WINDOW_MAX}
                value={form.window}
                aria-invalid={problem ? true : undefined}
                aria-describedby={problem ? 'window-problem' : undefined}
                onChange={(e) => {
                  setForm({ ...form, window: e.target.value });
                  setProblem(windowProblem(e.target.value));
                }}
              />
            </label>
            {problem ? (
              <p id="window-problem" className="error" role="alert">
                {problem}
              </p>
            ) : null}
            {admin ? (
              <button type="submit" className="primary">
                Save
              </button>
            ) : null}
          </fieldset>
          <ErrorNote error={refusal} context="The server refused the change" />
          {saved ? <p role="status">Saved.</p> : null}
        </form>
      ) : loaded.loading ? (
        <p role="status">Loading…</p>
      ) : null}
    </section>
  );
}
