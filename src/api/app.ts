import Fastify, {
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
} from 'fastify';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { Logger } from 'pino';
import { notFound } from '../domain/errors.ts';
import type { RemediationService } from '../service/remediation.ts';
import type { Store } from '../store/store.ts';
import { authenticate } from './auth.ts';
import { clientErrorHandler } from './client-errors.ts';
import { HttpRefusal, MAX_PARAM_LENGTH, toHttpError } from './errors.ts';
import { RequestLog } from './request-log.ts';
import { actionRoutes } from './routes/actions.ts';
import { findingsRoutes } from './routes/findings.ts';
import { settingsRoutes } from './routes/settings.ts';
import { tokenRoutes } from './routes/tokens.ts';
import { noQuery, sharedSchemas } from './schemas.ts';
import { validatorCompiler } from './validation.ts';

export const API_PREFIX = '/api/v1';

export interface AppOptions {
  service: RemediationService;
  store: Store;
  log: Logger;
  /** Largest findings upload, in bytes; 100 MB unless set. */
  importLimitBytes?: number;
}

/**
 * The HTTP API. It records intent through the service and never calls the engine or
 * the cloud. Returns the Fastify instance unstarted: `inject` it or `listen` on it.
 */
export async function buildApp(opts: AppOptions): Promise<FastifyInstance> {
  // Every refusal, whoever makes it (a route, the router, the body parser, Node's HTTP
  // parser, a closing server), answers through toHttpError in the one error shape.
  const answer = (error: unknown, request: FastifyRequest, reply: FastifyReply) => {
    const schema = request.routeOptions?.schema as { consumes?: string[] } | undefined;
    const { status, body } = toHttpError(error, {
      contentType: request.headers['content-type'],
      accepts: schema?.consumes,
    });
    if (status >= 500 && status !== 503) {
      request.log.error({ err: error }, 'request failed with an internal error');
    }
    return reply.code(status).send(body);
  };
  const app = Fastify({
    loggerInstance: opts.log as FastifyBaseLogger,
    logController: new RequestLog(),
    bodyLimit: 1024 * 1024,
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: MAX_PARAM_LENGTH },
    frameworkErrors: (error, request, reply) => {
      answer(error, request, reply);
    },
    clientErrorHandler,
    return503OnClosing: false,
  });
  app.setValidatorCompiler(validatorCompiler);
  app.decorateRequest('principal', null);
  for (const schema of sharedSchemas) app.addSchema(schema);

  app.setErrorHandler((error, request, reply) => answer(error, request, reply));
  app.setNotFoundHandler((request) => {
    const route = `${request.method} ${request.url.split('?')[0]}`;
    throw notFound(`no route ${route}; the routes are listed at ${API_PREFIX}/docs`);
  });

  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
  });
  app.addHook('onRequest', async (_request, reply) => {
    if (!closing) return;
    reply.header('connection', 'close');
    throw new HttpRefusal(
      'unavailable',
      'the server is shutting down; send the request again once it is back (or to another ' +
        'server on the same database)',
    );
  });

  // JSON is the only body type outside the findings upload, which adds its own parsers.
  // An empty JSON body means "no options", as a missing body does.
  const parseJson = app.getDefaultJsonParser('error', 'error') as unknown as (
    request: FastifyRequest,
    body: string,
    done: (error: Error | null, value?: unknown) => void,
  ) => void;
  app.removeContentTypeParser(['application/json', 'text/plain']);
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    if ((body as string).trim() === '') done(null, undefined);
    else parseJson(request, body as string, done);
  });

  // Unknown query parameters are refused on every route, not only on those that take some.
  app.addHook('onRoute', (route) => {
    if (route.url.startsWith(`${API_PREFIX}/docs`)) return;
    if (route.schema?.querystring) return;
    route.schema = { ...route.schema, querystring: noQuery };
  });

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'InfraAudit API',
        version: '1',
        description: 'Approved, reversible remediation of cloud misconfigurations.',
      },
      components: {
        securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer' } },
      },
      security: [{ bearerAuth: [] }],
    },
    refResolver: {
      buildLocalReference: (json, _baseUri, _fragment, i) =>
        typeof json.$id === 'string' ? json.$id : `def-${i}`,
    },
  });
  await app.register(swaggerUi, { routePrefix: `${API_PREFIX}/docs` });

  app.get(`${API_PREFIX}/openapi.json`, { schema: { hide: true } }, () => app.swagger());
  app.get(`${API_PREFIX}/health`, {
    schema: {
      tags: ['health'],
      summary: 'Liveness; needs no token',
      security: [],
      response: {
        200: {
          type: 'object',
          properties: { status: { type: 'string' }, database: { type: 'string' } },
        },
      },
    },
    handler: () => ({ status: 'ok', database: opts.store.engine }),
  });

  await app.register(
    async (api) => {
      api.addHook('onRequest', authenticate(opts.store));
      api.addHook('preValidation', async (request) => {
        // A POST without a body means "no options", like `{}`; an upload without one is
        // an empty file, which the importer names as such.
        const body = request.routeOptions.schema?.body as { type?: unknown } | undefined;
        if (request.body === undefined && body?.type === 'object') request.body = {};
        if (request.body == null && body?.type === 'string') request.body = '';
      });
      await api.register(actionRoutes, { service: opts.service });
      await api.register(settingsRoutes, { service: opts.service });
      await api.register(tokenRoutes, { store: opts.store });
      await api.register(findingsRoutes, {
        service: opts.service,
        bodyLimit: opts.importLimitBytes ?? 100 * 1024 * 1024,
      });
    },
    { prefix: API_PREFIX },
  );
  return app;
}
