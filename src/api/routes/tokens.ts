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
} as const;

/** A token as listed: the response schema leaves out anything secret. */
const tokenInfo = {
  type: 'object',
  properties: {
    ...tokenFields,
    revokedAt: { type: ['string', 'null'] },
    revokedBy: { type: ['string', 'null'] },
  },
} as const;

export async function tokenRoutes(app: FastifyInstance, opts: { store: Store }): Promise<void> {
  app.post<{ Body: { role: Role; name: string } }>('/tokens', {
    config: { role: 'admin' },
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
      const created = await opts.store.createToken({ ...request.body, now: new Date(), actor });
      request.log.info(
        { tokenId: created.info.id, role: created.info.role, actor },
        'api token created',
      );
      return reply.code(201).send(created);
    },
  });

  app.get('/tokens', {
    config: { role: 'admin' },
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
    config: { role: 'admin' },
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
      const token = await opts.store.revokeToken(request.params.id, { actor, now: new Date() });
      request.log.info({ tokenId: token.id, role: token.role, actor }, 'api token revoked');
      return { token };
    },
  });
}
