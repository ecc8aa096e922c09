import { ApiError } from '../api-error.ts';

/** IAM's own errors, with the status and wording IAM answers with. */
export const noSuchUser = (name: string) =>
  new ApiError({
    status: 404,
    code: 'NoSuchEntity',
    message: `The user with name ${name} cannot be found.`,
  });

export const noSuchKey = (accessKeyId: string) =>
  new ApiError({
    status: 404,
    code: 'NoSuchEntity',
    message: `The Access Key with id ${accessKeyId} cannot be found.`,
  });

export const userExists = (name: string) =>
  new ApiError({
    status: 409,
    code: 'EntityAlreadyExists',
    message: `User with name ${name} already exists.`,
  });

export const keyLimit = () =>
  new ApiError({
    status: 409,
    code: 'LimitExceeded',
    message: 'Cannot exceed quota for AccessKeysPerUser: 2',
  });

export const deleteConflict = () =>
  new ApiError({
    status: 409,
    code: 'DeleteConflict',
    message: 'Cannot delete entity, must delete access keys first.',
  });

export const validation = (message: string) =>
  new ApiError({ status: 400, code: 'ValidationError', message });

/** IAM's wording for one parameter that breaks its constraint. */
export const constraint = (value: unknown, field: string, rule: string) =>
  validation(
    `1 validation error detected: Value ${value === undefined ? 'null' : `'${String(value)}'`} ` +
      `at '${field}' failed to satisfy constraint: ${rule}`,
  );

export const THROTTLING = { status: 400, code: 'Throttling', message: 'Rate exceeded' };
