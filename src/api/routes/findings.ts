import type { FastifyInstance } from 'fastify';
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

/** The body types of an upload: the file as the scanner wrote it. */
const FILE_TYPES = ['application/json', 'text/plain'];

/**
 * Findings upload. The body is the file itself; JSON is kept as text here because the
 * importer detects the format and reports errors by position in the original text.
 */
export async function findingsRoutes(
  app: FastifyInstance,
  opts: { service: RemediationService; bodyLimit: number },
): Promise<void> {
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser(FILE_TYPES, { parseAs: 'string' }, (_request, body, done) => {
    done(null, body);
  });

  app.post<{ Body: string; Querystring: { kubeContext?: string } }>('/findings/import', {
    bodyLimit: opts.bodyLimit,
    config: { role: 'operator' },
    schema: {
      tags: ['findings'],
      summary: 'Import a findings file (Prowler OCSF, ASFF, ...)',
      description:
        'The body is the file as exported by the scanner. Nothing is recorded unless the ' +
        'whole file parses.',
      consumes: FILE_TYPES,
      querystring: {
        type: 'object',
        additionalProperties: false,
        properties: {
          kubeContext: {
            type: 'string',
            minLength: 1,
            maxLength: 253,
            description: 'the kubeconfig context Kubernetes findings belong to (default: default)',
          },
        },
      },
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
    // An empty body is refused by the importer, as an empty file is, with `problem: 'empty'`.
    handler: (request) =>
      opts.service.importFindings(request.body, actorOf(request), {
        ...(request.query.kubeContext ? { kubeContext: request.query.kubeContext } : {}),
      }),
  });
}
