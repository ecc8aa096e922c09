import type { FastifyInstance } from 'fastify';
import type { Role } from '../../domain/status.ts';
import type { Store } from '../../store/store.ts';
import { actorOf } from '../auth.ts';
import { errorResponses, tokenBody } from '../schemas.ts';

export async function tokenRoutes(app: FastifyInstance, opts: { store: Store }): Promise<void> {
  app.post<{ Body: { role: Role; name: string } }>('/tokens', {
    config: { role: 'admin' },
    schema: {
      tags: ['tokens'],
      summary: 'Create an API token; the token is shown in this answer only',
      body: tokenBody,
      response: {
        201: {
          type: 'object',
          properties: {
            token: { type: 'string' },
            info: {
              type: 'object',
              properties: {
                id: { type: 'string' },
                name: { type: 'string' },
                role: { type: 'string' },
                createdAt: { type: 'string' },
              },
            },
          },
        },
        ...errorResponses,
      },
    },
    handler: async (request, reply) => {
      const created = await opts.store.createToken({ ...request.body, now: new Date() });
      request.log.info(
        { tokenId: created.info.id, role: created.info.role, actor: actorOf(request) },
        'api token created',
      );
      return reply.code(201).send(created);
    },
  });
}
