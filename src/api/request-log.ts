import { LogController, type FastifyReply, type FastifyRequest } from 'fastify';

/**
 * One log line per request, written when it completes, carrying the action id and the
 * token name when there are any. Headers are never logged, so no token can leak.
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
    const idName = request.routeOptions?.url?.includes('/tokens/') ? 'tokenId' : 'actionId';
    const line = {
      method: request.method,
      url: request.url,
      status: reply.statusCode,
      ms: Math.round(reply.elapsedTime),
      ...(id === undefined ? {} : { [idName]: id }),
      ...(request.principal ? { tokenName: request.principal.name } : {}),
    };
    if (error || reply.statusCode >= 500) {
      reply.log.error({ ...line, err: error }, 'request failed');
    } else {
      reply.log.info(line, 'request');
    }
  }

  /** Errors are answered by the app's own handler, which logs server faults itself. */
  override defaultErrorLog(): void {}
}
