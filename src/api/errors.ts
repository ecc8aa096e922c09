import type { FastifyError } from 'fastify';
import { AppError, type ErrorCode } from '../domain/errors.ts';

/** Every error code the API answers with; each has exactly one HTTP status. */
export type ApiErrorCode =
  | ErrorCode
  | 'request_timeout'
  | 'payload_too_large'
  | 'unsupported_media_type'
  | 'headers_too_large'
  | 'too_many_requests'
  | 'idempotency_mismatch'
  | 'unavailable'
  | 'internal';

export const HTTP_STATUS: Record<ApiErrorCode, number> = {
  invalid_input: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  request_timeout: 408,
  conflict: 409,
  window_closed: 409,
  payload_too_large: 413,
  unsupported_media_type: 415,
  unsupported: 422,
  idempotency_mismatch: 422,
  too_many_requests: 429,
  headers_too_large: 431,
  internal: 500,
  unavailable: 503,
};

/** A refusal only the HTTP layer makes: the connection, the URL, the server closing. */
export class HttpRefusal extends Error {
  readonly code: ApiErrorCode;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: ApiErrorCode, message: string, details?: Record<string, unknown>) {
    super(message);
    this.name = 'HttpRefusal';
    this.code = code;
    this.details = details;
  }
}

/** What the request said about its body, to name the accepted types when refusing it. */
export interface ErrorContext {
  contentType?: string | undefined;
  /** The content types the route takes; JSON unless the route says otherwise. */
  accepts?: readonly string[] | undefined;
  /** The route's body limit in bytes, and whether it is an upload held to the import limit. */
  bodyLimit?: number | undefined;
  importUpload?: boolean | undefined;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The body is an uploaded file held to the import limit (INFRAUDIT_IMPORT_LIMIT_MB). */
    importUpload?: boolean;
  }
}

/** Largest request body any route but an import takes. */
export const REQUEST_BODY_LIMIT = 1024 * 1024;

/** Longest path parameter the router takes; ids are at most this long too. */
export const MAX_PARAM_LENGTH = 100;

export interface ErrorBody {
  error: { code: ApiErrorCode; message: string; details?: Record<string, unknown> };
}

export interface HttpError {
  status: number;
  body: ErrorBody;
}

/**
 * The one place an error becomes an HTTP answer. Anything not raised on purpose
 * becomes `internal` with a fixed message, so no stack, SQL or secret reaches a client.
 */
export function toHttpError(error: unknown, context: ErrorContext = {}): HttpError {
  try {
    return describe(error, context);
  } catch {
    // Describing the error failed too (a value too deep to print, say): the one shape
    // still holds, and the caller logs the original error as internal.
    return reply('internal', 'internal error; the server log has the details');
  }
}

function describe(error: unknown, context: ErrorContext): HttpError {
  if (error instanceof AppError || error instanceof HttpRefusal) {
    return reply(error.code, error.message, error.details);
  }
  const fastify = error as Partial<FastifyError> | null;
  if (fastify?.validation) {
    return reply('invalid_input', validationMessage(fastify), {
      where: fastify.validationContext,
    });
  }
  if (fastify?.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
    return tooLarge(context);
  }
  if (fastify?.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
    const accepted = [...(context.accepts ?? ['application/json'])];
    const given = context.contentType?.split(';')[0]?.trim() || 'none';
    return reply(
      'unsupported_media_type',
      `this route does not take a "${given}" body; send ${accepted.join(' or ')}`,
      { contentType: given, accepted },
    );
  }
  if (fastify?.code === 'FST_ERR_BAD_URL') {
    return reply(
      'invalid_input',
      'the URL path is not valid percent-encoding: each "%" must start a byte such as %2F; ' +
        'encode ids with encodeURIComponent',
      { where: 'url' },
    );
  }
  if (fastify?.code === 'FST_ERR_MAX_PARAM_LENGTH') {
    return reply(
      'invalid_input',
      `a path parameter is longer than ${MAX_PARAM_LENGTH} characters, and no id is; ` +
        'check the id',
      { where: 'params', maxLength: MAX_PARAM_LENGTH },
    );
  }
  const status = fastify?.statusCode ?? 500;
  if (status >= 400 && status < 500) {
    // Body parsing and other framework refusals: the client sent something unusable.
    return reply('invalid_input', `the request could not be read: ${fastify?.message ?? ''}`, {
      ...(fastify?.code ? { reason: fastify.code } : {}),
    });
  }
  return reply('internal', 'internal error; the server log has the details');
}

