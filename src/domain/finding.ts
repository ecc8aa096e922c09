import type { ResourceRef, SourceRef } from './action.ts';
import type { Severity } from './status.ts';

export type FindingStatus = 'failed' | 'passed' | 'manual' | 'unknown';

/**
 * A scanner finding reduced to what the product needs, whatever the input format.
 * Importers produce these; the catalog decides whether a fix exists for them.
 */
export interface NormalizedFinding {
  source: SourceRef;
  status: FindingStatus;
  severity: Severity;
  resource: ResourceRef;
  /** Standards and control ids the finding is related to, e.g. `AFSBP S3.4`. */
  related: string[];
  /** The scanner's own description of the resource (ASFF `Resources[].Details`), if any. */
  details?: Record<string, unknown>;
}
