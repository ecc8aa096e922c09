import type { ResourceRef } from '../../domain/action.ts';
import { invalidInput } from '../../domain/errors.ts';
import type { State } from '../fix.ts';
import type { ClusterFacts, InstanceFacts } from './instance.ts';

/*
 * Reading a stored state (a plan's `before`, a snapshot) back into typed facts. A state
 * that does not have this fix's shape is refused with the field at fault, so a rollback
 * never acts on a configuration it cannot understand.
 */

export function badState(fix: string, field: string, value: unknown, expected: string) {
  return invalidInput(
    `${fix}: state field "${field}" must be ${expected}, got ${JSON.stringify(value)}; ` +
      'the state was not produced by this fix, so it cannot be used',
  );
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Typed reads of one state object, each naming the fix and field when it fails. */
export function fields(fix: string, state: Record<string, unknown>, prefix = '') {
  const at = (f: string) => `${prefix}${f}`;
  return {
    str(f: string): string {
      const v = state[f];
      if (typeof v !== 'string' || v === '') throw badState(fix, at(f), v, 'a non-empty string');
      return v;
    },
    strOrNull(f: string): string | null {
      const v = state[f] ?? null;
      if (v !== null && typeof v !== 'string') throw badState(fix, at(f), v, 'a string or null');
      return v;
    },
    boolOrNull(f: string): boolean | null {
      const v = state[f] ?? null;
      if (v !== null && typeof v !== 'boolean')
        throw badState(fix, at(f), v, 'true, false or null');
      return v;
    },
    numOrNull(f: string): number | null {
      const v = state[f] ?? null;
      if (v !== null && !Number.isInteger(v))
        throw badState(fix, at(f), v, 'a whole number or null');
      return v as number | null;
    },
    strings(f: string): string[] {
      const v = state[f] ?? [];
      if (!Array.isArray(v) || v.some((s) => typeof s !== 'string')) {
        throw badState(fix, at(f), v, 'a list of strings');
      }
      return v as string[];
    },
  };
}

/** The facts every RDS state starts with; refuses a state of another instance. */
export function parseFacts(
  fix: string,
  state: State,
  resource: ResourceRef | null,
): InstanceFacts & { cluster: ClusterFacts | null } {
  const f = fields(fix, state);
  const instance = f.str('instance');
  if (resource && resource.name.toLowerCase() !== instance.toLowerCase()) {
    throw invalidInput(
      `${fix}: the state describes DB instance "${instance}" but the action is for ` +
        `"${resource.name}"; nothing was changed`,
    );
  }
  return {
    instance,
    status: f.strOrNull('status'),
    engine: f.strOrNull('engine'),
    clusterId: f.strOrNull('clusterId'),
    replicaSource: f.strOrNull('replicaSource'),
    replicas: f.strings('replicas'),
    maintenanceWindow: f.strOrNull('maintenanceWindow'),
    cluster: parseCluster(fix, state.cluster ?? null),
  };
}

function parseCluster(fix: string, value: unknown): ClusterFacts | null {
  if (value === null) return null;
  if (!isRecord(value)) throw badState(fix, 'cluster', value, 'null or the Aurora cluster facts');
  const f = fields(fix, value, 'cluster.');
  return {
    cluster: f.str('cluster'),
    status: f.strOrNull('status'),
    multiAZ: f.boolOrNull('multiAZ'),
    backupRetentionPeriod: f.numOrNull('backupRetentionPeriod'),
    storageEncrypted: f.boolOrNull('storageEncrypted'),
    members: f.strings('members'),
  };
}
