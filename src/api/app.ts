import Fastify, {
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
} from 'fastify';
import swagger from '@fastify/swagger';
import helmet from '@fastify/helmet';
import swaggerUi from '@fastify/swagger-ui';
import type { Logger } from 'pino';
import { DEFAULT_AUTH, type AuthConfig } from '../config.ts';
import { notFound } from '../domain/errors.ts';
import { createBaselineService } from '../service/baselines.ts';
import type { RemediationService } from '../service/remediation.ts';
import type { Scanner } from '../inventory/scan.ts';
import type { Store } from '../store/store.ts';
import { authenticate, SESSION_COOKIE } from './auth.ts';
import { clientErrorHandler } from './client-errors.ts';
import { registerConsole, serveConsole } from './console.ts';
import { policyGuard } from './policy.ts';
import { HttpRefusal, MAX_PARAM_LENGTH, REQUEST_BODY_LIMIT, toHttpError } from './errors.ts';
import { idempotency } from './idempotency.ts';
import { RequestLog } from './request-log.ts';
import { actionRoutes } from './routes/actions.ts';
import { auditRoutes } from './routes/audit.ts';
import { resourceRoutes } from './routes/resources.ts';
import { scanRoutes } from './routes/scans.ts';
import { alertRoutes } from './routes/alerts.ts';
import { baselineRoutes } from './routes/baselines.ts';
import { findingsRoutes } from './routes/findings.ts';
import { sessionRoutes } from './routes/session.ts';
import { whoamiRoutes } from './routes/whoami.ts';
import { userRoutes } from './routes/users.ts';
import { opsRoutes } from './routes/ops.ts';
import { settingsRoutes } from './routes/settings.ts';
import { tokenRoutes } from './routes/tokens.ts';
import { noQuery, sharedSchemas } from './schemas.ts';
import { validatorCompiler } from './validation.ts';
import { MAX_JSON_DEPTH, nestsDeeperThan, refuseUnstorableText, tooDeep } from './text-input.ts';

export const API_PREFIX = '/api/v1';

export interface AppOptions {
  service: RemediationService;
  store: Store;
  log: Logger;
  /** Largest findings upload, in bytes; 100 MB unless set. */
  importLimitBytes?: number;
  /** Sign-in sessions and their rate limit; the defaults of config.ts unless set. */
  auth?: AuthConfig;
  /** The time sessions and token expiry are judged by. */
  clock?: () => Date;
  /** This replica's id for `/metrics` and the probes. */
  replica?: string;
  /** True once the server has begun to stop, before the API itself closes. */
  shuttingDown?: () => boolean;
  /** For `POST /alerts/channels/:id/test`: the send timeout and the console's address. */
  alerts?: { timeoutMs: number; publicUrl: () => string };
  /** Runs the scans `POST /scans` asks for; without it the route answers unsupported. */
  scanner?: Scanner;
}

