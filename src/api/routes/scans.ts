import type { FastifyInstance } from 'fastify';
import { AppError, invalidInput, notFound } from '../../domain/errors.ts';
import type { Scanner } from '../../inventory/scan.ts';
import { SCAN_INTERVAL_MAX, type ScanSettings } from '../../inventory/runs.ts';
import type { Store } from '../../store/store.ts';
import { actorOf } from '../auth.ts';
import { cursorParam, errorResponses, idParams, pageSchema } from '../schemas.ts';

const tags = ['scans'];

const readError = {
  type: 'object',
  properties: {
    provider: { type: 'string' },
    account: { type: 'string' },
    region: { type: 'string' },
    service: { type: 'string' },
    operation: { type: 'string' },
    code: { type: 'string', description: "The cloud's own error code, e.g. AccessDenied" },
    message: { type: 'string' },
    resourceId: { type: ['string', 'null'] },
  },
} as const;

const unitProgress = {
  type: 'object',
  properties: {
    provider: { type: 'string' },
    account: { type: 'string' },
    region: { type: 'string', description: "A region, 'global' for S3 and IAM, '' for Kubernetes" },
    service: { type: 'string' },
    status: { type: 'string', enum: ['pending', 'running', 'complete', 'incomplete'] },
    resources: { type: 'integer' },
    errors: { type: 'integer' },
  },
} as const;

const count = { type: 'integer' } as const;

export const scanRunSchema = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    trigger: { type: 'string', enum: ['manual', 'scheduled', 'cli'] },
    actor: { type: 'string' },
    status: { type: 'string', enum: ['running', 'completed', 'failed'] },
    startedAt: { type: 'string' },
    finishedAt: { type: ['string', 'null'] },
    units: { type: 'array', items: unitProgress },
    summary: {
      type: ['object', 'null'],
      properties: {
        resources: count,
        added: count,
        updated: count,
        gone: count,
        findings: {
          type: 'object',
          properties: {
            opened: count,
            updated: count,
            resolved: count,
            dismissed: count,
            excluded: count,
          },
        },
        couldNotRead: { type: 'array', items: readError },
      },
    },
    error: { type: ['string', 'null'] },
  },
} as const;

const scanSettingsSchema = {
  type: 'object',
  properties: { intervalMinutes: { type: 'integer' } },
} as const;

/** Scans: start one, follow it, list them; and the schedule's setting. */
export async function scanRoutes(
  app: FastifyInstance,
  opts: { store: Store; scanner: Scanner | undefined; clock: () => Date },
): Promise<void> {
  app.post<{ Body: { trigger?: 'manual' | 'cli' } }>('/scans', {
    schema: {
      tags,
      summary: 'Start a scan of every configured account, region and cluster',
      description:
        'Answers at once with the running scan; follow it with GET /scans/{id}. A part that ' +
        'cannot be read is listed under summary.couldNotRead and the scan goes on. One scan ' +
        'runs at a time per database: while one runs, 409 conflict names it in details.scanId.',
      body: {
        type: 'object',
        additionalProperties: false,
        properties: {
          trigger: {
            type: 'string',
            enum: ['manual', 'cli'],
            description: 'Who asks: the CLI says cli; manual otherwise',
          },
        },
      },
      response: { 202: scanRunSchema, ...errorResponses },
    },
    handler: async (request, reply) => {
      if (!opts.scanner) {
        throw new AppError('unsupported', 'this server was started without a cloud to scan');
      }
      const run = await opts.scanner.start({
        trigger: request.body.trigger ?? 'manual',
        actor: actorOf(request),
      });
      if (!run) throw new AppError('conflict', 'the scan could not be started');
      request.log.info({ scanId: run.id }, 'scan requested');
      return reply.code(202).send(run);
    },
  });

  app.get<{ Querystring: { limit?: number; cursor?: string } }>('/scans', {
    schema: {
      tags,
      summary: 'Scans, newest first',
      querystring: {
        type: 'object',
        additionalProperties: false,
        properties: {
          limit: { type: 'integer', minimum: 1, maximum: 500, default: 20 },
          cursor: cursorParam,
        },
      },
      response: {
        200: pageSchema(scanRunSchema),
        ...errorResponses,
      },
    },
    handler: (request) => opts.store.listScans(request.query),
  });

  app.get<{ Params: { id: string } }>('/scans/:id', {
    schema: {
      tags,
      summary: 'One scan, with its progress per account, region and service while it runs',
      params: idParams,
      response: { 200: scanRunSchema, ...errorResponses },
    },
    handler: async (request) => {
      const run = await opts.store.getScan(request.params.id);
      if (!run) throw notFound(`no scan with id "${request.params.id}"`);
      return run;
    },
  });

  app.get('/settings/scan', {
    schema: {
      tags: ['settings'],
      summary: 'The scan schedule',
      response: { 200: scanSettingsSchema, ...errorResponses },
    },
    handler: () => opts.store.getScanSettings(),
  });

  app.put<{ Body: Partial<ScanSettings> }>('/settings/scan', {
    schema: {
      tags: ['settings'],
      summary: 'Change the scan schedule; 0 minutes turns scheduled scans off',
      body: {
        type: 'object',
        additionalProperties: false,
        properties: {
          intervalMinutes: {
            type: 'integer',
            minimum: 0,
            maximum: SCAN_INTERVAL_MAX,
            description: `Minutes between scheduled scans, 0 (off) to ${SCAN_INTERVAL_MAX}`,
          },
        },
      },
      response: { 200: scanSettingsSchema, ...errorResponses },
    },
    handler: async (request) => {
      if (request.body.intervalMinutes === undefined) {
        throw invalidInput('no settings given to change; known settings are intervalMinutes');
      }
      return opts.store.updateScanSettings(
        { intervalMinutes: request.body.intervalMinutes },
        { actor: actorOf(request), now: opts.clock() },
      );
    },
  });
}
