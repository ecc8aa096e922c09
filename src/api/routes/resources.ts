import type { FastifyInstance } from 'fastify';
import { notFound } from '../../domain/errors.ts';
import type { ResourceQuery } from '../../store/inventory.ts';
import type { Store } from '../../store/store.ts';
import { PROVIDERS } from '../../domain/action.ts';
import { oneOf, paging, split } from '../query.ts';
import { cursorParam, errorResponses, pageSchema, ref } from '../schemas.ts';

const tags = ['resources'];

const filter = (description: string) => ({
  type: 'array',
  maxItems: 100,
  items: { type: 'string', maxLength: 2048 },
  description: `${description}; comma-separated or repeated`,
});

const resourceFields = {
  id: { type: 'string', description: 'ARN, or k8s://<context>/<namespace>/<Kind>/<name>' },
  provider: { type: 'string', enum: ['aws', 'kubernetes'] },
  account: { type: 'string', description: 'AWS account id or kube context' },
  region: { type: 'string', description: 'AWS region or Kubernetes namespace' },
  type: { type: 'string' },
  name: { type: 'string' },
  tags: { type: 'object', additionalProperties: { type: 'string' } },
  firstSeen: { type: 'string' },
  lastSeen: { type: 'string' },
  goneAt: { type: ['string', 'null'], description: 'When a complete scan no longer found it' },
} as const;

interface ResourceQueryString {
  provider?: string[];
  account?: string[];
  region?: string[];
  type?: string[];
  q?: string;
  includeGone?: boolean;
  limit?: number;
  cursor?: string;
}

/** The inventory: what scans discovered, with each resource's findings and actions. */
export async function resourceRoutes(app: FastifyInstance, opts: { store: Store }): Promise<void> {
  app.get<{ Querystring: ResourceQueryString }>('/resources', {
    schema: {
      tags,
      summary: 'Discovered resources, by id',
      querystring: {
        type: 'object',
        additionalProperties: false,
        properties: {
          provider: filter('aws or kubernetes'),
          account: filter('Account ids or kube contexts'),
          region: filter('Regions or namespaces'),
          type: filter('Resource types, e.g. AwsS3Bucket'),
          q: { type: 'string', maxLength: 200, description: 'Text in the id or name' },
          includeGone: { type: 'boolean', default: false },
          limit: { type: 'integer', minimum: 1, maximum: 500, default: 50 },
          cursor: cursorParam,
        },
      },
      response: {
        200: pageSchema({ type: 'object', properties: resourceFields }),
        ...errorResponses,
      },
    },
    handler: (request) => {
      const raw = request.query;
      const query: ResourceQuery = {};
      const provider = oneOf('provider', raw.provider, PROVIDERS);
      const account = split('account', raw.account);
      const region = split('region', raw.region);
      const type = split('type', raw.type);
      if (provider) query.provider = provider;
      if (account) query.account = account;
      if (region) query.region = region;
      if (type) query.type = type;
      if (raw.includeGone) query.includeGone = true;
      return opts.store.listResources({ ...query, ...paging(raw) });
    },
  });

  // A wildcard, not `:id`: ARNs and Kubernetes ids hold slashes and outgrow the router's
  // limit on a path parameter.
  app.get<{ Params: { '*': string } }>('/resources/*', {
    schema: {
      tags,
      summary: 'One resource: its configuration as last read, its findings and its actions',
      description:
        'The rest of the path is the id, URL-encoded or as is: ' +
        '/resources/arn%3Aaws%3As3%3A%3A%3Amy-bucket or /resources/arn:aws:s3:::my-bucket.',
      params: {
        type: 'object',
        required: ['*'],
        additionalProperties: false,
        properties: { '*': { type: 'string', minLength: 1, maxLength: 2048 } },
      },
      response: {
        200: {
          type: 'object',
          properties: {
            resource: {
              type: 'object',
              properties: {
                ...resourceFields,
                config: { type: 'object', additionalProperties: true },
                lastScanId: { type: 'string' },
              },
            },
            findings: { type: 'array', items: { type: 'object', additionalProperties: true } },
            actions: { type: 'array', items: ref('ActionSummary') },
          },
        },
        ...errorResponses,
      },
    },
    handler: async (request) => {
      const id = request.params['*'];
      const resource = await opts.store.getResource(id);
      if (!resource) throw notFound(`no resource with id "${id}"; list them with GET /resources`);
      return { resource, ...(await opts.store.resourceLinks(resource.id)) };
    },
  });
}
