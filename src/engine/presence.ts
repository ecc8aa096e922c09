import type { Logger } from 'pino';
import { metrics } from '../metrics/metrics.ts';
import type { Store } from '../store/store.ts';

export interface PresenceOptions {
  store: Pick<Store, 'beatReplica' | 'leaveReplica'>;
  /** Names this replica's row; unique per process. */
  id: string;
  /** How long one beat keeps the replica live; it beats every third of that. */
  ttlMs: number;
  clock: () => Date;
  log: Logger;
  /** Told the number of live replicas (this one included) after every beat that got one. */
  onLive(liveReplicas: number): void;
}

export interface Presence {
  /** Beats once now and then every third of the time to live, until stopped. */
  start(): Promise<void>;
  /** One beat: records this replica and passes on how many are live. */
  beat(): Promise<void>;
  /** Stops beating and removes this replica, so the others take its share at once. */
  stop(): Promise<void>;
}

/**
 * This replica's row in the shared replicas table. A beat that fails (the database away
 * for a moment) keeps the last count: the share, and the live replicas gauge, change only
 * on what was read.
 */
export function createPresence(opts: PresenceOptions): Presence {
  let timer: NodeJS.Timeout | undefined;
  let beating: Promise<void> = Promise.resolve();

  const beat = () =>
    (beating = beating.then(async () => {
      try {
        const live = await opts.store.beatReplica(opts.id, opts.clock(), opts.ttlMs);
        metrics.liveReplicas.set(live);
        opts.onLive(live);
      } catch (error) {
        opts.log.warn({ err: error }, 'could not record this replica; keeping its last share');
      }
    }));

  return {
    beat,
    async start() {
      if (timer) return;
      await beat();
      timer = setInterval(() => void beat(), Math.max(50, Math.floor(opts.ttlMs / 3)));
      timer.unref();
    },
    async stop() {
      if (timer) clearInterval(timer);
      timer = undefined;
      await beating;
      try {
        await opts.store.leaveReplica(opts.id);
      } catch (error) {
        opts.log.warn({ err: error }, 'could not remove this replica; its row expires by itself');
      }
    },
  };
}
