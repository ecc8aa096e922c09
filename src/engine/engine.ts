import { hostname } from 'node:os';
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { Action, ActionError, ResourceRef } from '../domain/action.ts';
import type { FixOptions } from '../domain/fix-options.ts';
import { AppError, conflict } from '../domain/errors.ts';
import type { Catalog } from '../catalog/index.ts';
import type { CloudClients } from '../cloud/clients.ts';
import type { Store } from '../store/store.ts';
import { metrics } from '../metrics/metrics.ts';
import type { ExecutionLimits } from '../store/claims.ts';
import { createAccountGuard } from './account.ts';
import { engineError, toActionError } from './cloud-error.ts';
import { planFor } from './plan.ts';
import { fixContext, inputOf, contextWithoutLease } from './fix-context.ts';
import { settle } from './recover.ts';
import { createCloudLimiter, Halted, type CloudGates, type CloudLimits } from './limits.ts';
import { createPresence } from './presence.ts';
import { execute, rollback, type RunContext } from './run-action.ts';

export interface EngineOptions {
  store: Store;
  clients: CloudClients;
  /**
   * The clients acting for a resource's AWS account or kube context (from the accounts
   * file); `clients` for every action when omitted.
   */
  accountClients?: (resource: ResourceRef) => CloudClients;
  catalog: Catalog;
  log: Logger;
  /** Actions run at once by this engine. */
  concurrency?: number;
  /** How often the store is polled when nothing woke the engine. */
  pollMs?: number;
  /** How long a claim holds without a heartbeat; stranded work is settled after it. */
  leaseMs?: number;
  clock?: () => Date;
  owner?: string;
  /** How often closed rollback windows are checked for a finalize step. */
  finalizeEveryMs?: number;
  /**
   * Per-account, per-service limits on the cloud calls fixes make, for the whole
   * deployment: this engine uses its share, divided among the live replicas.
   */
  cloudLimits?: CloudLimits;
  /** Hourly limits on executions started, counted across every replica. */
  executionLimits?: ExecutionLimits;
}

export interface Engine {
  readonly owner: string;
  /** Settles what an earlier run left behind, then keeps taking work until stopped. */
  start(): Promise<void>;
  /**
   * Stops taking work and waits for running actions to finish; with `graceMs`, waits that
   * long at most, then stops all cloud calls and hands the unfinished actions back by
   * releasing their leases, so another replica settles them on its next sweep.
   */
  stop(opts?: { graceMs?: number }): Promise<void>;
  /** A hint that work was requested; the engine polls anyway. */
  wake(): void;
  /** Resolves once nothing is running, requested or waiting for its plan. */
  idle(): Promise<void>;
  /** The cloud call limits this replica works within now: its share of the configured. */
  cloudLimits(): CloudLimits;
  /**
   * The gates the fixes' cloud calls pass, for the scanner to send its calls through
   * too, so a scan and running fixes together stay within this replica's share.
   */
  readonly gates: CloudGates;
}

const isRunning = (status: string | undefined) =>
  status === 'executing' || status === 'rolling_back';

/** How long stop() waits, after the hand-back, for the aborted work to unwind. */
const UNWIND_MS = 2_000;

