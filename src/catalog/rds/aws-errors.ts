/**
 * The RDS error codes the fixes act on, as RDS's query protocol names them; the SDK
 * raises them as `DBInstanceNotFoundFault` and the like, with the code in `Code`.
 */
export const RDS_ERROR = {
  instanceNotFound: 'DBInstanceNotFound',
  snapshotNotFound: 'DBSnapshotNotFound',
  clusterNotFound: 'DBClusterNotFoundFault',
  instanceExists: 'DBInstanceAlreadyExists',
  snapshotExists: 'DBSnapshotAlreadyExists',
} as const;

/** True when `err` is the SDK's error for the RDS error code (or its exception name). */
export function hasAwsCode(err: unknown, code: string): boolean {
  if (typeof err !== 'object' || err === null) return false;
  const e = err as { name?: unknown; Code?: unknown };
  return e.Code === code || e.name === code || e.name === `${code}Fault`;
}
