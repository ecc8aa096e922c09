import { invalidInput } from '../../domain/errors.ts';
import type { State } from '../fix.ts';
import { WORKLOAD_KINDS, type ContainerResources, type WorkloadState } from './workload.ts';

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

function bad(fix: string, field: string, value: unknown, expected: string) {
  return invalidInput(
    `${fix}: state field "${field}" must be ${expected}, got ${JSON.stringify(value)}; ` +
      'the state was not produced by this fix, so it cannot be used',
  );
}

/** A stored workload state, checked field by field before a fix relies on it. */
export function parseWorkload(state: State, fix: string): WorkloadState {
  const { kind, namespace, name, uid, resourceVersion, resolvedFrom, unsupported, containers } =
    state;
  if (kind !== null && !(WORKLOAD_KINDS as readonly unknown[]).includes(kind)) {
    throw bad(fix, 'kind', kind, `null or one of ${WORKLOAD_KINDS.join(', ')}`);
  }
  for (const [field, value] of Object.entries({ namespace, name, uid, resourceVersion })) {
    if (typeof value !== 'string') throw bad(fix, field, value, 'a string');
  }
  if (
    resolvedFrom !== null &&
    !(
      isRecord(resolvedFrom) &&
      typeof resolvedFrom.kind === 'string' &&
      typeof resolvedFrom.name === 'string'
    )
  ) {
    throw bad(fix, 'resolvedFrom', resolvedFrom, 'null or { kind, name }');
  }
  if (unsupported !== null && typeof unsupported !== 'string') {
    throw bad(fix, 'unsupported', unsupported, 'null or a reason');
  }
  if (!Array.isArray(containers)) throw bad(fix, 'containers', containers, 'a list of containers');
  const parsed: ContainerResources[] = containers.map((c, i) => {
    if (
      !isRecord(c) ||
      typeof c.name !== 'string' ||
      typeof c.init !== 'boolean' ||
      !(c.resources === null || isRecord(c.resources))
    ) {
      throw bad(fix, `containers[${i}]`, c, '{ name, init, resources }');
    }
    return { name: c.name, init: c.init, resources: c.resources as Record<string, unknown> | null };
  });
  return {
    kind: kind as WorkloadState['kind'],
    namespace: namespace as string,
    name: name as string,
    uid: uid as string,
    resourceVersion: resourceVersion as string,
    resolvedFrom: resolvedFrom as WorkloadState['resolvedFrom'],
    unsupported: unsupported as string | null,
    containers: parsed,
  };
}