/** Whether `error` is the request's own connection closing under it, not a fault here. */
function clientWentAway(error: unknown, request: FastifyRequest): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  const closed = request.raw.destroyed || request.raw.readableAborted;
  return closed && (code === 'ECONNRESET' || code === 'ERR_STREAM_PREMATURE_CLOSE');
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
      bodyLimit: request.routeOptions?.bodyLimit,
      importUpload: request.routeOptions?.config?.importUpload,
    });
    if (clientWentAway(error, request)) {
      // Nobody is left to answer: the client closed the connection while its body was read.
      request.log.warn(
        { err: error },
        'the client closed the connection before its request was read',
      );
    } else if (status >= 500 && status !== 503) {
      request.log.error({ err: error }, 'request failed with an internal error');
    }
    return reply.code(status).send(body);
  };
  const app = Fastify({
    loggerInstance: opts.log as FastifyBaseLogger,
    logController: new RequestLog(),
    bodyLimit: REQUEST_BODY_LIMIT,
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: MAX_PARAM_LENGTH },
    frameworkErrors: (error, request, reply) => {
      answer(error, request, reply);
    },
    clientErrorHandler,
    return503OnClosing: false,
  });
  app.setValidatorCompiler(validatorCompiler);
  app.decorateRequest('principal', null);
  // Before any route exists, so that no route can be registered without an access entry.
  const guard = policyGuard();
  app.addHook('onRoute', guard.onRoute);
  app.decorate('registeredRoutes', guard.routes);
  const auth = opts.auth ?? DEFAULT_AUTH;
  const clock = opts.clock ?? (() => new Date());
  for (const schema of sharedSchemas) app.addSchema(schema);

  app.setErrorHandler((error, request, reply) => answer(error, request, reply));
  app.setNotFoundHandler((request, reply) => {
    const page = serveConsole(request, reply, API_PREFIX);
    if (page) return page;
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
    else if (nestsDeeperThan(body as string, MAX_JSON_DEPTH)) done(tooDeep());
    else parseJson(request, body as string, done);
  });
  // Before every route's validator: text no database keeps as sent is refused by name.
  app.addHook('preValidation', refuseUnstorableText);

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
        securitySchemes: {
          bearerAuth: { type: 'http', scheme: 'bearer' },
          sessionCookie: { type: 'apiKey', in: 'cookie', name: SESSION_COOKIE },
        },
      },
      security: [{ bearerAuth: [] }, { sessionCookie: [] }],
    },
    refResolver: {
      buildLocalReference: (json, _baseUri, _fragment, i) =>
        typeof json.$id === 'string' ? json.$id : `def-${i}`,
    },
  });
  await app.register(swaggerUi, { routePrefix: `${API_PREFIX}/docs` });
  await registerConsole(app);
  await app.register(helmet, {
    contentSecurityPolicy: { directives: contentSecurityPolicy(app.swaggerCSP) },
    // The API is also called from scripts and the CLI; nothing here is meant to be embedded.
    crossOriginResourcePolicy: { policy: 'same-origin' },
    frameguard: { action: 'deny' },
  });
  // After helmet, so that refusals carry the secure headers too.
  app.addHook('onRequest', authenticate(opts.store, { auth, clock }));

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
  await app.register(opsRoutes, {
    store: opts.store,
    replica: opts.replica ?? 'local',
    shuttingDown: () => closing || (opts.shuttingDown?.() ?? false),
  });

  await app.register(
    async (api) => {
      api.addHook('preValidation', async (request) => {
        // A POST without a body means "no options", like `{}`; an upload without one is
        // an empty file, which the importer names as such.
        const body = request.routeOptions.schema?.body as { type?: unknown } | undefined;
        if (request.body === undefined && body?.type === 'object') request.body = {};
        if (request.body == null && body?.type === 'string') request.body = '';
      });
      idempotency(api, { store: opts.store, clock });
      await api.register(actionRoutes, { service: opts.service });
      await api.register(auditRoutes, { store: opts.store });
      await api.register(settingsRoutes, { service: opts.service });
      await api.register(tokenRoutes, { store: opts.store, clock });
      await api.register(scanRoutes, { store: opts.store, scanner: opts.scanner, clock });
      await api.register(resourceRoutes, { store: opts.store });
      await api.register(baselineRoutes, {
        baselines: createBaselineService({ store: opts.store, live: opts.scanner, clock }),
      });
      await api.register(alertRoutes, { store: opts.store, ...opts.alerts });
      await api.register(sessionRoutes, { store: opts.store, auth, clock });
      await api.register(whoamiRoutes);
      await api.register(userRoutes, { store: opts.store, clock });
      await api.register(findingsRoutes, {
        service: opts.service,
        bodyLimit: opts.importLimitBytes ?? 100 * 1024 * 1024,
      });
    },
    { prefix: API_PREFIX },
  );
  return app;
}

/**
 * For the console, a Vite build served from this origin: scripts, styles, fonts and API
 * calls from here only, no inline script, no plugins, no framing. The API docs page adds
 * the hashes of its own inline script and style. No upgrade-insecure-requests: a
 * loopback server without TLS must keep working.
 */
function contentSecurityPolicy(swagger: { script: string[]; style: string[] }) {
  return {
    defaultSrc: ["'self'"],
    scriptSrc: ["'self'", ...swagger.script],
    styleSrc: ["'self'", ...swagger.style],
    imgSrc: ["'self'", 'data:'],
    fontSrc: ["'self'"],
    connectSrc: ["'self'"],
    objectSrc: ["'none'"],
    baseUri: ["'self'"],
    formAction: ["'self'"],
    frameAncestors: ["'none'"],
    upgradeInsecureRequests: null,
  };
}
