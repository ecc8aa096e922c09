import type { FastifyInstance } from 'fastify';
import type { Role } from '../../domain/status.ts';
import type { Store } from '../../store/store.ts';
import { actorOf } from '../auth.ts';
import { errorResponses, idParams, tokenBody } from '../schemas.ts';

const tags = ['tokens'];

const tokenFields = {
  id: { type: 'string' },
  name: { type: 'string', description: 'Unique; the audit trail names the actor token:<name>' },
  role: { type: 'string' },
  createdAt: { type: 'string' },
  expiresAt: { type: ['string', 'null'], description: 'Refused from this time on; null: never' },
} as const;

/** A token as listed: the response schema leaves out anything secret. */
const tokenInfo = {
  type: 'object',
  properties: {
    ...tokenFields,
    revokedAt: { type: ['string', 'null'] },
    revokedBy: { type: ['string', 'null'] },
    createdBy: {
      type: 'string',
      description:
        'Who created it: user:<name>, token:<name>, system (first start) or local:cli. A ' +
        'token created by a user, directly or through other tokens, is refused while that ' +
        'user is disabled',
    },
  },
} as const;

export async function tokenRoutes(
  app: FastifyInstance,
  opts: { store: Store; clock: () => Date },
): Promise<void> {
  app.post<{ Body: { role: Role; name: string; expiresInMinutes?: number } }>('/tokens', {
    config: { secretAnswer: true },
    schema: {
      tags,
      summary: 'Create an API token; the token is shown in this answer only',
      description: 'Names are unique, revoked tokens included: a name in use is 409 conflict.',
      body: tokenBody,
      response: {
        201: {
          type: 'object',
          properties: {
            token: { type: 'string' },
            info: { type: 'object', properties: tokenFields },
          },
        },
        ...errorResponses,
      },
    },
    handler: async (request, reply) => {
      const actor = actorOf(request);
      const { role, name, expiresInMinutes } = request.body;
      const now = opts.clock();
      const expiresAt =
        expiresInMinutes === undefined
          ? null
          : new Date(now.getTime() + expiresInMinutes * 60_000).toISOString();
      const created = await opts.store.createToken({ role, name, now, actor, expiresAt });
      request.log.info(
        { tokenId: created.info.id, role: created.info.role, actor },
        'api token created',
      );
      return reply.code(201).send(created);
    },
  });

  app.get('/tokens', {
    schema: {
      tags,
      summary: 'Every token, revoked ones included; never the token itself',
      response: {
        200: { type: 'object', properties: { items: { type: 'array', items: tokenInfo } } },
        ...errorResponses,
      },
    },
    handler: async () => ({ items: await opts.store.listTokens() }),
  });

  app.delete<{ Params: { id: string } }>('/tokens/:id', {
    schema: {
      tags,
      summary: 'Revoke a token; it is refused from then on',
      description:
        'Audited. The last active admin token cannot be revoked (409 conflict): create ' +
        'another admin token first. Revoking an already revoked token is 409 conflict.',
      params: idParams,
      response: {
        200: { type: 'object', properties: { token: tokenInfo } },
        ...errorResponses,
      },
    },
    handler: async (request) => {
      const actor = actorOf(request);
      const token = await opts.store.revokeToken(request.params.id, { actor, now: opts.clock() });
      request.log.info({ tokenId: token.id, role: token.role, actor }, 'api token revoked');
      return { token };
    },
  });
}
