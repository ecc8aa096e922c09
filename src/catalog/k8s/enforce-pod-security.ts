import type { ResourceRef } from '../../domain/action.ts';
import type { Fix, FixContext } from '../fix.ts';
import { LIVE_RESOURCE_VERSION, runKubeCall } from './calls.ts';
import { isKubeStatus, KubeApiError } from './kube-api.ts';
import {
  enforcesAtLeast,
  labelPatch,
  type NamespaceState,
  type PodViolation,
  parseNamespace,
  policyOf,
  readNamespace,
} from './namespace-state.ts';

const TYPE = 'k8s.enforce-pod-security';

export const enforcePodSecurity: Fix = {
  type: TYPE,
  resourceType: 'KubernetesNamespace',
  service: 'kubernetes',
  risk: 'medium',
  summary:
    'Enforces a Pod Security Standard on a namespace with the Pod Security Admission labels ' +
    '(pod-security.kubernetes.io/enforce and enforce-version), which replaced PodSecurityPolicy.',
  // The dry run that lists violating pods is a PATCH with dryRun=All: it needs patch too.
  permissions: ['get namespaces', 'patch namespaces'],

  title: (resource) => `Enforce Pod Security Standards on namespace ${resource.name}`,

  read: (ctx: FixContext, resource: ResourceRef) => readNamespace(ctx, resource),

  isCompliant: (state, input) => enforcesAtLeast(parseNamespace(state, TYPE), input.options),

  target(state, input) {
    const parsed = parseNamespace(state, TYPE);
    if (enforcesAtLeast(parsed, input.options)) return parsed;
    return {
      ...parsed,
      enforce: input.options.k8sPodSecurityLevel,
      enforceVersion: input.options.k8sPodSecurityVersion,
      dryRun: null,
    };
  },

  calls(resource, state, input) {
    const parsed = parseNamespace(state, TYPE);
    if (enforcesAtLeast(parsed, input.options)) return [];
    const { k8sPodSecurityLevel: level, k8sPodSecurityVersion: version } = input.options;
    return [labelPatch(resource.name, parsed.resourceVersion, level, version)];
  },

  rollbackCalls(resource, snapshot) {
    const parsed = parseNamespace(snapshot, TYPE);
    return [
      labelPatch(resource.name, LIVE_RESOURCE_VERSION, parsed.enforce, parsed.enforceVersion),
    ];
  },

  reversibility: () => ({
    level: 'full',
    note:
      'the rollback puts both labels back exactly as they were, removing them where there were ' +
      'none; pods refused while the level was enforced are created again by their controllers',
  }),

  warnings(state, input) {
    const parsed = parseNamespace(state, TYPE);
    const policy = policyOf(input.options);
    const warnings = [
      `Pod Security Admission checks pods when they are created: once "${policy}" is enforced, ` +
        `new pods in ${parsed.namespace} that violate it are refused, so workloads whose pods ` +
        'violate it stop rolling out and scaling.',
    ];
    if (parsed.enforce !== null) {
      warnings.push(`The namespace now enforces "${parsed.enforce}"; the fix replaces it.`);
    }
    const violations = parsed.dryRun?.violations ?? [];
    if (violations.length > 0) {
      const count = violations.reduce((n, v) => n + 1 + v.otherPods, 0);
      const list = violations.map(describeViolation).join('; ');
      warnings.push(
        `${count} running pod${count > 1 ? 's' : ''} in ${parsed.namespace} would violate ` +
          `"${parsed.dryRun?.policy}" (server-side dry run): ${list}. They keep running, but ` +
          'are refused when recreated (a rollout, an eviction, a node failure): fix them or ' +
          'choose a laxer level first.',
      );
    }
    for (const note of parsed.dryRun?.warnings ?? []) {
      if (note.startsWith('new PodSecurity enforce level only checked'))
        warnings.push(`The API server: ${note}.`);
    }
    return warnings;
  },

  async apply(ctx, resource, state) {
    const parsed = parseNamespace(state, TYPE);
    const calls = enforcePodSecurity.calls(resource, parsed, ctx);
    await runConditioned(ctx, resource, parsed, calls, (live) =>
      enforcesAtLeast(live, ctx.options),
    );
  },

  async restore(ctx, resource, snapshot) {
    const parsed = parseNamespace(snapshot, TYPE);
    const live = await readNamespace(ctx, resource);
    const call = labelPatch(
      resource.name,
      live.resourceVersion,
      parsed.enforce,
      parsed.enforceVersion,
    );
    await runConditioned(ctx, resource, live, [call], (now) => sameLabels(now, parsed));
  },

  isRestored: (live, snapshot) =>
    sameLabels(parseNamespace(live, TYPE), parseNamespace(snapshot, TYPE)),

  isUnchangedSinceFix(live, snapshot, input) {
    const now = parseNamespace(live, TYPE);
    const expected = parseNamespace(enforcePodSecurity.target(snapshot, input), TYPE);
    return now.uid === expected.uid && sameLabels(now, expected);
  },
};

/** `web-1 (and 2 other pods): privileged`, as the API server groups them. */
function describeViolation(v: PodViolation): string {
  const others = v.otherPods ? ` (and ${v.otherPods} other pod${v.otherPods > 1 ? 's' : ''})` : '';
  return `${v.pod}${others}: ${v.reasons.join(', ')}`;
}

function sameLabels(a: NamespaceState, b: NamespaceState): boolean {
  return a.enforce === b.enforce && a.enforceVersion === b.enforceVersion;
}

/**
 * Runs patches conditioned on the resourceVersion read before. A 409 after a retried
 * attempt may be that attempt's own lost success: if the namespace is already as wanted,
 * it was. Any other 409 means someone changed the namespace, and nothing was changed.
 */
async function runConditioned(
  ctx: FixContext,
  resource: ResourceRef,
  seen: NamespaceState,
  calls: ReturnType<typeof labelPatch>[],
  done: (live: NamespaceState) => boolean,
): Promise<void> {
  try {
    for (const call of calls) await runKubeCall(ctx, resource.account, call);
  } catch (err) {
    if (!isKubeStatus(err, 409)) throw err;
    const live = await readNamespace(ctx, resource);
    if (err.$metadata.attempts > 1 && done(live)) return;
    throw new KubeApiError(
      err.status,
      err.reason,
      `namespace ${seen.namespace} changed after it was read (resourceVersion ` +
        `${seen.resourceVersion}, now ${live.resourceVersion}), so the API refused the patch ` +
        `and nothing was changed; review the new plan and retry. ${err.message}`,
      err.$metadata.attempts,
    );
  }
}
