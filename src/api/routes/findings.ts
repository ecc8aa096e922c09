import type { FastifyInstance } from 'fastify';
import { invalidInput } from '../../domain/errors.ts';
import type { RemediationService } from '../../service/remediation.ts';
import { actorOf } from '../auth.ts';
import { errorResponses } from '../schemas.ts';

const COUNTS = [
  'total',
  'failed',
  'passed',
  'manual',
  'other',
  'supported',
  'unsupported',
  'created',
  'linked',
];

const counts = {
  type: 'object',
  properties: Object.fromEntries(COUNTS.map((name) => [name, { type: 'integer' }])),
};

/**
 * Findings upload. The body is the file itself; JSON is kept as text here because the
 * importer detects the format and reports errors by position in the original text.
 */
export async function findingsRoutes(
  app: FastifyInstance,
  opts: { service: RemediationService; bodyLimit: number },
): Promise<void> {
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, body, done) => {
    done(null, body);
  });

  app.post<{ Body: string }>('/findings/import', {
    bodyLimit: opts.bodyLimit,
    config: { role: 'operator' },
    schema: {
      tags: ['findings'],
      summary: 'Import a findings file (Prowler OCSF, ASFF, ...)',
      description:
        'The body is the file as exported by the scanner. Nothing is recorded unless the ' +
        'whole file parses.',
      consumes: ['application/json', 'text/plain'],
      body: { type: 'string', description: 'The findings file' },
      response: {
        200: {
          type: 'object',
          properties: {
            format: { type: 'string' },
            counts,
            actions: {
              type: 'array',
              items: {
                type: 'object',
                properties: {
                  id: { type: 'string' },
                  type: { type: 'string' },
                  created: { type: 'boolean' },
                },
              },
            },
          },
        },
        ...errorResponses,
      },
    },
    handler: (request) => {
      if (!request.body.trim()) {
        throw invalidInput('the findings file is empty; send the scanner’s output as the body');
      }
      return opts.service.importFindings(request.body, actorOf(request));
    },
  });
}
