import type { ReadError, ScanUnit } from '../reads.ts';
import { errorCode, errorMessage } from '../reads.ts';
import type { DiscoveredResource } from '../types.ts';

/** What discovery of one unit found; `complete` is false when anything could not be read. */
export interface UnitResult {
  unit: ScanUnit;
  resources: DiscoveredResource[];
  errors: ReadError[];
  complete: boolean;
}

/** IAM and S3 listings are global; their units are named by this region. */
export const GLOBAL_REGION = 'global';
/** The region IAM resources are recorded in: IAM signs for it. */
export const IAM_REGION = 'us-east-1';

/** Detail reads in flight at once within one unit. */
export const DETAIL_CONCURRENCY = 16;

export const iso = (d: Date | undefined | null) => (d ? new Date(d).toISOString() : null);

export const tagMap = (
  tags: { Key?: string | undefined; Value?: string | undefined }[] | undefined,
) => Object.fromEntries((tags ?? []).filter((t) => t.Key).map((t) => [t.Key, t.Value ?? '']));

/**
 * A collector for one unit (or one resource read alone): errors found along the way and
 * whether all was read.
 */
export class Reading {
  readonly errors: ReadError[] = [];
  complete = true;
  readonly unit: ScanUnit;
  constructor(unit: ScanUnit) {
    this.unit = unit;
  }
  /** Records a failed read; a failed required read leaves the unit incomplete. */
  fail(operation: string, error: unknown, resourceId: string | null, required = true) {
    if (required) this.complete = false;
    this.errors.push({
      ...this.unit,
      operation,
      code: errorCode(error),
      message: errorMessage(error),
      resourceId,
    });
  }
  /** Runs an optional read: its failure is reported but the resource is still kept. */
  async optional<T>(operation: string, id: string, read: () => Promise<T>): Promise<T | null> {
    try {
      return await read();
    } catch (error) {
      this.fail(operation, error, id, false);
      return null;
    }
  }
  done(resources: (DiscoveredResource | null)[]): UnitResult {
    return {
      unit: this.unit,
      resources: resources.filter((r): r is DiscoveredResource => r !== null),
      errors: this.errors,
      complete: this.complete,
    };
  }
}
