import { parseCheckSettingsPatch, type CheckSettings } from '../checks/settings.ts';
import { invalidInput } from '../domain/errors.ts';
import type { ReportResult } from '../domain/finding.ts';
import { type Baseline, detectDrift } from '../drift/detect.ts';
import type { BaselineQuery } from '../store/baselines.ts';
import type { Store } from '../store/store.ts';

export interface BaselineChange {
  baselines: Baseline[];
  /** The drift findings the new baselines settled: each resource now agrees with its baseline. */
  findings: Pick<ReportResult, 'resolved'>;
}

type Actor = { actor: string };

/**
 * Baselines and the checks' settings, free of HTTP. The live configuration a baseline
 * takes is the one the inventory holds from the last scan: the API never calls the cloud.
 */
export function createBaselineService(opts: { store: Store; clock?: () => Date }) {
  const { store } = opts;
  const clock = opts.clock ?? (() => new Date());

  async function fromInventory(
    target: { resourceIds?: string[]; all?: boolean },
    reason: 'captured' | 'promoted',
    { actor }: Actor,
  ): Promise<BaselineChange> {
    const now = clock();
    const { baselines, resources } = await store.baselineFromInventory(target, {
      actor,
      now,
      reason,
      existingOnly: reason === 'promoted',
    });
    // The resources now agree with their baselines; an open drift finding for them resolves.
    const reports = detectDrift(resources, baselines);
    const result = await store.reportFindings(reports, { actor, now });
    return { baselines, findings: { resolved: result.resolved } };
  }

  return {
    /** New active baselines from the inventory: the named resources, or all of them. */
    create: (target: { resourceIds?: string[]; all?: boolean }, who: Actor) =>
      fromInventory(target, 'captured', who),
    /** After a planned change: the live configuration becomes the baseline, its drift resolves. */
    promote: (resourceId: string, who: Actor) => {
      if (typeof resourceId !== 'string' || resourceId === '') {
        throw invalidInput('give the id of the resource whose baseline to promote');
      }
      return fromInventory({ resourceIds: [resourceId] }, 'promoted', who);
    },
    list: (query: BaselineQuery) => store.listBaselines(query),
    get: (id: string) => store.getBaseline(id),
    getCheckSettings: () => store.getCheckSettings(),
    updateCheckSettings: (input: unknown, { actor }: Actor): Promise<CheckSettings> =>
      store.updateCheckSettings(parseCheckSettingsPatch(input), { actor, now: clock() }),
  };
}

export type BaselineService = ReturnType<typeof createBaselineService>;
