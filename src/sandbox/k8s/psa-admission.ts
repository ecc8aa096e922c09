import { type StatusCause, unsupportedValue, invalidValue } from './errors.ts';
import {
  evaluatePodSpec,
  forbiddenDetail,
  forbiddenReason,
  type Level,
  LEVELS,
} from './pod-security.ts';

type Labels = Record<string, string>;

export const ENFORCE_LABEL = 'pod-security.kubernetes.io/enforce';
const MODES = ['enforce', 'audit', 'warn'] as const;
const VERSION = /^(latest|v1\.(0|[1-9][0-9]*))$/;

export interface LevelVersion {
  level: Level;
  version: string;
}

/** `baseline:latest`, as PSA prints a level and version. */
export const describePolicy = (p: LevelVersion) => `${p.level}:${p.version}`;

/**
 * The enforce policy a namespace's labels ask for (privileged:latest when unlabelled),
 * and what is wrong with its Pod Security labels.
 */
export function enforcePolicy(labels: Labels | undefined): {
  policy: LevelVersion;
  errors: StatusCause[];
} {
  const have = labels ?? {};
  const errors: StatusCause[] = [];
  for (const mode of MODES) {
    const key = `pod-security.kubernetes.io/${mode}`;
    const level = have[key];
    if (level !== undefined && !LEVELS.includes(level as Level)) {
      errors.push(unsupportedValue(`metadata.labels[${key}]`, level, [...LEVELS]));
    }
    const version = have[`${key}-version`];
    if (version !== undefined && !VERSION.test(version)) {
      errors.push(
        invalidValue(`metadata.labels[${key}-version]`, version, 'must be "latest" or "v1.x"'),
      );
    }
  }
  const level = have[ENFORCE_LABEL];
  const version = have[`${ENFORCE_LABEL}-version`];
  return {
    policy: {
      // PSA evaluates an unreadable level as the strictest and version as latest.
      level:
        level === undefined
          ? 'privileged'
          : LEVELS.includes(level as Level)
            ? (level as Level)
            : 'restricted',
      version: version !== undefined && VERSION.test(version) ? version : 'latest',
    },
    errors,
  };
}

interface PodLike {
  metadata: { name: string; ownerReferences?: { uid?: string; controller?: boolean }[] };
  spec?: unknown;
}

/**
 * The warnings PSA returns when a namespace update tightens its enforce level: which
 * existing pods would be refused, grouped by their reasons, exactly as the API server
 * words them. Empty when the change does not tighten the level.
 */
export function namespaceUpdateWarnings(
  namespace: string,
  oldLabels: Labels | undefined,
  newLabels: Labels | undefined,
  pods: readonly PodLike[],
): string[] {
  const before = enforcePolicy(oldLabels).policy;
  const after = enforcePolicy(newLabels).policy;
  if (before.level === after.level && before.version === after.version) return [];
  if (after.level === 'privileged') return [];
  if (after.version === before.version && rank(after.level) <= rank(before.level)) return [];

  const groups = new Map<string, { first: string; count: number }>();
  const order: string[] = [];
  for (const pod of prioritize(pods)) {
    const violations = evaluatePodSpec(after.level, (pod.spec ?? {}) as Record<string, unknown>);
    if (violations.length === 0) continue;
    const reason = forbiddenReason(violations);
    const group = groups.get(reason);
    if (!group) {
      groups.set(reason, { first: pod.metadata.name, count: 1 });
      order.push(reason);
    } else {
      group.count += 1;
      if (pod.metadata.name < group.first) group.first = pod.metadata.name;
    }
  }
  if (order.length === 0) return [];
  const decorated = order.map((reason) => {
    const { first, count } = groups.get(reason) as { first: string; count: number };
    if (count === 1) return `${first}: ${reason}`;
    if (count === 2) return `${first} (and 1 other pod): ${reason}`;
    return `${first} (and ${count - 1} other pods): ${reason}`;
  });
  return [
    `existing pods in namespace "${namespace}" violate the new PodSecurity enforce level ` +
      `"${describePolicy(after)}"`,
    ...decorated.sort(),
  ];
}

/** Why PSA refuses to admit a pod in a namespace with these labels, or null. */
export function podAdmissionRefusal(labels: Labels | undefined, spec: unknown): string | null {
  const { policy } = enforcePolicy(labels);
  const violations = evaluatePodSpec(policy.level, (spec ?? {}) as Record<string, unknown>);
  if (violations.length === 0) return null;
  return `violates PodSecurity "${describePolicy(policy)}": ${forbiddenDetail(violations)}`;
}

function rank(level: Level): number {
  return LEVELS.indexOf(level);
}

/** One pod per controller first, as PSA orders them before evaluating. */
function prioritize(pods: readonly PodLike[]): PodLike[] {
  const seen = new Set<string>();
  const first: PodLike[] = [];
  const rest: PodLike[] = [];
  for (const pod of pods) {
    const owner = pod.metadata.ownerReferences?.find((o) => o.controller)?.uid;
    if (owner === undefined) first.push(pod);
    else if (seen.has(owner)) rest.push(pod);
    else {
      seen.add(owner);
      first.push(pod);
    }
  }
  return [...first, ...rest];
}
