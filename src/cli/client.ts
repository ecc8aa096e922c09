import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { inCliTerms, type FlagNames } from './terms.ts';
import { sendStreamed, UploadBroken } from './upload.ts';

/** Changes are retried after a lost connection or a gateway's or closing server's answer. */
const RETRY_DELAYS_MS = [250, 1000];
const RETRY_STATUSES = new Set([502, 503, 504]);

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
  /** Sends the bytes as they are read, for uploads too large to hold. */
  postStream<T>(path: string, body: AsyncIterable<Uint8Array>, contentType: string): Promise<T>;
  /** Hands a successful answer's body to `sink` as it arrives, for exports of any size. */
  download(
    path: string,
    query: Record<string, string | number | undefined>,
    sink: (chunk: Uint8Array) => unknown,
  ): Promise<void>;
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
    body?: string | AsyncIterable<Uint8Array>,
    contentType?: string,
    sink?: (chunk: Uint8Array) => unknown,
  ): Promise<T> {
    const url = `${baseUrl}/api/v1${path}`;
    const headers: Record<string, string> = { accept: 'application/json' };
    if (token) headers.authorization = `Bearer ${token}`;
    if (contentType) headers['content-type'] = contentType;
    // One key per request this invocation makes, the same on each of its retries, so a
    // retry after a lost answer is answered from the first attempt instead of acting again.
    if (method !== 'GET') headers['idempotency-key'] = randomUUID();
    const stream = typeof body === 'string' ? undefined : body;
    const streamed = stream !== undefined;

    let response: Response | undefined;
    for (let attempt = 0; ; attempt++) {
      // A stream was consumed by the first attempt and cannot be sent again.
      const mayRetry = !streamed && method !== 'GET' && attempt < RETRY_DELAYS_MS.length;
      try {
        response = stream
          ? await sendStreamed(url, method, headers, stream)
          : await fetch(url, { method, headers, ...(body === undefined ? {} : { body }) });
      } catch (error) {
        if (error instanceof UploadBroken && error.sent > 0) {
          throw new ApiError(
            0,
            'upload_broken',
            `the InfraAudit server at ${baseUrl} closed the connection after ${size(error.sent)} ` +
              `of the upload without an answer (${error.reason}); the server log says why`,
          );
        }
        const cause =
          error instanceof UploadBroken
            ? { code: error.reason }
            : (error as { cause?: { code?: string; message?: string } }).cause;
        const reason = cause?.code ?? cause?.message ?? 'no answer';
        // Refused outright: nothing reached a server, and no server is there to retry.
        if (mayRetry && cause?.code !== 'ECONNREFUSED') {
          await sleep(RETRY_DELAYS_MS[attempt]!);
          continue;
        }
        throw new ApiError(
          0,
          'unreachable',
          `cannot reach the InfraAudit server at ${baseUrl} (${reason}); ` +
            'start it with `infraudit serve`, or point --server / INFRAUDIT_URL at it',
        );
      }
      if (mayRetry && RETRY_STATUSES.has(response.status)) {
        await response.body?.cancel();
        await sleep(RETRY_DELAYS_MS[attempt]!);
        continue;
      }
      break;
    }
    if (sink && response.ok && response.body) {
      for await (const chunk of response.body) await sink(chunk);
      return undefined as T;
    }
    const text = await readAnswer(response, method, path);
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

  const withQuery = (path: string, query?: Record<string, string | number | undefined>) => {
    const params = new URLSearchParams();
    for (const [key, value] of Object.entries(query ?? {})) {
      if (value !== undefined && value !== '') params.set(key, String(value));
    }
    return params.size > 0 ? `${path}?${params}` : path;
  };

  return {
    baseUrl,
    get: (path, query) => send('GET', withQuery(path, query)),
    download: (path, query, sink) =>
      send('GET', withQuery(path, query), undefined, undefined, sink),
    post: (path, body) => send('POST', path, JSON.stringify(body ?? {}), 'application/json'),
    put: (path, body) => send('PUT', path, JSON.stringify(body), 'application/json'),
    delete: (path) => send('DELETE', path),
    postText: (path, text, contentType) => send('POST', path, text, contentType),
    postStream: (path, body, contentType) => send('POST', path, body, contentType),
  };
}

/** The answer's body; one cut off midway is an error naming the status it came with. */
async function readAnswer(response: Response, method: string, path: string): Promise<string> {
  try {
    return await response.text();
  } catch (error) {
    const cause = (error as { cause?: { code?: string } }).cause?.code;
    const reason = cause ?? (error as Error).message;
    throw new ApiError(
      response.status,
      'answer_cut_off',
      `the server's ${response.status} answer to ${method} ${path} was cut off (${reason})`,
    );
  }
}

const size = (bytes: number) =>
  bytes < 1024 * 1024 ? `${bytes} bytes` : `${(bytes / (1024 * 1024)).toFixed(1)} MiB`;

function parseJson(text: string): unknown {
  if (!text) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