/** Only an import names the import limit; every other route has the fixed request limit. */
function tooLarge(context: ErrorContext): HttpError {
  const limitBytes = context.bodyLimit ?? REQUEST_BODY_LIMIT;
  const size = megabytes(limitBytes);
  if (context.importUpload) {
    return reply(
      'payload_too_large',
      `the file is larger than the import limit of ${size}; split the file or raise ` +
        'INFRAUDIT_IMPORT_LIMIT_MB',
      { limitBytes },
    );
  }
  return reply(
    'payload_too_large',
    `the request body is larger than the request body limit of ${size}`,
    { limitBytes },
  );
}

export function megabytes(bytes: number): string {
  const mb = bytes / (1024 * 1024);
  return Number.isInteger(mb) ? `${mb} MB` : `${bytes} bytes`;
}

function reply(code: ApiErrorCode, message: string, details?: Record<string, unknown>): HttpError {
  const body: ErrorBody = { error: { code, message } };
  if (details && Object.keys(details).length > 0) body.error.details = details;
  return { status: HTTP_STATUS[code], body };
}

interface SchemaIssue {
  instancePath?: string;
  keyword?: string;
  message?: string;
  params?: Record<string, unknown>;
  data?: unknown;
  /** The object schema that refused the field (the validators run verbose). */
  parentSchema?: { properties?: Record<string, unknown> };
}

/** `querystring.limit must be <= 500, got 900`, from the first schema violation. */
function validationMessage(error: Partial<FastifyError>): string {
  const issue = (error.validation?.[0] ?? {}) as SchemaIssue;
  const where = error.validationContext ?? 'request';
  const field = (issue.instancePath ?? '').replace(/^\//, '').replaceAll('/', '.');
  const subject = field ? `${where}.${field}` : where;

  if (issue.keyword === 'additionalProperties') {
    const name = String(issue.params?.additionalProperty);
    const what = where === 'querystring' ? 'query parameter' : 'field';
    const known = Object.keys(issue.parentSchema?.properties ?? {});
    if (known.length === 0) {
      return `${subject} has an unknown ${what} "${name}"; this route takes no ${what}s`;
    }
    return `${subject} has an unknown ${what} "${name}"; known ones are ${known.join(', ')}`;
  }
  if (issue.keyword === 'type' && where === 'querystring' && Array.isArray(issue.data)) {
    return `${subject} is given ${issue.data.length} times; give it once`;
  }
  if (issue.keyword === 'required') {
    return `${subject} is missing the required field "${String(issue.params?.missingProperty)}"`;
  }
  const got =
    issue.data === undefined || holdsSecret(field, issue.data)
      ? ''
      : `, got ${preview(issue.data)}`;
  return `${subject} ${issue.message ?? 'is invalid'}${got}`;
}

/** A password (or other secret) sent is never repeated in an answer, whatever is wrong. */
const SECRET_NAME = /password|secret|(^|\.)token$/i;

function holdsSecret(field: string, data: unknown): boolean {
  if (SECRET_NAME.test(field)) return true;
  if (typeof data !== 'object' || data === null) return false;
  return /"[^"]*(password|secret|token)[^"]*":/i.test(JSON.stringify(data) ?? '');
}

function preview(value: unknown): string {
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    // Too deep (or circular) to print: the kind of value is still worth saying.
    text = Array.isArray(value) ? 'an array' : typeof value === 'object' ? 'an object' : '?';
  }
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}
