import type { Logger } from 'pino';
import { AppError } from '../domain/errors.ts';
import type { Store } from '../store/store.ts';
import { SCAN_STALE_MS, SCAN_SWEEP_MS } from './runs.ts';
import type { Scanner } from './scan.ts';

/**
 * The slot a scheduled scan is due for at `now`: the latest multiple of the interval
 * since the epoch. Every replica computes the same slot, so claiming it in the store (a
 * unique column) lets exactly one of them scan it.
 */
export function dueSlot(now: Date, intervalMinutes: number): string {
  const ms = intervalMinutes * 60_000;
  return new Date(Math.floor(now.getTime() / ms) * ms).toISOString();
}

export interface ScanSchedulerOptions {
  store: Store;
  scanner: Scanner;
  log: Logger;
  /** How often the schedule is looked at. */
  tickMs?: number;
  /** How often scans a stopped server left running are looked for. */
  sweepMs?: number;
  clock?: () => Date;
}

export interface ScanScheduler {
  /**
   * Looks once: fails scans a stopped server left running, then starts the due scan if no
   * replica has claimed its slot. Returns its id.
   */
  tick(): Promise<string | null>;
  /**
   * Fails the scans whose heartbeat is older than the stale age: the server running them
   * stopped. Returns how many.
   */
  sweep(): Promise<number>;
  start(): void;
  stop(): Promise<void>;
}

/**
 * Starts a scan when its slot falls due. After downtime only the current slot is due, so
 * missed slots are caught up by one scan, not one each. A database that never had a
 * scheduled scan waits for the next slot, so a new server does not scan the moment it
 * starts.
 */
export function createScanScheduler(opts: ScanSchedulerOptions): ScanScheduler {
  const clock = opts.clock ?? (() => new Date());
  const tickMs = opts.tickMs ?? 60_000;
  const sweepMs = opts.sweepMs ?? SCAN_SWEEP_MS;
  let timer: NodeJS.Timeout | undefined;
  let sweeper: NodeJS.Timeout | undefined;
  let ticking: Promise<unknown> = Promise.resolve();
  let sweeping: Promise<unknown> = Promise.resolve();
  let firstSeen: string | undefined;

  async function sweep(): Promise<number> {
    const now = clock();
    const abandoned = await opts.store.abandonStaleScans(
      new Date(now.getTime() - SCAN_STALE_MS),
      now,
    );
    if (abandoned > 0) {
      opts.log.warn({ abandoned }, 'scans left running by a stopped server failed');
    }
    return abandoned;
  }

  async function tick(): Promise<string | null> {
    await sweep();
    const { intervalMinutes } = await opts.store.getScanSettings();
    if (intervalMinutes <= 0) return null;
    const now = clock();
    const slot = dueSlot(now, intervalMinutes);
    const last = await opts.store.lastScheduledSlot();
    if (last !== null && last >= slot) return null;
    if (last === null) {
      // The slot current when this server first looked is not due: it began before the
      // schedule existed here.
      firstSeen ??= slot;
      if (slot <= firstSeen) return null;
    }
    const run = await opts.scanner
      .start({ trigger: 'scheduled', actor: 'system', slot })
      .catch((error: unknown) => {
        const running = runningScanOf(error);
        if (running === undefined) throw error;
        // The slot stays due: the next look after the running scan ends starts it.
        opts.log.info({ slot, runningScanId: running }, 'scheduled scan waits for a running one');
        return null;
      });
    if (run) opts.log.info({ scanId: run.id, slot }, 'scheduled scan started');
    return run?.id ?? null;
  }

  return {
    tick,
    sweep,
    start() {
      if (timer) return;
      // Apart from the schedule's tick, which may be slower: a scan left running blocks
      // every new one until it is failed.
      sweeper = setInterval(() => {
        sweeping = sweep().catch((err: unknown) =>
          opts.log.error({ err }, 'could not look for scans left running'),
        );
      }, sweepMs);
      sweeper.unref();
      const loop = () => {
        ticking = tick()
          .catch((err: unknown) => opts.log.error({ err }, 'scan schedule check failed'))
          .finally(() => {
            if (timer) timer = setTimeout(loop, tickMs);
          });
      };
      timer = setTimeout(loop, 0);
    },
    async stop() {
      if (timer) clearTimeout(timer);
      timer = undefined;
      if (sweeper) clearInterval(sweeper);
      sweeper = undefined;
      await Promise.all([ticking, sweeping]);
    },
  };
}

/** The id of the running scan a refused start names, if that is why it was refused. */
function runningScanOf(error: unknown): string | undefined {
  if (!(error instanceof AppError) || error.code !== 'conflict') return undefined;
  const id = error.details?.scanId;
  return typeof id === 'string' ? id : undefined;
}
