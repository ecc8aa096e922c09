import type { FastifyInstance } from 'fastify';
import type { BulkInput, RemediationService, SuggestInput } from '../../service/remediation.ts';
import { STATUSES } from '../../domain/status.ts';
import { actorOf } from '../auth.ts';
import { findingSummary } from './findings.ts';
import { parseListQuery, type ListQueryString } from '../query.ts';
import {
  bulkBody,
  bulkResultSchema,
  commentBody,
  errorResponses,
  executeBody,
  idParams,
  listQuery,
  optionalCommentBody,
  rollbackBody,
  ref,
  pageSchema,
  requiredCommentBody,
  sealedSecretSchema,
  suggestBody,
} from '../schemas.ts';

type IdRoute = { Params: { id: string } };
type RequestBody = { comment?: string; recipientKey?: string; force?: boolean };
type CommentRoute = IdRoute & { Body: RequestBody };

const actionReply = {
  type: 'object',
  properties: { action: ref('Action') },
} as const;

const suggestReply = {
  type: 'object',
  properties: { action: ref('Action'), created: { type: 'boolean' } },
} as const;

const tags = ['actions'];

/** Reading and acting on remediation actions. Mutations record intent only. */
export async function actionRoutes(
  app: FastifyInstance,
  opts: { service: RemediationService },
): Promise<void> {
  const { service } = opts;

  app.get<{ Querystring: ListQueryString }>('/actions', {
    schema: {
      tags,
      summary: 'List actions, filtered, sorted and paged',
      querystring: listQuery,
      response: {
        200: pageSchema(ref('ActionSummary')),
        ...errorResponses,
      },
    },
    handler: (request) => service.list(parseListQuery(request.query)),
  });

  app.get('/actions/counts', {
    schema: {
      tags,
      summary: 'Count actions by status',
      response: {
        200: {
          type: 'object',
          properties: {
            total: { type: 'integer' },
            byStatus: {
              type: 'object',
              properties: Object.fromEntries(STATUSES.map((s) => [s, { type: 'integer' }])),
            },
          },
        },
        ...errorResponses,
      },
    },
    handler: async () => {
      const byStatus = await service.counts();
      const total = Object.values(byStatus).reduce((sum, n) => sum + n, 0);
      return { total, byStatus };
    },
  });

  app.get<IdRoute>('/actions/:id', {
    schema: {
      tags,
      summary: 'One action with its audit trail',
      params: idParams,
      response: {
        200: {
          type: 'object',
          properties: {
            action: ref('Action'),
            events: { type: 'array', items: ref('AuditEvent') },
            waiting: {
              type: ['object', 'null'],
              description: 'why a queued execution waits: the maintenance windows closed now',
              properties: {
                windows: { type: 'array', items: { type: 'string' } },
                until: { type: ['string', 'null'] },
                message: { type: 'string' },
              },
            },
            findings: {
              type: 'array',
              description: 'the stored findings this action answers',
              items: findingSummary,
            },
          },
        },
        ...errorResponses,
      },
    },
    handler: (request) => service.get(request.params.id),
  });

  app.post<{ Body: SuggestInput }>('/actions', {
    schema: {
      tags,
      summary: 'Suggest an action for a finding named by hand',
      description:
        'Answers 201 with created=true for a new action, or 200 with created=false when ' +
        'an action for the same fix and resource is already open.',
      body: suggestBody,
      response: {
        200: suggestReply,
        201: suggestReply,
        ...errorResponses,
      },
    },
    handler: async (request, reply) => {
      const result = await service.suggest(request.body, actorOf(request));
      return reply.code(result.created ? 201 : 200).send(result);
    },
  });

  const mutation = (
    path: string,
    summary: string,
    body: object,
    status: 200 | 202,
    run: (
      id: string,
      actor: string,
      comment: string | undefined,
      body: RequestBody,
    ) => Promise<unknown>,
  ) =>
    app.post<CommentRoute>(`/actions/:id/${path}`, {
      schema: {
        tags,
        summary,
        params: idParams,
        body,
        response: { [status]: actionReply, ...errorResponses },
      },
      handler: async (request, reply) => {
        const { body } = request;
        const action = await run(request.params.id, actorOf(request), body.comment, body);
        return reply.code(status).send({ action });
      },
    });

  mutation('approve', 'Approve a pending action', optionalCommentBody, 200, (id, actor, c) =>
    service.approve(id, actor, c),
  );
  mutation('reject', 'Reject an action (comment required)', requiredCommentBody, 200, (id, a, c) =>
    service.reject(id, a, c ?? ''),
  );
  mutation('execute', 'Queue the fix for the engine', executeBody, 202, (id, a, c, b) =>
    service.execute(id, a, c, { recipientKey: b.recipientKey }),
  );
  mutation('retry', 'Queue a failed action again', executeBody, 202, (id, a, c, b) =>
    service.retry(id, a, c, { recipientKey: b.recipientKey }),
  );

  app.post<IdRoute>('/actions/:id/secret', {
    config: { secretAnswer: true },
    schema: {
      tags,
      summary: 'Collect, once, the secret a fix created for your execution',
      description:
        'Only the token that requested the execution may collect it; the envelope is sealed ' +
        'to the recipientKey sent with that request and is removed from the server when ' +
        'handed over, so a second call answers 404.',
      params: idParams,
      response: {
        200: { type: 'object', properties: { secret: sealedSecretSchema } },
        ...errorResponses,
      },
    },
    handler: async (request) => ({
      secret: await service.takeSecret(request.params.id, actorOf(request)),
    }),
  });
  mutation('rollback', 'Queue a rollback within the window', rollbackBody, 202, (id, a, c, b) =>
    service.rollback(id, a, c, { force: b.force }),
  );

  app.post<{ Body: BulkInput }>('/actions/bulk', {
    schema: {
      tags,
      summary: 'Approve or reject many actions, each in its own audited transition',
      description:
        'Each id gets its own result: one refusal (four-eyes, a lost race, a closed action) ' +
        'does not stop the others. At most remediation.maxBulkActions ids per request.',
      body: bulkBody,
      response: {
        200: {
          type: 'object',
          properties: {
            results: { type: 'array', items: bulkResultSchema },
            counts: {
              type: 'object',
              properties: { ok: { type: 'integer' }, refused: { type: 'integer' } },
            },
          },
        },
        ...errorResponses,
      },
    },
    handler: async (request) => {
      const results = await service.bulk(request.body, actorOf(request));
      const ok = results.filter((r) => r.ok).length;
      return { results, counts: { ok, refused: results.length - ok } };
    },
  });

  app.post<IdRoute & { Body: { text: string } }>('/actions/:id/comments', {
    schema: {
      tags,
      summary: 'Add a comment to the audit trail',
      params: idParams,
      body: commentBody,
      response: {
        201: { type: 'object', properties: { event: ref('AuditEvent') } },
        ...errorResponses,
      },
    },
    handler: async (request, reply) => {
      const event = await service.comment(request.params.id, actorOf(request), request.body.text);
      return reply.code(201).send({ event });
    },
  });
}
