import { GetCallerIdentityCommand } from '@aws-sdk/client-sts';
import type { Logger } from 'pino';
import { evaluateResources } from '../checks/evaluate.ts';
import type { AccountClients, AccountsConfig } from '../cloud/accounts.ts';
import type { CloudClients } from '../cloud/clients.ts';
import type { Store } from '../store/store.ts';
import { awsUnits, discoverAwsUnit, type UnitResult } from './discover-aws.ts';
import { discoverKubeUnit, kubeUnit } from './discover-k8s.ts';
import {
  errorCode,
  errorMessage,
  mapBounded,
  type ReadError,
  type ScanUnit,
  unitKey,
} from './reads.ts';
import type { ScanRun, ScanSummary, ScanTrigger, ScanUnitProgress } from './runs.ts';
import type { DiscoveredResource } from './types.ts';

/** Units discovered at once; each bounds its own detail reads. */
const UNIT_CONCURRENCY = 4;
/** How often a running scan's progress is saved even when no unit changed. */
const HEARTBEAT_MS = 60_000;
/** A running scan whose heartbeat is older than this was left by a server that stopped. */
export const SCAN_STALE_MS = 10 * 60_000;

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
}

export function createScanner(opts: ScannerOptions): Scanner {
  const clock = opts.clock ?? (() => new Date());
  const running = new Set<Promise<unknown>>();

  /**
   * The account the clients act in, checked against the one configured, so resources of
   * one account are never recorded under another's id.
   */
  async function identify(
    clients: CloudClients,
    region: string,
    expected: string | null,
  ): Promise<{ account: string } | { error: ReadError }> {
    const failed = (code: string, message: string) => ({
      error: {
        provider: 'aws' as const,
        account: expected ?? '',
        region,
        service: 'sts',
        operation: 'GetCallerIdentity',
        code,
        message,
        resourceId: null,
      },
    });
    try {
      const identity = await clients.sts(region).send(new GetCallerIdentityCommand({}));
      const account = identity.Account ?? '';
      if (expected !== null && account !== expected) {
        return failed(
          'WrongAccount',
          `the credentials for account ${expected} act in account ${account || '(unknown)'}; ` +
            'nothing of this account was read',
        );
      }
      return { account };
    } catch (error) {
      return failed(errorCode(error), errorMessage(error));
    }
  }

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
      aws.map((a) => identify(a.clients, a.regions[0] ?? opts.defaultRegion, a.expected)),
    );
    aws.forEach((a, i) => {
      const identity = identities[i] as Awaited<ReturnType<typeof identify>>;
      if ('error' in identity) {
        errors.push(identity.error);
        return;
      }
      for (const unit of awsUnits(identity.account, a.regions)) {
        out.push({ unit, clients: a.clients, regions: a.regions });
      }
    });
    if (opts.accounts) {
      for (const kube of opts.accounts.kubernetes) {
        const clients = opts.clients.forKubeconfig(kube.kubeconfig);
        for (const context of kube.contexts) {
          out.push({ unit: kubeUnit(context), clients, regions: [] });
        }
      }
    } else if (opts.defaultKubeContext) {
      try {
        const context = opts.clients.base.kube('').getCurrentContext();
        out.push({ unit: kubeUnit(context), clients: opts.clients.base, regions: [] });
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
    const save = () => {
      const snapshot = units.map((u) => ({ ...u }));
      saving = saving
        .then(() => opts.store.updateScanUnits(run.id, snapshot, clock()))
        .catch((err: unknown) => log.warn({ err }, 'could not save scan progress'));
    };
    const heartbeat = setInterval(save, HEARTBEAT_MS);
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
      clearInterval(heartbeat);
      await saving;
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
      log.error({ err: error }, 'scan failed');
      return opts.store.finishScan(run.id, {
        status: 'failed',
        now: clock(),
        summary: null,
        error: errorMessage(error),
      });
    }
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
  };
}
