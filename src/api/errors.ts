import type { FastifyError } from 'fastify';
import { AppError, type ErrorCode } from '../domain/errors.ts';

/** Every error code the API answers with; each has exactly one HTTP status. */
export type ApiErrorCode = ErrorCode | 'payload_too_large' | 'unsupported_media_type' | 'internal';

export const HTTP_STATUS: Record<ApiErrorCode, number> = {
  invalid_input: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  window_closed: 409,
  payload_too_large: 413,
  unsupported_media_type: 415,
  unsupported: 422,
  internal: 500,
};

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
export function toHttpError(error: unknown): HttpError {
  if (error instanceof AppError) {
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
    return reply(
      'unsupported_media_type',
      'unsupported content type; send application/json (or text/plain for a findings file)',
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

function reply(
  code: ApiErrorCode,
  message: string,
  details?: Record<string, unknown>,
): HttpError {
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
    return `${subject} has an unknown ${what} "${name}"; the API reference lists the known ones`;
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
