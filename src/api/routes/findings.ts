import type { FastifyInstance } from 'fastify';
import { Readable } from 'node:stream';
import {
  EXCLUSION_SCOPES,
  FINDING_KINDS,
  STORED_FINDING_STATUSES,
  type ExclusionScope,
} from '../../domain/finding.ts';
import { SEVERITIES } from '../../domain/status.ts';
import { PROVIDERS } from '../../domain/action.ts';
import { decodeFindingsFile } from '../../findings/encoding.ts';
import { FINDING_SORTS, type FindingQuery, type FindingSort } from '../../store/findings.ts';
import type { RemediationService } from '../../service/remediation.ts';
import { actorOf } from '../auth.ts';
import { HttpRefusal, megabytes } from '../errors.ts';
import { oneOf, paging, split } from '../query.ts';
import { cursorParam, errorResponses, idParams, pageSchema, ref } from '../schemas.ts';

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
const STORED = ['opened', 'updated', 'resolved', 'dismissed', 'excluded', 'repeated'];

const integers = (names: readonly string[]) => ({
  type: 'object',
  properties: Object.fromEntries(names.map((name) => [name, { type: 'integer' }])),
});

const importReply = {
  type: 'object',
  properties: {
    format: { type: 'string' },
    counts: integers(COUNTS),
    findings: integers(STORED),
    batches: { type: 'integer' },
    warnings: { type: 'array', items: { type: 'string' } },
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
} as const;

const importQuery = {
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
} as const;

/**
 * The body types of an upload: the file as the scanner wrote it. Whatever the type says,
 * the importer detects the format from the text, so a YAML file may come under any of them.
 */
const FILE_TYPES = [
  'application/json',
  'text/plain',
  'application/yaml',
  'application/x-yaml',
  'text/yaml',
  'text/x-yaml',
];

const str = { type: 'string' } as const;
const nullableStr = { type: ['string', 'null'] } as const;

export const findingSummary = {
  type: 'object',
  properties: {
    id: str,
    kind: { type: 'string', enum: FINDING_KINDS },
    origin: str,
    key: str,
    checkId: str,
    standard: nullableStr,
    controlIds: { type: 'array', items: str },
    title: str,
    severity: { type: 'string', enum: SEVERITIES },
    status: { type: 'string', enum: STORED_FINDING_STATUSES },
    resource: {
      type: 'object',
      properties: {
        provider: str,
        account: str,
        region: str,
        type: str,
        id: str,
        name: str,
        tags: { type: 'object', additionalProperties: { type: 'string' } },
      },
    },
    driftType: nullableStr,
    remedy: {
      anyOf: [
        { type: 'null' },
        {
          type: 'object',
          properties: { type: str, params: { type: 'object', additionalProperties: true } },
        },
      ],
    },
    firstSeen: str,
    lastSeen: str,
    resolvedAt: nullableStr,
    resolution: nullableStr,
    resolvedByAction: nullableStr,
    dismissedReason: nullableStr,
    dismissedBy: nullableStr,
    dismissedAt: nullableStr,
    exclusionId: nullableStr,
    updatedAt: str,
  },
} as const;

const finding = {
  type: 'object',
  properties: {
    ...findingSummary.properties,
    description: nullableStr,
    evidence: {
      description:
        'drift: { changes: [...] } (the before/after diff); imports: the scanner’s own bits',
    },
  },
} as const;

const exclusion = {
  type: 'object',
  properties: {
    id: str,
    scope: { type: 'string', enum: EXCLUSION_SCOPES },
    value: str,
    reason: str,
    createdBy: str,
    createdAt: str,
  },
} as const;

const filter = (description: string) => ({
  type: 'array',
  maxItems: 100,
  items: { type: 'string', maxLength: 1000 },
  description: `${description}; comma-separated or repeated`,
});

const filters = {
  kind: filter(`Any of: ${FINDING_KINDS.join(', ')}`),
  severity: filter(`Any of: ${SEVERITIES.join(', ')}`),
  status: filter(`Any of: ${STORED_FINDING_STATUSES.join(', ')}`),
  provider: filter('Providers: aws, kubernetes'),
  resourceType: filter('Resource types, e.g. AwsS3Bucket'),
  account: filter('AWS account ids or kube context names'),
  q: {
    type: 'string',
    maxLength: 200,
    description: 'Text in the title, check id, resource id or name',
  },
} as const;

const countsQuery = { type: 'object', additionalProperties: false, properties: filters } as const;

const listQuery = {
  type: 'object',
  additionalProperties: false,
  properties: {
    ...filters,
    sort: { type: 'string', enum: FINDING_SORTS, default: 'lastSeen' },
    order: { type: 'string', enum: ['asc', 'desc'], default: 'desc' },
    limit: { type: 'integer', minimum: 1, maximum: 500, default: 50 },
    cursor: cursorParam,
  },
} as const;

type FilterQuery = Partial<Record<Exclude<keyof typeof filters, 'q'>, string[]>> & { q?: string };
type ListQuery = FilterQuery & {
  sort?: FindingSort;
  order?: 'asc' | 'desc';
  limit?: number;
  cursor?: string;
};

/** The filters as the store takes them, naming any unknown value. */
function findingQuery(raw: ListQuery): FindingQuery {
  const query: FindingQuery = {};
  const kind = oneOf('kind', raw.kind, FINDING_KINDS);
  const severity = oneOf('severity', raw.severity, SEVERITIES);
  const status = oneOf('status', raw.status, STORED_FINDING_STATUSES);
  if (kind) query.kind = kind;
  if (severity) query.severity = severity;
  if (status) query.status = status;
  const provider = oneOf('provider', raw.provider, PROVIDERS);
  if (provider) query.provider = provider;
  for (const name of ['resourceType', 'account'] as const) {
    const values = split(name, raw[name]);
    if (values) query[name] = values;
  }
  return { ...query, ...paging(raw) };
}

const tags = ['findings'];
type IdRoute = { Params: { id: string } };

/**
 * Findings: uploads from scanners, the stored findings and what can be done with them,
 * and the exclusions that keep some of them out of the open list.
 */
export async function findingsRoutes(
  app: FastifyInstance,
  opts: { service: RemediationService; bodyLimit: number },
): Promise<void> {
  const { service } = opts;
  const findings = service.findings;

  // Each upload route sits in its own scope, because each replaces the JSON body parser.
  await app.register(async (scope) => {
    scope.removeContentTypeParser('application/json');
    // JSON is kept as text: the importer detects the format and reports errors by their
    // position in the original text. The bytes are decoded here, so that a file that is not
    // UTF-8 is refused rather than read with its bad bytes replaced.
    scope.addContentTypeParser(FILE_TYPES, { parseAs: 'buffer' }, (_request, body, done) => {
      try {
        done(null, decodeFindingsFile(body as Buffer));
      } catch (error) {
        done(error as Error, undefined);
      }
    });
    scope.post<{ Body: string; Querystring: { kubeContext?: string } }>('/findings/import', {
      bodyLimit: opts.bodyLimit,
      config: { importUpload: true },
      schema: {
        tags,
        summary: 'Import a findings file (Prowler OCSF, ASFF, ...)',
        description:
          'The body is the file as exported by the scanner. Nothing is recorded unless the ' +
          'whole file parses. Every failed or passed finding is stored as a vulnerability ' +
          'finding; a passed one resolves the stored finding.',
        consumes: FILE_TYPES,
        querystring: importQuery,
        body: { type: 'string', description: 'The findings file' },
        response: { 200: importReply, ...errorResponses },
      },
      // An empty body is refused by the importer, as an empty file is, with `problem: 'empty'`.
      handler: (request) =>
        service.importFindings(request.body, actorOf(request), {
          ...(request.query.kubeContext ? { kubeContext: request.query.kubeContext } : {}),
        }),
    });
  });

  await app.register(async (scope) => {
    scope.removeContentTypeParser('application/json');
    // The body is handed over as the stream it arrives as; the importer reads it.
    scope.addContentTypeParser(FILE_TYPES, (_request, payload, done) => {
      done(null, payload);
    });
    scope.post<{ Querystring: { kubeContext?: string } }>('/findings/import/stream', {
      schema: {
        tags,
        summary: 'Import a findings file of any size, read as it arrives',
        description:
          'A top-level JSON array (Prowler JSON-OCSF, ASFF as an array) is read one ' +
          'finding at a time and stored in batches of 1,000, each in its own transaction: ' +
          'a file of up to 1,000 findings is all or nothing; in a larger one, a bad finding ' +
          'stops the import with the batches before its own stored. Importing the file ' +
          'again is safe. Other documents are read whole, up to the import size limit.',
        consumes: FILE_TYPES,
        querystring: importQuery,
        response: { 200: importReply, ...errorResponses },
      },
      handler: async (request, reply) => {
        // No body at all reads as an empty file, which the importer refuses as such.
        const body = (request.body as Readable | undefined) ?? Readable.from([]);
        return service
          .importFindingsStream(body, actorOf(request), {
            limitBytes: opts.bodyLimit,
            tooLarge: (limit) =>
              new HttpRefusal(
                'payload_too_large',
                `the file is larger than the import limit of ${megabytes(limit)}; only a ` +
                  'top-level JSON array is read as it arrives, other documents are held whole: ' +
                  'split the file or raise INFRAUDIT_IMPORT_LIMIT_MB',
                { limitBytes: limit },
              ),
            ...(request.query.kubeContext ? { kubeContext: request.query.kubeContext } : {}),
          })
          .catch((error: unknown) => {
            // A refusal can come before the whole body was read: close the connection after
            // answering, or the unread rest would stall the next request sent on it.
            reply.header('connection', 'close');
            body.resume();
            throw error;
          });
      },
    });
  });

  app.get<{ Querystring: ListQuery }>('/findings', {
    schema: {
      tags,
      summary: 'List stored findings, filtered and paged',
      querystring: listQuery,
      response: {
        200: pageSchema(findingSummary),
        ...errorResponses,
      },
    },
    handler: (request) => findings.list(findingQuery(request.query)),
  });

  app.get<{ Querystring: FilterQuery }>('/findings/counts', {
    schema: {
      tags,
      summary: 'Count stored findings by status, kind and severity, under the same filters',
      querystring: countsQuery,
      response: {
        200: {
          type: 'object',
          properties: {
            total: { type: 'integer' },
            byStatus: integers(STORED_FINDING_STATUSES),
            byKind: integers(FINDING_KINDS),
            bySeverity: integers(SEVERITIES),
          },
        },
        ...errorResponses,
      },
    },
    handler: (request) => findings.counts(findingQuery(request.query)),
  });

  app.get<IdRoute>('/findings/:id', {
    schema: {
      tags,
      summary: 'One finding with its evidence or diff, its actions and its history',
      params: idParams,
      response: {
        200: {
          type: 'object',
          properties: {
            finding,
            actions: { type: 'array', items: ref('ActionSummary') },
            events: { type: 'array', items: ref('AuditEvent') },
          },
        },
        ...errorResponses,
      },
    },
    handler: (request) => findings.get(request.params.id),
  });

  const created = {
    type: 'object',
    properties: { action: ref('Action'), created: { type: 'boolean' } },
  } as const;
  app.post<IdRoute>('/findings/:id/remediate', {
    schema: {
      tags,
      summary: 'Create the action that fixes a finding, from its catalog remedy',
      description:
        'Answers 201 with created=true for a new action, or 200 with created=false when an ' +
        'action for the same fix and resource is already open (the finding is linked to ' +
        'it). 422 unsupported when the catalog has no fix for the finding.',
      params: idParams,
      body: { type: 'object', additionalProperties: false, properties: {} },
      response: { 200: created, 201: created, ...errorResponses },
    },
    handler: async (request, reply) => {
      const result = await findings.remediate(request.params.id, actorOf(request));
      return reply.code(result.created ? 201 : 200).send(result);
    },
  });

  app.post<IdRoute & { Body: { reason: string } }>('/findings/:id/dismiss', {
    schema: {
      tags,
      summary: 'Dismiss an open finding, with the reason; later reports keep it dismissed',
      params: idParams,
      body: {
        type: 'object',
        additionalProperties: false,
        required: ['reason'],
        properties: { reason: { type: 'string', minLength: 1, maxLength: 2000 } },
      },
      response: { 200: { type: 'object', properties: { finding } }, ...errorResponses },
    },
    handler: async (request) => ({
      finding: await findings.dismiss(request.params.id, request.body.reason, actorOf(request)),
    }),
  });

  app.post<IdRoute>('/findings/:id/reopen', {
    schema: {
      tags,
      summary: 'Reopen a dismissed finding',
      params: idParams,
      body: { type: 'object', additionalProperties: false, properties: {} },
      response: { 200: { type: 'object', properties: { finding } }, ...errorResponses },
    },
    handler: async (request) => ({
      finding: await findings.reopen(request.params.id, actorOf(request)),
    }),
  });

  app.get('/exclusions', {
    schema: {
      tags,
      summary: 'List the exclusions',
      response: {
        200: { type: 'object', properties: { items: { type: 'array', items: exclusion } } },
        ...errorResponses,
      },
    },
    handler: async () => ({ items: await findings.listExclusions() }),
  });

  app.post<{ Body: { scope: ExclusionScope; value: string; reason: string } }>('/exclusions', {
    schema: {
      tags,
      summary: 'Exclude findings by resource id, tag (key=value) or account',
      description:
        'Open findings that match become excluded at once, and later reports store matching ' +
        'findings as excluded rather than open.',
      body: {
        type: 'object',
        additionalProperties: false,
        required: ['scope', 'value', 'reason'],
        properties: {
          scope: { type: 'string', enum: EXCLUSION_SCOPES },
          value: { type: 'string', minLength: 1, maxLength: 2048 },
          reason: { type: 'string', minLength: 1, maxLength: 2000 },
        },
      },
      response: {
        201: {
          type: 'object',
          properties: { exclusion, excluded: { type: 'integer' } },
        },
        ...errorResponses,
      },
    },
    handler: async (request, reply) =>
      reply.code(201).send(await findings.addExclusion(request.body, actorOf(request))),
  });

  app.delete<IdRoute>('/exclusions/:id', {
    schema: {
      tags,
      summary: 'Remove an exclusion; the findings it kept out open again',
      params: idParams,
      response: {
        200: { type: 'object', properties: { exclusion, reopened: { type: 'integer' } } },
        ...errorResponses,
      },
    },
    handler: (request) => findings.removeExclusion(request.params.id, actorOf(request)),
  });
}
