import { useCallback, useEffect, useRef, useState } from 'react';
import { ApiError } from './api.ts';

/** How often a visible page refreshes; a hidden tab backs off to save the server work. */
export const POLL_VISIBLE_MS = 2000;
export const POLL_HIDDEN_MS = 30_000;

export interface Loaded<T> {
  data: T | undefined;
  error: ApiError | undefined;
  loading: boolean;
  reload: () => Promise<void>;
}

/**
 * Loads `fetcher` whenever `key` changes and, with `poll`, again every couple of seconds
 * while the page is visible, so statuses move on screen without a reload.
 */
export function useLoad<T>(key: string, fetcher: () => Promise<T>, poll = false): Loaded<T> {
  const [data, setData] = useState<T>();
  const [error, setError] = useState<ApiError>();
  const [loading, setLoading] = useState(true);
  const latest = useRef(fetcher);
  latest.current = fetcher;
  const generation = useRef(0);

  const reload = useCallback(async () => {
    const mine = ++generation.current;
    try {
      const value = await latest.current();
      if (mine !== generation.current) return;
      setData(value);
      setError(undefined);
    } catch (caught) {
      if (mine !== generation.current) return;
      setError(asApiError(caught));
    } finally {
      if (mine === generation.current) setLoading(false);
    }
  }, []);

  useEffect(() => {
    setLoading(true);
    setData(undefined);
    setError(undefined);
    void reload();
    if (!poll) return;
    let timer: ReturnType<typeof setTimeout>;
    const schedule = () => {
      const wait = document.visibilityState === 'visible' ? POLL_VISIBLE_MS : POLL_HIDDEN_MS;
      timer = setTimeout(async () => {
        await reload();
        schedule();
      }, wait);
    };
    schedule();
    const onVisible = () => {
      if (document.visibilityState !== 'visible') return;
      clearTimeout(timer);
      void reload().then(schedule);
    };
    document.addEventListener('visibilitychange', onVisible);
    return () => {
      clearTimeout(timer);
      generation.current++;
      document.removeEventListener('visibilitychange', onVisible);
    };
  }, [key, poll, reload]);

  return { data, error, loading, reload };
}

export function asApiError(error: unknown): ApiError {
  if (error instanceof ApiError) return error;
  return new ApiError(0, 'client', error instanceof Error ? error.message : String(error));
}

/** Seconds until `deadline`, ticking once a second; negative once it has passed. */
export function useCountdown(deadline: string | null | undefined): number | undefined {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    if (!deadline) return;
    const timer = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(timer);
  }, [deadline]);
  if (!deadline) return undefined;
  return Math.floor((Date.parse(deadline) - now) / 1000);
}
