import type { ResourceRef } from '../../domain/action.ts';
import type { FixOptions } from '../../domain/fix-options.ts';
import { invalidInput } from '../../domain/errors.ts';
import type { FixContext, State } from '../fix.ts';
import { kubeCallOf, runKubeCall } from './calls.ts';
import { kubeCall } from './kube-api.ts';
import { kubeSdk } from '../sdk.ts';

export const ENFORCE_LABEL = 'pod-security.kubernetes.io/enforce';
export const ENFORCE_VERSION_LABEL = 'pod-security.kubernetes.io/enforce-version';
export const LEVELS = ['privileged', 'baseline', 'restricted'] as const;

/** Pods the API server says would be refused, grouped as its warning groups them. */
export interface PodViolation {
  /** The pod named (the lexically first of its group). */
  pod: string;
  /** How many more pods share exactly these reasons. */
  otherPods: number;
  reasons: string[];
}

/** What `k8s.enforce-pod-security` reads: the namespace's enforce labels. */
export interface NamespaceState extends State {
  namespace: string;
  uid: string;
  resourceVersion: string;
  /** `pod-security.kubernetes.io/enforce`, null when the label is absent. */
  enforce: string | null;
  /** `pod-security.kubernetes.io/enforce-version`, null when absent. */
  enforceVersion: string | null;
  /** The server-side dry run of the new labels; null when nothing needs to change. */
  dryRun: { policy: string; violations: PodViolation[]; warnings: string[] } | null;
}

const rank = (level: string | null) => LEVELS.indexOf(level as (typeof LEVELS)[number]);

/** True when the namespace already enforces the configured level or a stricter one. */
export function enforcesAtLeast(state: NamespaceState, options: FixOptions): boolean {
  return rank(state.enforce) >= rank(options.k8sPodSecurityLevel);
}

export function policyOf(options: FixOptions): string {
  return `${options.k8sPodSecurityLevel}:${options.k8sPodSecurityVersion}`;
}

/** The merge patch that sets the two labels, conditioned on `resourceVersion`. */
export function labelPatch(
  namespace: string,
  resourceVersion: string,
  enforce: string | null,
  version: string | null,
) {
  return kubeCallOf('patchNamespace', {
    name: namespace,
    contentType: 'application/merge-patch+json',
    body: {
      metadata: {
        resourceVersion,
        labels: { [ENFORCE_LABEL]: enforce, [ENFORCE_VERSION_LABEL]: version },
      },
    },
  });
}

/**
 * Reads the namespace's labels and, when the configured level is not yet enforced, asks
 * the API server to dry-run the new labels: Pod Security Admission answers with the
 * existing pods that would violate them. A dry run changes nothing.
 */
export async function readNamespace(
  ctx: FixContext,
  resource: ResourceRef,
): Promise<NamespaceState> {
  const { CoreV1Api } = await kubeSdk();
  const core = ctx.clients.kube(resource.account).makeApiClient(CoreV1Api);
  const ns = await kubeCall(`get namespace ${resource.name}`, () =>
    core.readNamespace({ name: resource.name }),
  );
  const labels = ns.metadata?.labels ?? {};
  const state: NamespaceState = {
    namespace: resource.name,
    uid: ns.metadata?.uid ?? '',
    resourceVersion: ns.metadata?.resourceVersion ?? '',
    enforce: labels[ENFORCE_LABEL] ?? null,
    enforceVersion: labels[ENFORCE_VERSION_LABEL] ?? null,
    dryRun: null,
  };
  if (enforcesAtLeast(state, ctx.options)) return state;
  const { k8sPodSecurityLevel: level, k8sPodSecurityVersion: version } = ctx.options;
  const call = labelPatch(resource.name, state.resourceVersion, level, version);
  const { warnings } = await runKubeCall(ctx, resource.account, call, true);
  return { ...state, dryRun: { policy: policyOf(ctx.options), ...parsePodWarnings(warnings) } };
}

const POD_LINE = /^(.+?)(?: \(and (\d+) other pods?\))?: (.+)$/;

/**
 * Pod Security Admission's warnings for a namespace update: `existing pods in namespace
 * "x" violate ...`, then one `pod (and N other pods): reason, reason` line per group.
 */
export function parsePodWarnings(warnings: string[]): {
  violations: PodViolation[];
  warnings: string[];
} {
  const violations: PodViolation[] = [];
  for (const line of warnings) {
    if (line.startsWith('existing pods in namespace') || line.startsWith('new PodSecurity'))
      continue;
    const match = POD_LINE.exec(line);
    if (!match) continue;
    violations.push({
      pod: match[1] as string,
      otherPods: Number(match[2] ?? 0),
      reasons: (match[3] as string).split(', '),
    });
  }
  return { violations, warnings: [...warnings] };
}

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** A stored namespace state, checked before a fix relies on it. */
export function parseNamespace(state: State, fix: string): NamespaceState {
  const fail = (field: string, expected: string) =>
    invalidInput(
      `${fix}: state field "${field}" must be ${expected}, got ${JSON.stringify(state[field])}; ` +
        'the state was not produced by this fix, so it cannot be used',
    );
  for (const field of ['namespace', 'uid', 'resourceVersion']) {
    if (typeof state[field] !== 'string') throw fail(field, 'a string');
  }
  for (const field of ['enforce', 'enforceVersion']) {
    if (state[field] !== null && typeof state[field] !== 'string')
      throw fail(field, 'null or a string');
  }
  const dryRun = state.dryRun;
  if (
    dryRun !== null &&
    !(
      isRecord(dryRun) &&
      Array.isArray(dryRun.violations) &&
      Array.isArray(dryRun.warnings) &&
      typeof dryRun.policy === 'string'
    )
  ) {
    throw fail('dryRun', 'null or { policy, violations, warnings }');
  }
  return state as NamespaceState;
}
