import type { FindingReport } from '../domain/finding.ts';
import { detectDrift } from '../drift/detect.ts';
import type { DiscoveredResource } from '../inventory/types.ts';
import type { Store } from '../store/store.ts';
import { runChecks } from './run.ts';

/**
 * A scan's judgement of what it discovered: the built-in checks under the stored settings,
 * and drift against each resource's active baseline, judged by the same settings. Resources seen for the first time get
 * their first baseline here, so they report no drift until they change.
 */
export async function evaluateResources(
  store: Store,
  resources: DiscoveredResource[],
  opts: { actor: string; now: Date },
): Promise<{ reports: FindingReport[]; baselinesCaptured: number }> {
  const settings = await store.getCheckSettings();
  const { baselines, captured } = await store.ensureBaselines(resources, opts);
  return {
    reports: [
      ...runChecks(resources, { settings, now: opts.now }),
      ...detectDrift(resources, baselines, settings),
    ],
    baselinesCaptured: captured,
  };
}
