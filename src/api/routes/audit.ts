import { Readable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { EVENT_TYPES } from '../../domain/action.ts';
import { MAX_AUDIT_PAGE, type AuditQuery } from '../../store/audit.ts';
import type { Store } from '../../store/store.ts';
import { oneOf } from '../query.ts';
import { errorResponses, pageSchema } from '../schemas.ts';

const tags = ['audit'];

const time = { type: 'string', minLength: 1, maxLength: 40, examples: ['2026-01-31T00:00:00Z'] };

const entrySchema = {
  type: 'object',
  properties: {
    seq: { type: 'integer' },
    id: { type: 'integer' },
    actionId: { type: ['string', 'null'] },
    at: { type: 'string' },
    actor: { type: 'string' },
    type: { type: 'string' },
    from: { type: ['string', 'null'] },
    to: { type: ['string', 'null'] },
    comment: { type: ['string', 'null'] },
    data: {},
    prevHash: { type: 'string' },
    hash: { type: 'string' },
  },
} as const;

const listQuery = {
  type: 'object',
  additionalProperties: false,
  properties: {
    actionId: { type: 'string', minLength: 1, maxLength: 100 },
    actor: { type: 'string', minLength: 1, maxLength: 200 },
    type: {
      type: 'string',
      minLength: 1,
      maxLength: 200,
      description: `comma-separated event types: ${EVENT_TYPES.join(', ')}`,
    },
    since: time,
    until: time,
    order: { type: 'string', enum: ['asc', 'desc'] },
    limit: { type: 'integer', minimum: 1, maximum: MAX_AUDIT_PAGE },
    cursor: { type: 'string', minLength: 1, maxLength: 20 },
  },
} as const;

const exportQuery = {
  type: 'object',
  additionalProperties: false,
  properties: { since: time, until: time },
} as const;

type ListQuery = Omit<AuditQuery, 'type'> & { type?: string };

const EXPORT_PAGE = 1000;

/** The audit log for the console, its verification, and its export as JSON lines. */
export async function auditRoutes(app: FastifyInstance, opts: { store: Store }): Promise<void> {
  const { store } = opts;

  app.get<{ Querystring: ListQuery }>('/audit', {
    schema: {
      tags,
      summary: 'The audit log, filtered and paged, newest first unless order=asc',
      querystring: listQuery,
      response: {
        200: pageSchema(entrySchema),
        ...errorResponses,
      },
    },
    handler: (request) => {
      const { type, ...rest } = request.query;
      const types = oneOf('type', type === undefined ? undefined : [type], EVENT_TYPES);
      return store.auditLog({ ...rest, ...(types ? { type: types } : {}) });
    },
  });

  app.get('/audit/verify', {
    schema: {
      tags,
      summary: 'Walk the audit chain and report the first edited, deleted or inserted entry',
      response: {
        200: {
          type: 'object',
          properties: {
            ok: { type: 'boolean' },
            entries: { type: 'integer' },
            head: {
              type: 'object',
              properties: { seq: { type: 'integer' }, hash: { type: 'string' } },
            },
            problem: {
              type: ['object', 'null'],
              properties: {
                kind: { type: 'string', enum: ['edited', 'deleted', 'inserted'] },
                seq: { type: ['integer', 'null'] },
                eventId: { type: ['integer', 'null'] },
                message: { type: 'string' },
              },
            },
          },
        },
        ...errorResponses,
      },
    },
    handler: () => store.verifyAudit(),
  });

  app.get<{ Querystring: { since?: string; until?: string } }>('/audit/export', {
    schema: {
      tags,
      summary: 'The audit log in chain order as JSON lines, streamed',
      description: 'One entry per line, oldest first; the fields of GET /audit.',
      querystring: exportQuery,
      produces: ['application/x-ndjson'],
      response: { 200: { type: 'string' }, ...errorResponses },
    },
    handler: async (request, reply) => {
      const filter = request.query;
      // The first page is read before answering, so a bad filter is a clean 400.
      const first = await store.auditLog({ ...filter, order: 'asc', limit: EXPORT_PAGE });
      async function* lines() {
        let page = first;
        for (;;) {
          if (page.items.length) yield page.items.map((e) => JSON.stringify(e) + '\n').join('');
          if (!page.nextCursor) return;
          page = await store.auditLog({
            ...filter,
            order: 'asc',
            limit: EXPORT_PAGE,
            cursor: page.nextCursor,
          });
        }
      }
      return reply.type('application/x-ndjson; charset=utf-8').send(Readable.from(lines()));
    },
  });
}
