import { parseCheckSettingsPatch, type CheckSettings } from '../checks/settings.ts';
import { AppError, invalidInput, notFound } from '../domain/errors.ts';
import type { ReportResult } from '../domain/finding.ts';
import { type Baseline, detectDrift } from '../drift/detect.ts';
import type { LiveRead } from '../inventory/live.ts';
import { mapBounded, type ReadError } from '../inventory/reads.ts';
import type { DiscoveredResource } from '../inventory/types.ts';
import type { BaselineQuery } from '../store/baselines.ts';
import type { Store } from '../store/store.ts';

export interface BaselineChange {
  baselines: Baseline[];
  /** The drift findings the new baselines settled: each resource now agrees with its baseline. */
  findings: Pick<ReportResult, 'resolved'>;
  /** Where the recorded configuration came from: always read live from the cloud. */
  source: 'live';
}

/** Reads one resource live through the scan's discovery code (the scanner is one). */
export interface LiveSource {
  readLive(target: DiscoveredResource): Promise<LiveRead>;
}

type Actor = { actor: string };

/** Live reads in flight at once for `baseline create --all`. */
const LIVE_CONCURRENCY = 8;
/** Failures named in one refusal's message; the rest are in its details. */
const NAMED_FAILURES = 5;

/**
 * Baselines and the checks' settings, free of HTTP. A baseline records the resource as the
 * cloud has it now: each resource is read live through the same discovery code a scan uses
 * (for that resource only), and nothing is recorded unless every read succeeded.
 */
export function createBaselineService(opts: {
  store: Store;
  live?: LiveSource | undefined;
  clock?: () => Date;
}) {
  const { store } = opts;
  const clock = opts.clock ?? (() => new Date());

  async function readAll(targets: DiscoveredResource[]): Promise<DiscoveredResource[]> {
    const live = opts.live;
    if (!live) {
      throw new AppError(
        'unsupported',
        'this server was started without a cloud to read, so it cannot read resources live',
      );
    }
    const reads = await mapBounded(targets, LIVE_CONCURRENCY, (t) => live.readLive(t));
    const failed = reads.flatMap((read, i) =>
      read.ok ? [] : [{ resourceId: (targets[i] as DiscoveredResource).id, ...read }],
    );
    if (failed.length > 0) {
      const named = failed.slice(0, NAMED_FAILURES).map((f) => f.message);
      const more =
        failed.length > NAMED_FAILURES ? ` (and ${failed.length - NAMED_FAILURES} more)` : '';
      const message = `nothing was recorded: ${named.join('; ')}${more}`;
      // Only when every failure is a missing resource is the answer "not found".
      if (failed.every((f) => f.reason === 'not_found')) throw notFound(message);
      throw new AppError('unsupported', message, {
        couldNotRead: failed.map((f) => ({
          resourceId: f.resourceId,
          reason: f.reason,
          errors: f.errors satisfies ReadError[],
        })),
      });
    }
    return reads.map((read) => (read as Extract<LiveRead, { ok: true }>).resource);
  }

  async function fromLive(
    target: { resourceIds?: string[]; all?: boolean },
    reason: 'captured' | 'promoted',
    { actor }: Actor,
  ): Promise<BaselineChange> {
    const existingOnly = reason === 'promoted';
    const targets = await store.baselineTargets(target, { existingOnly });
    const resources = await readAll(targets);
    const now = clock();
    const baselines = await store.captureBaselines(resources, {
      actor,
      now,
      reason,
      existingOnly,
    });
    // The resources now agree with their baselines; an open drift finding for them resolves.
    const settings = await store.getCheckSettings();
    const reports = detectDrift(resources, baselines, settings);
    const result = await store.reportFindings(reports, { actor, now });
    return { baselines, findings: { resolved: result.resolved }, source: 'live' };
  }

  return {
    /** New active baselines read live: the named resources, or all of the inventory's. */
    create: (target: { resourceIds?: string[]; all?: boolean }, who: Actor) =>
      fromLive(target, 'captured', who),
    /** After a planned change: the live configuration becomes the baseline, its drift resolves. */
    promote: (resourceId: string, who: Actor) => {
      if (typeof resourceId !== 'string' || resourceId === '') {
        throw invalidInput('give the id of the resource whose baseline to promote');
      }
      return fromLive({ resourceIds: [resourceId] }, 'promoted', who);
    },
    list: (query: BaselineQuery) => store.listBaselines(query),
    get: (id: string) => store.getBaseline(id),
    getCheckSettings: () => store.getCheckSettings(),
    updateCheckSettings: (input: unknown, { actor }: Actor): Promise<CheckSettings> =>
      store.updateCheckSettings(parseCheckSettingsPatch(input), { actor, now: clock() }),
  };
}

export type BaselineService = ReturnType<typeof createBaselineService>;
