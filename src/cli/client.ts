import { inCliTerms, type FlagNames } from './terms.ts';

/** An error answer from the API, or a server that could not be reached. */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly details: Record<string, unknown> | undefined;

  constructor(status: number, code: string, message: string, details?: Record<string, unknown>) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.details = details;
  }
}

interface ErrorShape {
  code?: string;
  message?: string;
  details?: Record<string, unknown>;
}

export interface ApiClient {
  readonly baseUrl: string;
  get<T>(path: string, query?: Record<string, string | number | undefined>): Promise<T>;
  post<T>(path: string, body?: unknown): Promise<T>;
  put<T>(path: string, body: unknown): Promise<T>;
  delete<T>(path: string): Promise<T>;
  /** Sends `text` as is, for uploads whose format the server detects. */
  postText<T>(path: string, text: string, contentType: string): Promise<T>;
}

export interface ClientOptions {
  /** Where the token came from, named when the server refuses it. */
  tokenSource?: string;
  /** The command's flags by API field, so refusals name the flag rather than the field. */
  flags?: FlagNames;
}

/** A thin client over the HTTP API; `path` is relative to `/api/v1`. */
export function createApiClient(
  serverUrl: string,
  token: string | undefined,
  opts: ClientOptions = {},
): ApiClient {
  const baseUrl = serverUrl.replace(/\/+$/, '');

  async function send<T>(
    method: string,
    path: string,
    body?: string,
    contentType?: string,
  ): Promise<T> {
    const url = `${baseUrl}/api/v1${path}`;
    const headers: Record<string, string> = { accept: 'application/json' };
    if (token) headers.authorization = `Bearer ${token}`;
    if (contentType) headers['content-type'] = contentType;

    let response: Response;
    try {
      response = await fetch(url, { method, headers, ...(body === undefined ? {} : { body }) });
    } catch (error) {
      const cause = (error as { cause?: { code?: string; message?: string } }).cause;
      const reason = cause?.code ?? cause?.message ?? 'no answer';
      throw new ApiError(
        0,
        'unreachable',
        `cannot reach the InfraAudit server at ${baseUrl} (${reason}); ` +
          'start it with `infraudit serve`, or point --server / INFRAUDIT_URL at it',
      );
    }
    const text = await response.text();
    const parsed = parseJson(text);
    if (!response.ok) {
      const error = (parsed as { error?: ErrorShape } | undefined)?.error;
      let message =
        error?.message ??
        `the server answered ${response.status} ${response.statusText} to ${method} ${path}`;
      if (opts.flags) message = inCliTerms(message, opts.flags);
      if (response.status === 401 && opts.tokenSource) {
        message += ` (the token came from ${opts.tokenSource})`;
      }
      throw new ApiError(response.status, error?.code ?? 'http_error', message, error?.details);
    }
    return parsed as T;
  }

  return {
    baseUrl,
    get(path, query) {
      const params = new URLSearchParams();
      for (const [key, value] of Object.entries(query ?? {})) {
        if (value !== undefined && value !== '') params.set(key, String(value));
      }
      const search = params.size > 0 ? `?${params}` : '';
      return send('GET', `${path}${search}`);
    },
    post: (path, body) => send('POST', path, JSON.stringify(body ?? {}), 'application/json'),
    put: (path, body) => send('PUT', path, JSON.stringify(body), 'application/json'),
    delete: (path) => send('DELETE', path),
    postText: (path, text, contentType) => send('POST', path, text, contentType),
  };
}

function parseJson(text: string): unknown {
  if (!text) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
