import type { FastifyInstance } from 'fastify';
import { CHECK_DAYS_MAX, type CheckSettings } from '../../checks/settings.ts';
import { notFound } from '../../domain/errors.ts';
import { BASELINE_REASONS } from '../../drift/detect.ts';
import type { BaselineService } from '../../service/baselines.ts';
import type { BaselineQuery } from '../../store/baselines.ts';
import { actorOf } from '../auth.ts';
import { errorResponses, idParams } from '../schemas.ts';

const str = { type: 'string' } as const;
const anyObject = { type: 'object', additionalProperties: true } as const;
const resourceId = { type: 'string', minLength: 1, maxLength: 2048 } as const;

const baseline = {
  type: 'object',
  properties: {
    id: str,
    resourceId: str,
    provider: str,
    account: str,
    region: str,
    type: str,
    name: str,
    version: { type: 'integer' },
    config: { ...anyObject, description: 'The configuration as captured' },
    tags: { type: 'object', additionalProperties: { type: 'string' } },
    capturedAt: str,
    capturedBy: str,
    reason: { type: 'string', enum: BASELINE_REASONS },
    active: { type: 'boolean' },
  },
} as const;

const change = {
  type: 'object',
  properties: {
    baselines: { type: 'array', items: baseline },
    findings: {
      type: 'object',
      properties: {
        resolved: { type: 'integer', description: 'Drift findings the new baselines resolved' },
      },
    },
    source: {
      type: 'string',
      enum: ['live'],
      description: 'Where the recorded configuration came from: read live from the cloud',
    },
  },
} as const;

const days = { type: 'integer', minimum: 1, maximum: CHECK_DAYS_MAX } as const;
const checkSettingProperties = {
  sensitivePorts: {
    type: 'array',
    minItems: 1,
    uniqueItems: true,
    items: { type: 'integer', minimum: 1, maximum: 65535 },
    description: 'TCP ports that must not be open to 0.0.0.0/0 or ::/0',
  },
  keyRotationDays: { ...days, description: 'age at which an active access key is due' },
  keyUnusedDays: { ...days, description: 'idle days after which an active key is flagged' },
  podSecurityExemptNamespaces: {
    type: 'array',
    uniqueItems: true,
    items: { type: 'string', minLength: 1, maxLength: 63 },
    description: 'namespaces the pod security label check leaves alone',
  },
} as const;

const checkSettings = { type: 'object', properties: checkSettingProperties } as const;

export async function baselineRoutes(
  app: FastifyInstance,
  opts: { baselines: BaselineService },
): Promise<void> {
  const tags = ['baselines'];
  const service = opts.baselines;

  app.get<{ Querystring: BaselineQuery }>('/baselines', {
    schema: {
      tags,
      summary: 'Active baselines, or every version of them',
      querystring: {
        type: 'object',
        additionalProperties: false,
        properties: {
          resourceId,
          type: { type: 'string', maxLength: 200 },
          account: { type: 'string', maxLength: 200 },
          allVersions: { type: 'boolean', default: false },
          limit: { type: 'integer', minimum: 1, maximum: 1000, default: 100 },
          offset: { type: 'integer', minimum: 0, default: 0 },
        },
      },
      response: {
        200: {
          type: 'object',
          properties: { items: { type: 'array', items: baseline }, total: { type: 'integer' } },
        },
        ...errorResponses,
      },
    },
    handler: (request) => service.list(request.query),
  });

  app.get<{ Params: { id: string } }>('/baselines/:id', {
    schema: {
      tags,
      summary: 'One baseline version, with its configuration',
      params: idParams,
      response: { 200: baseline, ...errorResponses },
    },
    handler: async (request) => {
      const found = await service.get(request.params.id);
      if (!found) throw notFound(`no baseline "${request.params.id}"`);
      return found;
    },
  });

  app.post<{ Body: { resourceIds?: string[]; all?: boolean } }>('/baselines', {
    schema: {
      tags,
      summary: 'Read resources live and record their configuration as their new baselines',
      description:
        'Give `resourceIds` (as the inventory lists them) or `all: true` (every resource the ' +
        "inventory holds). Each is read live from the cloud through the scan's discovery, for " +
        'that resource only. A resource unknown to the inventory, or no longer in the cloud, ' +
        'is 404; one that cannot be read (AccessDenied, throttling) is 422 with ' +
        '`details.couldNotRead`. Either way nothing is recorded.',
      body: {
        type: 'object',
        additionalProperties: false,
        properties: {
          resourceIds: { type: 'array', minItems: 1, maxItems: 1000, items: resourceId },
          all: { type: 'boolean' },
        },
      },
      response: { 201: change, ...errorResponses },
    },
    handler: async (request, reply) => {
      const result = await service.create(request.body, { actor: actorOf(request) });
      request.log.info(
        { baselines: result.baselines.length, actor: actorOf(request) },
        'baselines captured',
      );
      return reply.code(201).send(result);
    },
  });

  app.post<{ Body: { resourceId: string } }>('/baselines/promote', {
    schema: {
      tags,
      summary: "Make a resource's live configuration its baseline after a planned change",
      description:
        'The resource is read live from the cloud and that configuration recorded; its open ' +
        'drift finding resolves. A resource without a baseline, or no longer in the cloud, is ' +
        '404; one that cannot be read is 422. Either way nothing is recorded.',
      body: {
        type: 'object',
        additionalProperties: false,
        required: ['resourceId'],
        properties: { resourceId },
      },
      response: { 200: change, ...errorResponses },
    },
    handler: async (request) => {
      const actor = actorOf(request);
      const result = await service.promote(request.body.resourceId, { actor });
      request.log.info(
        { resourceId: request.body.resourceId, resolved: result.findings.resolved, actor },
        'baseline promoted',
      );
      return result;
    },
  });

  app.get('/settings/checks', {
    schema: {
      tags: ['settings'],
      summary: 'What the built-in checks judge by',
      response: { 200: checkSettings, ...errorResponses },
    },
    handler: () => service.getCheckSettings(),
  });

  app.put<{ Body: Partial<CheckSettings> }>('/settings/checks', {
    schema: {
      tags: ['settings'],
      summary: 'Change some check settings; the next scan judges by them',
      body: {
        type: 'object',
        additionalProperties: false,
        minProperties: 1,
        properties: checkSettingProperties,
      },
      response: { 200: checkSettings, ...errorResponses },
    },
    handler: (request) => service.updateCheckSettings(request.body, { actor: actorOf(request) }),
  });
}
