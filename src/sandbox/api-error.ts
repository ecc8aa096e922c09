import type { ServiceError } from './types.ts';

/** Thrown by a service handler to answer with one of the service's own errors. */
export class ApiError extends Error implements ServiceError {
  readonly status: number;
  readonly code: string;
  readonly fields: Record<string, string> | undefined;
  readonly headers: Record<string, string> | undefined;

  constructor(error: ServiceError) {
    super(error.message);
    this.name = 'ApiError';
    this.status = error.status;
    this.code = error.code;
    this.fields = error.fields;
    this.headers = error.headers;
  }
}

/** A caller of the sandbox itself (fault spec, state document) sent something unusable. */
export class SandboxInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SandboxInputError';
  }
}
