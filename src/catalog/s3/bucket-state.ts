import type { ResourceRef } from '../../domain/action.ts';
import { invalidInput } from '../../domain/errors.ts';
import type { State } from '../fix.ts';

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Plain JSON, as stored in a snapshot: drops the `undefined` fields the SDK may leave. */
export function plainJson<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}

/**
 * The bucket a stored state describes. A state for another bucket than the resource is
 * refused, so a rollback can never write one bucket's configuration onto another.
 */
export function bucketOf(state: State, resource: ResourceRef | null, fix: string): string {
  const bucket = state.bucket;
  if (typeof bucket !== 'string' || bucket === '') {
    throw invalidInput(
      `${fix}: the state has no bucket name (got ${JSON.stringify(bucket)}); ` +
        'it was not produced by this fix, so it cannot be used',
    );
  }
  if (resource && resource.name !== bucket) {
    throw invalidInput(
      `${fix}: the state describes bucket "${bucket}" but the action is for bucket ` +
        `"${resource.name}"; nothing was changed`,
    );
  }
  return bucket;
}

export function badState(fix: string, field: string, value: unknown, expected: string) {
  return invalidInput(
    `${fix}: state field "${field}" must be ${expected}, got ${JSON.stringify(value)}; ` +
      'the state was not produced by this fix, so it cannot be used',
  );
}
