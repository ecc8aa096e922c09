import type { Logger } from 'pino';
import { evaluateResources } from '../checks/evaluate.ts';
import type { AccountClients, AccountsConfig } from '../cloud/accounts.ts';
import type { CloudClients } from '../cloud/clients.ts';
import { type CloudGates, createCloudLimiter } from '../engine/limits.ts';
import type { Store } from '../store/store.ts';
import { awsUnits, discoverAwsUnit, type UnitResult } from './discover-aws.ts';
import { discoverKubeUnit, kubeUnit } from './discover-k8s.ts';
import { identifyAccount } from './identity.ts';
import { keepLastKnown } from './last-known.ts';
import { createLiveReader, type LiveRead } from './live.ts';
import {
  errorCode,
  errorMessage,
  mapBounded,
  type ReadError,
  type ScanUnit,
  unitKey,
} from './reads.ts';
import {
  SCAN_HEARTBEAT_MS,
  SCAN_STALE_MS,
  type ScanRun,
  type ScanSummary,
  type ScanTrigger,
  type ScanUnitProgress,
} from './runs.ts';
import type { DiscoveredResource } from './types.ts';

/** Units discovered at once; each bounds its own detail reads. */
const UNIT_CONCURRENCY = 4;
export { SCAN_STALE_MS };

interface Target {
  unit: ScanUnit;
  clients: CloudClients;
  /** AWS: the account's regions (S3 lists from the first). */
  regions: string[];
}

export interface ScannerOptions {
  store: Store;
  clients: AccountClients;
  /** The accounts file; null scans the default chain's account and the cloud's kubeconfig. */
  accounts: AccountsConfig | null;
  /** Regions scanned for the default chain's account when there is no accounts file. */
  defaultRegion: string;
  /** Scan the current context of the cloud's kubeconfig when there is no accounts file. */
  defaultKubeContext: boolean;
  log: Logger;
  clock?: () => Date;
  /** How often a running scan's heartbeat is renewed; SCAN_HEARTBEAT_MS unless set. */
  heartbeatMs?: number;
  /**
   * The gates every cloud call of a scan (and of a live read) passes: the engine's, so
   * that scans and fixes share the deployment's per-account, per-service limits. Gates of
   * the default limits, for this scanner alone, when omitted.
   */
  gates?: CloudGates;
}

export interface Scanner {
  /**
   * Starts a scan and returns its run at once; the scan goes on in the background. With
   * `slot`, null when another replica already holds that scheduled slot. Throws a conflict
   * naming the running scan (`details.scanId`) while one runs on this database.
   */
  start(input: { trigger: ScanTrigger; actor: string; slot?: string }): Promise<ScanRun | null>;
  /** Runs a scan to its end and returns the finished run. */
  run(input: { trigger: ScanTrigger; actor: string }): Promise<ScanRun>;
  /** Resolves once no scan started here is running. */
  idle(): Promise<void>;
  /**
   * Reads one resource live, as a scan would read it, with the same clients and account
   * check; `target` is the resource as the inventory holds it. Records nothing.
   */
  readLive(target: DiscoveredResource): Promise<LiveRead>;
}

