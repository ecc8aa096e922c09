import { ApiError } from '../api-error.ts';
import { qualifiedKind, qualifiedName, type ResourceInfo } from './resources.ts';

export interface StatusCause {
  reason: string;
  message: string;
  field?: string;
}

/** The `details` of a Kubernetes Status object. */
export interface StatusDetails {
  name?: string;
  group?: string;
  kind?: string;
  causes?: StatusCause[];
  retryAfterSeconds?: number;
}

/** An error the API server answers with: rendered as a `Status` object. */
export class KubeError extends ApiError {
  readonly details: StatusDetails | undefined;

  constructor(
    status: number,
    reason: string,
    message: string,
    details?: StatusDetails,
    headers?: Record<string, string>,
  ) {
    super({ status, code: reason, message, ...(headers ? { headers } : {}) });
    this.details = details;
  }
}

const about = (res: ResourceInfo, name: string): StatusDetails => ({
  name,
  ...(res.group ? { group: res.group } : {}),
  kind: res.plural,
});

export function notFound(res: ResourceInfo, name: string): KubeError {
  return new KubeError(
    404,
    'NotFound',
    `${qualifiedName(res)} "${name}" not found`,
    about(res, name),
  );
}

/** What the server says for a path it does not serve. */
export function noSuchPath(): KubeError {
  return new KubeError(404, 'NotFound', 'the server could not find the requested resource', {});
}

export function alreadyExists(res: ResourceInfo, name: string): KubeError {
  return new KubeError(
    409,
    'AlreadyExists',
    `${qualifiedName(res)} "${name}" already exists`,
    about(res, name),
  );
}

/** A write whose resourceVersion is not the stored one. */
export function conflict(res: ResourceInfo, name: string): KubeError {
  return new KubeError(
    409,
    'Conflict',
    `Operation cannot be fulfilled on ${qualifiedName(res)} "${name}": the object has been ` +
      'modified; please apply your changes to the latest version and try again',
    about(res, name),
  );
}

/** `Deployment.apps "web" is invalid: spec.x: Required value` */
export function invalid(res: ResourceInfo, name: string, causes: StatusCause[]): KubeError {
  const list = causes.map((c) => (c.field ? `${c.field}: ${c.message}` : c.message));
  const text = list.length === 1 ? list[0] : `[${list.join(', ')}]`;
  return new KubeError(422, 'Invalid', `${qualifiedKind(res)} "${name}" is invalid: ${text}`, {
    ...about(res, name),
    kind: res.kind,
    causes,
  });
}

export const required = (field: string): StatusCause => ({
  reason: 'FieldValueRequired',
  message: 'Required value',
  field,
});

export const invalidValue = (field: string, value: unknown, why: string): StatusCause => ({
  reason: 'FieldValueInvalid',
  message: `Invalid value: ${JSON.stringify(value)}: ${why}`,
  field,
});

export const forbiddenField = (field: string, why: string): StatusCause => ({
  reason: 'FieldValueForbidden',
  message: `Forbidden: ${why}`,
  field,
});

export const unsupportedValue = (field: string, value: unknown, supported: string[]) => ({
  reason: 'FieldValueNotSupported',
  message:
    `Unsupported value: ${JSON.stringify(value)}: supported values: ` +
    supported.map((s) => `"${s}"`).join(', '),
  field,
});

export function badRequest(message: string): KubeError {
  return new KubeError(400, 'BadRequest', message);
}

export function forbidden(res: ResourceInfo, name: string, why: string): KubeError {
  return new KubeError(
    403,
    'Forbidden',
    `${qualifiedName(res)} "${name}" is forbidden: ${why}`,
    about(res, name),
  );
}

export function unsupportedMediaType(contentType: string, accepted: string[]): KubeError {
  return new KubeError(
    415,
    'UnsupportedMediaType',
    `the body of the request was in an unknown format (${contentType || 'none given'}) - ` +
      `accepted media types include: ${accepted.join(', ')}`,
  );
}

export function methodNotAllowed(): KubeError {
  return new KubeError(
    405,
    'MethodNotAllowed',
    'the server does not allow this method on the requested resource',
  );
}

/** What API Priority and Fairness answers when it sheds load; clients wait Retry-After. */
export function tooManyRequests(): KubeError {
  return new KubeError(
    429,
    'TooManyRequests',
    'Too many requests, please try again later.',
    { retryAfterSeconds: 1 },
    { 'retry-after': '1' },
  );
}

export function internalError(): KubeError {
  return new KubeError(
    500,
    'InternalError',
    'Internal error occurred: the sandbox API server failed this request on purpose',
  );
}
