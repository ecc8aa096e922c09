import type { FastifyInstance } from 'fastify';
import { collectStoreGauges, metrics, registry } from '../../metrics/metrics.ts';
import type { Store } from '../../store/store.ts';
import { markDeliberate } from '../request-log.ts';

export interface OpsOptions {
  store: Store;
  /** This replica's id, reported by `infraudit_replica_info`. */
  replica: string;
  /** True from the moment the server begins to stop. */
  shuttingDown: () => boolean;
}

const probe = {
  type: 'object',
  properties: {
    status: { type: 'string', enum: ['ok', 'unavailable'] },
    replica: { type: 'string' },
    reason: { type: 'string' },
  },
} as const;

/**
 * The routes an orchestrator and a Prometheus server call, at the root and without a
 * token: liveness says the process answers, readiness says this replica should get
 * traffic, and `/metrics` renders the process's registry with the shared database's
 * figures read at scrape time.
 */
export async function opsRoutes(app: FastifyInstance, opts: OpsOptions) {
  metrics.replica.set({ replica: opts.replica }, 1);
  // Probes come every few seconds: readiness is logged when its answer changes, not per probe.
  let lastReadiness = 'ok';

  app.get('/health/live', {
    schema: {
      tags: ['operations'],
      summary: 'Liveness: the process is up and its event loop answers; needs no token',
      security: [],
      response: { 200: probe },
    },
    handler: () => ({ status: 'ok', replica: opts.replica }),
  });

  app.get('/health/ready', {
    schema: {
      tags: ['operations'],
      summary:
        'Readiness: the database answers, every migration has run and the server is not ' +
        'stopping; 503 otherwise; needs no token',
      security: [],
      response: { 200: probe, 503: probe },
    },
    handler: async (request, reply) => {
      const unavailable = (reason: string) => {
        markDeliberate(request);
        if (reason !== lastReadiness) {
          lastReadiness = reason;
          // Expected while stopping; anything else keeps this replica out of rotation.
          request.log[opts.shuttingDown() ? 'info' : 'warn']({ reason }, 'not ready');
        }
        return reply.code(503).send({ status: 'unavailable', replica: opts.replica, reason });
      };
      if (opts.shuttingDown()) return unavailable('the server is shutting down');
      const state = await opts.store.readiness().catch((error: Error) => ({
        ready: false,
        reason: `the database is unreachable: ${error.message}`,
      }));
      if (!state.ready) return unavailable(state.reason ?? 'the database is not ready');
      if (lastReadiness !== 'ok') {
        lastReadiness = 'ok';
        request.log.info('ready again');
      }
      return { status: 'ok', replica: opts.replica };
    },
  });

  app.get('/metrics', {
    schema: {
      tags: ['operations'],
      summary: 'Prometheus metrics of this replica and of the shared queue; needs no token',
      security: [],
      produces: ['text/plain'],
      response: { 200: { type: 'string' } },
    },
    handler: async (request, reply) => {
      try {
        collectStoreGauges(await opts.store.opsFigures());
      } catch (error) {
        // The process's own counters still help while the database is away.
        request.log.warn({ err: error }, 'could not read queue figures for /metrics');
      }
      reply.header('content-type', registry.contentType);
      return registry.metrics();
    },
  });
}