export function createScanner(opts: ScannerOptions): Scanner {
  const clock = opts.clock ?? (() => new Date());
  const running = new Set<Promise<unknown>>();
  const gates = opts.gates ?? createCloudLimiter();
  const live = createLiveReader({ ...opts, gates });

  const kubeGated = (clients: CloudClients, context: string) =>
    gates.clientsFor(clients, { provider: 'kubernetes', account: context, region: '' });

  /** Who to scan. An account whose identity cannot be confirmed becomes a failed unit. */
  async function targets(): Promise<{ targets: Target[]; errors: ReadError[] }> {
    const errors: ReadError[] = [];
    const out: Target[] = [];
    const aws = opts.accounts
      ? opts.accounts.aws.map((a) => ({
          expected: a.id,
          regions: a.regions,
          clients: opts.clients.forAccount(a.id),
        }))
      : [{ expected: null, regions: [opts.defaultRegion], clients: opts.clients.base }];
    const identities = await Promise.all(
      aws.map((a) => {
        const region = a.regions[0] ?? opts.defaultRegion;
        // The default chain's account is known only from this answer: its call passes
        // the gate of the region, every later one that of the account.
        const where = { provider: 'aws' as const, account: a.expected ?? '', region };
        return identifyAccount(gates.clientsFor(a.clients, where), region, a.expected);
      }),
    );
    aws.forEach((a, i) => {
      const identity = identities[i] as Awaited<ReturnType<typeof identifyAccount>>;
      if ('error' in identity) {
        errors.push(identity.error);
        return;
      }
      const clients = gates.clientsFor(a.clients, {
        provider: 'aws',
        account: identity.account,
        region: '',
      });
      for (const unit of awsUnits(identity.account, a.regions)) {
        out.push({ unit, clients, regions: a.regions });
      }
    });
    if (opts.accounts) {
      for (const kube of opts.accounts.kubernetes) {
        const clients = opts.clients.forKubeconfig(kube.kubeconfig);
        for (const context of kube.contexts) {
          out.push({ unit: kubeUnit(context), clients: kubeGated(clients, context), regions: [] });
        }
      }
    } else if (opts.defaultKubeContext) {
      try {
        const context = opts.clients.base.kube('').getCurrentContext();
        out.push({
          unit: kubeUnit(context),
          clients: kubeGated(opts.clients.base, context),
          regions: [],
        });
      } catch (error) {
        errors.push({
          provider: 'kubernetes',
          account: '',
          region: '',
          service: 'kubernetes',
          operation: 'kubeconfig',
          code: errorCode(error),
          message: errorMessage(error),
          resourceId: null,
        });
      }
    }
    return { targets: out, errors };
  }

  async function begin(input: { trigger: ScanTrigger; actor: string; slot?: string }) {
    const found = await targets();
    const units: ScanUnitProgress[] = [
      ...found.targets.map((t) => ({
        ...t.unit,
        status: 'pending' as const,
        resources: 0,
        errors: 0,
      })),
      ...found.errors.map((e) => ({
        provider: e.provider,
        account: e.account,
        region: e.region,
        service: e.service,
        status: 'incomplete' as const,
        resources: 0,
        errors: 1,
      })),
    ];
    // A scan a stopped server left running would refuse every new one until the schedule
    // settles it; settle it here first.
    const now = clock();
    await opts.store.abandonStaleScans(new Date(now.getTime() - SCAN_STALE_MS), now);
    const run = await opts.store.startScan({ ...input, now, units });
    return run ? { run, found } : null;
  }

  async function execute(
    run: ScanRun,
    found: { targets: Target[]; errors: ReadError[] },
    actor: string,
  ): Promise<ScanRun> {
    const log = opts.log.child({ scanId: run.id });
    log.info({ trigger: run.trigger, units: run.units.length }, 'scan started');
    const units = run.units.map((u) => ({ ...u }));
    const progress = new Map(units.map((u) => [unitKey(u), u]));
    let saving: Promise<void> = Promise.resolve();
    // Set once a save finds the run no longer running: another replica judged this server
    // stopped and failed the scan, and a new one may be running, so nothing more is written.
    let lost = false;
    const save = () => {
      const snapshot = units.map((u) => ({ ...u }));
      saving = saving
        .then(async () => {
          if (!(await opts.store.updateScanUnits(run.id, snapshot, clock()))) lost = true;
        })
        .catch((err: unknown) => log.warn({ err }, 'could not save scan progress'));
    };
    const stillHeld = async () => {
      await saving;
      if (lost) {
        clearInterval(heartbeat);
        log.warn('another replica failed this scan as stopped; its results are not recorded');
      }
      return !lost;
    };
    // The heartbeat runs until the scan is finished: writing a large inventory and judging
    // it take time too, and a scan quiet for longer than the stale age would be failed.
    const heartbeat = setInterval(save, opts.heartbeatMs ?? SCAN_HEARTBEAT_MS);
    heartbeat.unref();
    try {
      const results = await mapBounded(found.targets, UNIT_CONCURRENCY, async (target) => {
        const unit = progress.get(unitKey(target.unit)) as ScanUnitProgress;
        unit.status = 'running';
        save();
        const result: UnitResult =
          target.unit.provider === 'kubernetes'
            ? await discoverKubeUnit(target.clients, target.unit.account)
            : await discoverAwsUnit(target.clients, target.unit, target.regions);
        // A failed optional read is reported, and its attribute keeps the last known value.
        result.resources = await keepLastKnown(opts.store, result.resources);
        unit.status = result.complete ? 'complete' : 'incomplete';
        unit.resources = result.resources.length;
        unit.errors = result.errors.length;
        for (const error of result.errors) {
          log.warn(
            { unit: unitKey(error), operation: error.operation, code: error.code },
            'could not read',
          );
        }
        save();
        return result;
      });
      if (!(await stillHeld())) return await settledElsewhere(run);
      const resources: { scope: string; resource: DiscoveredResource }[] = results.flatMap((r) =>
        r.resources.map((resource) => ({ scope: unitKey(r.unit), resource })),
      );
      const now = clock();
      const inventory = await opts.store.updateInventory({
        scanId: run.id,
        startedAt: run.startedAt,
        now,
        resources,
        completeScopes: results.filter((r) => r.complete).map((r) => unitKey(r.unit)),
      });
      // Discovery returns only resources it read in full (a resource with a failed
      // required read is left out), so every one of them can be judged.
      const judged = await evaluateResources(
        opts.store,
        resources.map((r) => r.resource),
        { actor, now },
      );
      if (!(await stillHeld())) return await settledElsewhere(run);
      const reported = await opts.store.reportFindings(judged.reports, { actor, now });
      const summary: ScanSummary = {
        resources: resources.length,
        ...inventory,
        findings: {
          opened: reported.opened,
          updated: reported.updated,
          resolved: reported.resolved,
          dismissed: reported.dismissed,
          excluded: reported.excluded,
        },
        couldNotRead: [...found.errors, ...results.flatMap((r) => r.errors)],
      };
      clearInterval(heartbeat);
      await saving;
      const finished = await opts.store.finishScan(run.id, {
        status: 'completed',
        now: clock(),
        summary,
      });
      log.info(
        {
          resources: summary.resources,
          opened: summary.findings.opened,
          resolved: summary.findings.resolved,
          couldNotRead: summary.couldNotRead.length,
        },
        'scan finished',
      );
      return finished;
    } catch (error) {
      clearInterval(heartbeat);
      await saving;
      if (lost) return settledElsewhere(run);
      log.error({ err: error }, 'scan failed');
      return opts.store.finishScan(run.id, {
        status: 'failed',
        now: clock(),
        summary: null,
        error: errorMessage(error),
      });
    }
  }

  /** The run as the replica that failed it left it. */
  async function settledElsewhere(run: ScanRun): Promise<ScanRun> {
    return (await opts.store.getScan(run.id)) ?? run;
  }

  const track = <T>(work: Promise<T>): Promise<T> => {
    running.add(work);
    void work.finally(() => running.delete(work)).catch(() => {});
    return work;
  };

  return {
    async start(input) {
      const begun = await begin(input);
      if (!begun) return null;
      track(
        execute(begun.run, begun.found, input.actor).catch((err: unknown) =>
          opts.log.error({ err, scanId: begun.run.id }, 'scan could not be recorded'),
        ),
      );
      return begun.run;
    },
    async run(input) {
      const begun = await begin(input);
      if (!begun) throw new Error('the scan could not be started');
      return track(execute(begun.run, begun.found, input.actor));
    },
    async idle() {
      while (running.size > 0) await Promise.allSettled([...running]);
    },
    readLive: (target) => live.read(target),
  };
}
