import type { FastifyInstance } from 'fastify';
import { ROLES } from '../../domain/status.ts';
import { actorOf } from '../auth.ts';
import { errorResponses } from '../schemas.ts';

const whoamiView = {
  type: 'object',
  additionalProperties: false,
  required: ['kind', 'name', 'role', 'actor'],
  properties: {
    kind: { type: 'string', enum: ['token', 'user'], description: 'A bearer token or a session' },
    name: { type: 'string', description: 'The token name or the username' },
    role: { type: 'string', enum: [...ROLES] },
    actor: { type: 'string', description: 'How the audit log names this caller' },
  },
} as const;

/**
 * GET /whoami: the caller as the server sees it, for a bearer token as well as a session,
 * so a client learns its role without trying routes it may not call.
 */
export async function whoamiRoutes(app: FastifyInstance) {
  app.get('/whoami', {
    schema: {
      tags: ['session'],
      summary: 'Who is calling: token or user, name, role and audit actor',
      response: { 200: whoamiView, ...errorResponses },
    },
    handler: async (request) => {
      // The access policy lets no anonymous request reach this handler.
      const p = request.principal!;
      return { kind: p.kind, name: p.name, role: p.role, actor: actorOf(request) };
    },
  });
}