export function createEngine(opts: EngineOptions): Engine {
  const { catalog, log } = opts;
  const concurrency = opts.concurrency ?? 4;
  const pollMs = opts.pollMs ?? 1000;
  const leaseMs = opts.leaseMs ?? 30_000;
  const clock = opts.clock ?? (() => new Date());
  const owner = opts.owner ?? `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;

  const clientsOf = (resource: ResourceRef): CloudClients =>
    resource.account && opts.accountClients ? opts.accountClients(resource) : opts.clients;
  const limiter = createCloudLimiter(opts.cloudLimits);
  let liveReplicas = 1;
  // Every engine announces itself for as long as its lease would hold, so a replica that
  // dies stops counting within about a lease, and the others take its share.
  const presence = createPresence({
    store: opts.store,
    id: owner,
    ttlMs: leaseMs,
    clock,
    log,
    onLive(live) {
      limiter.setReplicas(live);
      if (live === liveReplicas) return;
      liveReplicas = live;
      log.info({ liveReplicas: live, cloudLimits: limiter.current() }, 'cloud call share changed');
    },
  });
  // The identity check goes through the limiter too, so a hand-back aborts it as well.
  const guard = createAccountGuard(
    (resource) => limiter.clientsFor(clientsOf(resource), resource),
    clock,
  );
  const executionLimits = opts.executionLimits ?? {};
  metrics.executionsPerHourLimit.set({ scope: 'all' }, executionLimits.maxExecutionsPerHour ?? 0);
  metrics.executionsPerHourLimit.set(
    { scope: 'account' },
    executionLimits.maxExecutionsPerHourPerAccount ?? 0,
  );
  const heartbeats = new Set<NodeJS.Timeout>();
  const running = new Set<Promise<void>>();
  const planning = new Set<string>();
  let stopped = true;
  let handedBack = false;
  // Once the work is handed back another replica owns it, and this store may be closing:
  // every engine path (a fix's checkpoint, a failure record, a plan) is refused from then on.
  const store = new Proxy(opts.store, {
    get(target, prop) {
      const value = Reflect.get(target, prop, target) as unknown;
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) =>
        handedBack ? Promise.reject(new Halted()) : value.apply(target, args);
    },
  });
  let loop: Promise<void> | undefined;
  let wakeUp: (() => void) | undefined;
  let lastSweep = 0;
  let lastFinalize = 0;
  const finalizeEveryMs = opts.finalizeEveryMs ?? 10_000;
  const idleWaiters: (() => void)[] = [];
  // New actions arrive only from outside (a wake) or are found by the periodic poll; the
  // store is asked for unplanned ones only then, not after every finished action.
  let planCheck = true;

  // A finished task wakes the loop at once: a slot left idle until others free up costs
  // more throughput than the extra claim query. One that finishes while a pass runs is
  // remembered, so the loop goes round again instead of sleeping until the next poll.
  let freed = false;
  const track = (task: Promise<void>) => {
    const work = task.catch((error) =>
      handedBack
        ? log.info({ err: error }, 'stopped after handing work back at shutdown')
        : log.error({ err: error }, 'engine task failed unexpectedly'),
    );
    running.add(work);
    void work.finally(() => {
      running.delete(work);
      freed = true;
      wakeUp?.();
    });
  };

  async function runContext(action: Action, fixLog: Logger): Promise<RunContext | undefined> {
    const fix = catalog.get(action.type);
    if (!fix) return undefined;
    const input = await inputOf(action, () => store.getFixOptions());
    const clients = limiter.clientsFor(clientsOf(action.resource), action.resource);
    const ctx = fixContext({ action, input, clients, log: fixLog, store, owner });
    const fence = async () => {
      if (!(await store.renewLease(action.id, owner, clock(), leaseMs))) {
        throw conflict(`lost the lease on action ${action.id}; another engine has taken it over`);
      }
    };
    return { store, fix, ctx, input, owner, clock, log: fixLog, fence };
  }

  /** Runs one claimed or taken-over action under a renewed lease. */
  async function runClaimed(action: Action, work: (run: RunContext, a: Action) => Promise<Action>) {
    const actionLog = log.child({
      actionId: action.id,
      attempt: action.attempt,
      type: action.type,
    });
    const started = Date.now();
    // A renewal that reaches the database just after this engine settled the action finds
    // no lease to renew: only a lease another engine holds now is a loss worth reporting.
    let over = false;
    const lost = async () => {
      if (over) return false;
      const now = await store.getAction(action.id);
      // The renewal names this owner, so an action still running is held by another.
      return !over && isRunning(now?.status);
    };
    const heartbeat: NodeJS.Timeout = setInterval(
      () => {
        store
          .renewLease(action.id, owner, clock(), leaseMs)
          .then(async (held) => held || !(await lost()))
          .then(
            (fine) => fine || actionLog.error('lost the lease on a running action'),
            (error) => actionLog.error({ err: error }, 'could not renew the lease'),
          );
      },
      Math.max(50, Math.floor(leaseMs / 3)),
    );
    heartbeats.add(heartbeat);
    try {
      const run = await runContext(action, actionLog);
      const refused = run
        ? await guard(action.resource)
        : engineError('unsupported', `no fix of type ${action.type} in this catalog`, clock());
      const settled = run && !refused ? await work(run, action) : await giveUp(action, refused!);
      const durationMs = Date.now() - started;
      const histogram =
        action.status === 'rolling_back' ? metrics.rollbackSeconds : metrics.executionSeconds;
      histogram.observe({ type: action.type, status: settled.status }, durationMs / 1000);
      const level = settled.status === 'failed' || settled.error ? 'warn' : 'info';
      actionLog[level](
        { status: settled.status, error: settled.error, durationMs },
        'action settled',
      );
    } catch (error) {
      if (handedBack) {
        // Whatever failed after the hand-back (a refused call, a closed pool) is moot: the
        // action belongs to whichever replica settles it now.
        actionLog.info({ err: error }, 'stopped after handing the action back at shutdown');
      } else if (error instanceof AppError && error.code === 'conflict') {
        metrics.leasesLost.inc();
        actionLog.warn({ err: error }, 'another engine took this action over; stopped');
      } else {
        actionLog.error({ err: error }, 'action run failed unexpectedly');
      }
    } finally {
      over = true;
      clearInterval(heartbeat);
      heartbeats.delete(heartbeat);
    }
  }

  /** Ends a claimed action without touching the cloud. */
  async function giveUp(action: Action, error: ActionError): Promise<Action> {
    const op = action.status === 'rolling_back' ? 'abortRollback' : 'fail';
    return store.transition(action.id, op, {
      actor: 'system',
      now: clock(),
      leaseOwner: owner,
      patch: { error },
    });
  }

  /**
   * Runs a fix's post-window step once: the stamp is written first, so two engines never
   * both run it, and the outcome is audited either way.
   */
  async function runFinalize(action: Action) {
    const fix = catalog.get(action.type);
    if (!fix?.finalize || !action.snapshot) return;
    if (
      !(await store.markFinalized(action.id, action.version, {
        now: clock(),
        message: 'the rollback window closed; running the final step',
      }))
    )
      return;
    const actionLog = log.child({
      actionId: action.id,
      attempt: action.attempt,
      type: action.type,
    });
    const input = await inputOf(action, () => store.getFixOptions());
    const clients = limiter.clientsFor(clientsOf(action.resource), action.resource);
    const ctx = contextWithoutLease(clients, actionLog, input);
    let comment: string;
    try {
      comment = await fix.finalize(ctx, action.resource, action.snapshot.state);
      metrics.finalizeSteps.inc({ outcome: 'done' });
      actionLog.info({ message: comment }, 'final step done');
    } catch (error) {
      metrics.finalizeSteps.inc({ outcome: 'failed' });
      const recorded = toActionError(error, clock());
      comment = `the final step failed: ${recorded.message}`;
      actionLog.warn({ error: recorded }, 'final step failed');
    }
    await store.comment(action.id, { actor: 'system', now: clock(), text: comment });
  }

  /** Reads the live state into a new action's plan, so reviewers see real values. */
  async function planOne(action: Action, options: FixOptions) {
    const fix = catalog.get(action.type);
    let plan;
    if (!fix) {
      const error = engineError(
        'unsupported',
        `no fix of type ${action.type} in this catalog`,
        clock(),
      );
      plan = { ...action.plan, error };
    } else {
      const input = { params: action.params, options };
      const clients = limiter.clientsFor(clientsOf(action.resource), action.resource);
      const ctx = contextWithoutLease(clients, log, input);
      const refused = await guard(action.resource);
      try {
        plan = refused
          ? planFor(fix, action.resource, null, input, refused)
          : planFor(fix, action.resource, await fix.read(ctx, action.resource), input);
      } catch (error) {
        plan = planFor(fix, action.resource, null, input, toActionError(error, clock()));
      }
    }
    await store.updatePlan(action.id, plan, clock());
  }

  /** One pass: settle stranded work now and then, claim requests, read plans. */
  async function tick(): Promise<boolean> {
    let found = false;
    if (Date.now() - lastSweep >= leaseMs / 2) {
      lastSweep = Date.now();
      for (const action of await store.stranded(clock())) {
        if (running.size >= concurrency) break;
        if (!(await store.takeOver(action.id, action.version, owner, clock(), leaseMs))) continue;
        metrics.leaseExpiries.inc();
        found = true;
        track(runClaimed(action, settle));
      }
    }
    const free = concurrency - running.size;
    if (free > 0) {
      const claimed = await store.claim(owner, {
        now: clock(),
        leaseMs,
        limit: free,
        ...executionLimits,
      });
      for (const action of claimed) {
        found = true;
        track(runClaimed(action, action.status === 'rolling_back' ? rollback : execute));
      }
    }
    if (concurrency - running.size > 0 && Date.now() - lastFinalize >= finalizeEveryMs) {
      lastFinalize = Date.now();
      const types = catalog
        .all()
        .filter((f) => f.finalize)
        .map((f) => f.type);
      for (const action of await store.finalizable(types, clock(), concurrency - running.size)) {
        found = true;
        track(runFinalize(action));
      }
    }
    const room = concurrency - running.size;
    if (room > 0 && planCheck) {
      const unplanned = await store.unplanned(room + planning.size);
      if (unplanned.length === 0) planCheck = false;
      const pending = unplanned.filter((a) => !planning.has(a.id));
      // One read of the options for every plan made in this pass.
      const options = pending.length > 0 ? await store.getFixOptions() : undefined;
      for (const action of pending) {
        if (running.size >= concurrency) continue;
        found = true;
        planning.add(action.id);
        track(
          planOne(action, options!)
            .catch((error) =>
              log[handedBack ? 'info' : 'error'](
                { err: error, actionId: action.id },
                'planning failed',
              ),
            )
            .finally(() => planning.delete(action.id)),
        );
      }
    }
    return found;
  }

  async function run() {
    while (!stopped) {
      freed = false;
      let found = false;
      try {
        found = await tick();
      } catch (error) {
        log.error({ err: error }, 'engine pass failed; retrying');
      }
      const idle = !found && running.size === 0 && !planCheck;
      if (idle) for (const resolve of idleWaiters.splice(0)) resolve();
      if ((found || freed) && running.size < concurrency) continue;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          planCheck = true;
          resolve();
        }, pollMs);
        wakeUp = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      wakeUp = undefined;
    }
  }

  const engine: Engine = {
    owner,
    async start() {
      if (!stopped) return;
      stopped = false;
      lastSweep = 0;
      await presence.start();
      log.info(
        { owner, concurrency, leaseMs, liveReplicas, cloudLimits: limiter.current() },
        'engine started',
      );
      loop = run();
    },
    async stop(stopOpts = {}) {
      stopped = true;
      wakeUp?.();
      await loop;
      const finished = Promise.allSettled([...running]).then(() => true);
      const { graceMs } = stopOpts;
      let grace: NodeJS.Timeout | undefined;
      const done =
        graceMs === undefined
          ? await finished
          : await Promise.race([
              finished,
              new Promise<false>((resolve) => (grace = setTimeout(() => resolve(false), graceMs))),
            ]);
      clearTimeout(grace);
      if (!done) {
        // Past the grace period: no more cloud calls, no more heartbeats, and the leases
        // go back to the database, where another replica's sweep finds them at once.
        handedBack = true;
        limiter.halt();
        for (const heartbeat of heartbeats) clearInterval(heartbeat);
        const released = await opts.store.releaseLeases(owner);
        metrics.leasesHandedBack.inc(released.length);
        log.warn(
          { owner, actionIds: released },
          'running work did not finish within the grace period; handed it back',
        );
        // The aborted calls and refused writes unwind the running work at once; waiting for
        // it keeps its last steps from reaching a store that is closed next. Work stuck
        // on something no abort reaches is left behind rather than holding the shutdown.
        let unwind: NodeJS.Timeout | undefined;
        const unwound = await Promise.race([
          Promise.allSettled([...running]).then(() => true),
          new Promise<false>((resolve) => (unwind = setTimeout(() => resolve(false), UNWIND_MS))),
        ]);
        clearTimeout(unwind);
        if (!unwound) log.warn({ owner }, 'some handed-back work did not stop; leaving it');
      }
      for (const resolve of idleWaiters.splice(0)) resolve();
      await presence.stop();
      log.info({ owner }, 'engine stopped');
    },
    wake() {
      planCheck = true;
      wakeUp?.();
    },
    idle() {
      if (stopped) return Promise.resolve();
      engine.wake();
      return new Promise((resolve) => idleWaiters.push(resolve));
    },
    cloudLimits: () => limiter.current(),
    gates: { clientsFor: (clients, where) => limiter.clientsFor(clients, where) },
  };
  return engine;
}
