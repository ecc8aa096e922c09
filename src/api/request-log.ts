import { LogController, type FastifyReply, type FastifyRequest } from 'fastify';
import { actorOf } from './auth.ts';

/**
 * The log field for a route's `:id`, named by the collection it indexes (`/actions/:id` is
 * `actionId`, `/alerts/deliveries/:id` is `deliveryId`), so that `actionId` in a log only
 * ever holds an action id. `id` when the route gives no collection name.
 */
export function idFieldOf(route: string | undefined): string {
  const segments = (route ?? '').split('/');
  const collection = segments[segments.indexOf(':id') - 1] ?? '';
  if (!/^[a-z][a-z-]*s$/.test(collection)) return 'id';
  const singular = collection.endsWith('ies')
    ? `${collection.slice(0, -3)}y`
    : collection.slice(0, -1);
  return `${singular.replace(/-([a-z])/g, (_m, c: string) => c.toUpperCase())}Id`;
}

const deliberate = new WeakSet<FastifyRequest>();

/**
 * Marks a 5xx answer as the route's intended answer rather than a fault (readiness saying
 * 503 while the server stops), so its line is not an error; the route logs the state itself.
 */
export function markDeliberate(request: FastifyRequest): void {
  deliberate.add(request);
}

/**
 * One log line per request, written when it completes, carrying the id the route names and
 * the actor (token or signed-in user) when there are any. Headers are never logged, so no
 * token, cookie or CSRF token can leak.
 */
export class RequestLog extends LogController {
  override incomingRequest(): void {}

  override requestCompleted(
    error: Error | null | undefined,
    request: FastifyRequest,
    reply: FastifyReply,
  ): void {
    const params = request.params as { id?: unknown } | undefined;
    const id = typeof params?.id === 'string' ? params.id : undefined;
    const idName = idFieldOf(request.routeOptions?.url);
    const line = {
      method: request.method,
      url: request.url,
      status: reply.statusCode,
      ms: Math.round(reply.elapsedTime),
      ...(id === undefined ? {} : { [idName]: id }),
      ...(request.principal ? { actor: actorOf(request) } : {}),
    };
    if (!error && deliberate.has(request)) {
      reply.log.debug(line, 'request');
    } else if (error || reply.statusCode >= 500) {
      reply.log.error({ ...line, err: error }, 'request failed');
    } else {
      reply.log.info(line, 'request');
    }
  }

  /** Errors are answered by the app's own handler, which logs server faults itself. */
  override defaultErrorLog(): void {}
}
