import { ApiError } from '../api-error.ts';

/*
 * RDS's own errors: the codes its query protocol answers with (the SDK maps them to
 * `DBInstanceNotFoundFault` and the like), their HTTP status, and RDS's wording.
 */

export const THROTTLING = { status: 400, code: 'Throttling', message: 'Rate exceeded' };

export const instanceNotFound = (id: string) =>
  new ApiError({
    status: 404,
    code: 'DBInstanceNotFound',
    message: `DBInstance ${id} not found.`,
  });

export const snapshotNotFound = (id: string) =>
  new ApiError({
    status: 404,
    code: 'DBSnapshotNotFound',
    message: `DBSnapshot ${id} not found.`,
  });

export const clusterNotFound = (id: string) =>
  new ApiError({
    status: 404,
    code: 'DBClusterNotFoundFault',
    message: `DBCluster ${id} not found.`,
  });

export const instanceExists = () =>
  new ApiError({
    status: 400,
    code: 'DBInstanceAlreadyExists',
    message: 'DB instance already exists',
  });

export const clusterExists = () =>
  new ApiError({
    status: 400,
    code: 'DBClusterAlreadyExistsFault',
    message: 'DB Cluster already exists',
  });

export const snapshotExists = (id: string) =>
  new ApiError({
    status: 400,
    code: 'DBSnapshotAlreadyExists',
    message:
      `Cannot create the snapshot because a snapshot with the identifier ${id} ` +
      'already exists.',
  });

export const invalidInstanceState = (message: string) =>
  new ApiError({ status: 400, code: 'InvalidDBInstanceState', message });

export const invalidSnapshotState = (message: string) =>
  new ApiError({ status: 400, code: 'InvalidDBSnapshotState', message });

export const invalidCombination = (message: string) =>
  new ApiError({ status: 400, code: 'InvalidParameterCombination', message });

export const invalidValue = (message: string) =>
  new ApiError({ status: 400, code: 'InvalidParameterValue', message });

export const kmsKeyNotAccessible = (key: string) =>
  new ApiError({
    status: 400,
    code: 'KMSKeyNotAccessibleFault',
    message:
      `The specified KMS key [${key}] does not exist, is not enabled or you do not have ` +
      'permissions to access it.',
  });

/** The message RDS gives when an instance is not `available` for a change. */
export const notAvailable = () =>
  invalidInstanceState('Database instance is not in available state.');
