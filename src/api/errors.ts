import type { FastifyError } from 'fastify';
import { AppError, type ErrorCode } from '../domain/errors.ts';

/** Every error code the API answers with; each has exactly one HTTP status. */
export type ApiErrorCode =
  | ErrorCode
  | 'request_timeout'
  | 'payload_too_large'
  | 'unsupported_media_type'
  | 'headers_too_large'
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
}

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
    return reply(
      'payload_too_large',
      'the request body is larger than this server accepts; split the file or raise ' +
        'INFRAUDIT_IMPORT_LIMIT_MB',
    );
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
  const got = issue.data === undefined ? '' : `, got ${preview(issue.data)}`;
  return `${subject} ${issue.message ?? 'is invalid'}${got}`;
}

function preview(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}
