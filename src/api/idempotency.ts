import { createHash } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { invalidInput } from '../domain/errors.ts';
import type { Store } from '../store/store.ts';
import { actorOf } from './auth.ts';
import { HttpRefusal } from './errors.ts';

export const IDEMPOTENCY_HEADER = 'idempotency-key';
/** Set on an answer replayed from an earlier request with the same key. */
export const REPLAYED_HEADER = 'idempotent-replayed';
export const IDEMPOTENCY_TTL_MS = 24 * 3_600_000;
/**
 * A first request unanswered for this long died with its server; a retry may run. Longer
 * than any request the API serves (the largest import included), so a slow one is not run
 * twice.
 */
export const IDEMPOTENCY_STALE_MS = 10 * 60_000;
const KEY = /^[\x21-\x7e]{1,200}$/;
const CHANGES = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

declare module 'fastify' {
  interface FastifyRequest {
    idempotency: { principal: string; key: string } | null;
  }
  interface FastifyContextConfig {
    /**
     * The answer carries a secret shown once (a new token, a one-time password): it is
     * never kept for a replay, so no secret lies in the database in clear. A retry runs
     * again instead, which such routes refuse safely (the name is taken by then).
     */
    secretAnswer?: boolean;
  }
}

/**
 * `Idempotency-Key` on every state-changing call: the first answer is kept (per principal
 * and key, with the route and a hash of the body) and replayed to a retry, so a request
 * retried after a lost answer never acts twice. The same key with another route or body
 * is refused with 422; while the first is still being answered, a retry gets 409. Server
 * errors are not kept, so a retry after one runs again. Keys expire after 24 hours.
 */
export function idempotency(app: FastifyInstance, opts: { store: Store; clock: () => Date }): void {
  app.decorateRequest('idempotency', null);

  app.addHook('preHandler', async (request: FastifyRequest, reply: FastifyReply) => {
    const header = request.headers[IDEMPOTENCY_HEADER];
    if (header === undefined || !CHANGES.has(request.method) || !request.principal) return;
    const key = Array.isArray(header) ? header.join(',') : header;
    if (!KEY.test(key)) {
      throw invalidInput(
        'Idempotency-Key must be 1 to 200 visible ASCII characters, such as a UUID',
        { header: 'Idempotency-Key' },
      );
    }
    const principal = actorOf(request);
    const route = `${request.method} ${request.url.split('?')[0]}`;
    const outcome = await opts.store.claimIdempotencyKey({
      principal,
      key,
      route,
      bodyHash: bodyHash(request),
      now: opts.clock(),
      ttlMs: IDEMPOTENCY_TTL_MS,
      staleMs: IDEMPOTENCY_STALE_MS,
    });
    if (outcome.state === 'new') {
      request.idempotency = { principal, key };
      return;
    }
    if (outcome.state === 'mismatch') {
      throw new HttpRefusal(
        'idempotency_mismatch',
        `Idempotency-Key "${key}" was already used for a different request ` +
          `(${outcome.route === route ? 'another body' : outcome.route}); ` +
          'use a new key for a new request',
        { header: 'Idempotency-Key' },
      );
    }
    if (outcome.state === 'in_progress') {
      throw new HttpRefusal(
        'conflict',
        `the first request with Idempotency-Key "${key}" is still being answered; ` +
          'retry in a moment',
        { header: 'Idempotency-Key' },
      );
    }
    reply.header(REPLAYED_HEADER, 'true');
    reply.code(outcome.statusCode);
    if (outcome.response) reply.type('application/json; charset=utf-8');
    return reply.send(outcome.response || undefined);
  });

  app.addHook('onSend', async (request, reply, payload) => {
    const claimed = request.idempotency;
    if (!claimed) return payload;
    request.idempotency = null;
    const keep =
      reply.statusCode < 500 &&
      (typeof payload === 'string' || payload == null) &&
      request.routeOptions.config.secretAnswer !== true;
    try {
      await opts.store.settleIdempotencyKey(
        claimed.principal,
        claimed.key,
        keep ? { statusCode: reply.statusCode, response: (payload as string | null) ?? '' } : null,
      );
    } catch (error) {
      request.log.error({ err: error }, 'could not keep the answer for an Idempotency-Key');
    }
    return payload;
  });
}

/** A streamed upload is not held in memory; its key then stands for the route alone. */
function bodyHash(request: FastifyRequest): string {
  const body = request.body;
  if (body === undefined || body === null) return '';
  if (typeof body === 'object' && Symbol.asyncIterator in body) return 'stream';
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  return createHash('sha256').update(text).digest('hex');
}
