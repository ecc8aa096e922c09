import { MAX_WINDOWS } from '../domain/maintenance.ts';
import { BULK_LIMIT_MAX, ROLLBACK_WINDOW_MAX, ROLLBACK_WINDOW_MIN } from '../domain/settings.ts';
import { RISKS, ROLES, SEVERITIES, SOURCE_KINDS, STATUSES } from '../domain/status.ts';
import { SORT_FIELDS } from '../store/store.ts';

/*
 * JSON schemas for every route: they validate requests, shape responses (fields not
 * listed here are not sent) and feed the OpenAPI document. Shared ones are registered
 * by `$id` and referenced as `{ $ref: 'Action#' }`.
 */

const str = { type: 'string' } as const;
const nullableStr = { type: ['string', 'null'] } as const;
const anyObject = { type: 'object', additionalProperties: true } as const;

const resource = {
  type: 'object',
  required: ['provider', 'account', 'region', 'type', 'id', 'name'],
  properties: {
    provider: { type: 'string', enum: ['aws'] },
    account: str,
    region: str,
    type: { type: 'string', description: 'Security Hub resource type, e.g. AwsS3Bucket' },
    id: { type: 'string', description: 'ARN or the provider’s own id' },
    name: str,
  },
} as const;

const source = {
  type: 'object',
  required: ['kind', 'findingId', 'title', 'origin', 'checkId'],
  properties: {
    kind: { type: 'string', enum: SOURCE_KINDS },
    findingId: str,
    title: str,
    origin: str,
    checkId: str,
  },
} as const;

const plannedCall = {
  type: 'object',
  properties: { service: str, operation: str, parameters: anyObject },
} as const;

const actionError = {
  type: 'object',
  properties: { code: str, message: str, cloudCode: str, at: str },
} as const;

const plan = {
  type: 'object',
  properties: {
    before: { type: ['object', 'null'], additionalProperties: true },
    after: anyObject,
    calls: { type: 'array', items: plannedCall },
    rollbackCalls: { type: 'array', items: plannedCall },
    reversibility: {
      type: 'object',
      properties: { level: { type: 'string', enum: ['full', 'partial', 'none'] }, note: str },
    },
    warnings: { type: 'array', items: str },
    refusal: nullableStr,
    input: {
      anyOf: [
        { type: 'null' },
        { type: 'object', properties: { params: anyObject, options: anyObject } },
      ],
    },
    alreadyCompliant: { type: 'boolean' },
    error: { anyOf: [{ type: 'null' }, actionError] },
  },
} as const;

export const actionSchema = {
  $id: 'Action',
  type: 'object',
  properties: {
    id: str,
    type: { type: 'string', description: 'Catalog fix id' },
    title: str,
    resource,
    source,
    severity: { type: 'string', enum: SEVERITIES },
    risk: { type: 'string', enum: RISKS },
    status: { type: 'string', enum: STATUSES },
    plan,
    snapshot: {
      anyOf: [
        { type: 'null' },
        { type: 'object', properties: { capturedAt: str, state: anyObject } },
      ],
    },
    result: {
      anyOf: [
        { type: 'null' },
        { type: 'object', properties: { kind: str, message: str, observed: anyObject } },
      ],
    },
    error: { anyOf: [{ type: 'null' }, actionError] },
    requestedOp: { type: ['string', 'null'], enum: ['execute', 'rollback', null] },
    requestedBy: nullableStr,
    requestData: { type: ['object', 'null'], additionalProperties: true },
    params: anyObject,
    progress: anyObject,
    sealedSecret: {
      description:
        'A secret the fix created is waiting for the person who executed it (its name only: ' +
        'POST /actions/{id}/secret hands the sealed envelope over once)',
      anyOf: [{ type: 'null' }, { type: 'object', properties: { name: str } }],
    },
    finalizedAt: nullableStr,
    attempt: { type: 'integer' },
    createdBy: str,
    createdAt: str,
    updatedAt: str,
    approvedBy: nullableStr,
    approvedAt: nullableStr,
    completedAt: nullableStr,
    rollbackDeadline: nullableStr,
    plannedAt: nullableStr,
    version: { type: 'integer' },
  },
} as const;

const SUMMARY_FIELDS = [
  'id',
  'type',
  'title',
  'resource',
  'source',
  'severity',
  'risk',
  'status',
  'error',
  'requestedOp',
  'attempt',
  'createdAt',
  'updatedAt',
  'approvedBy',
  'completedAt',
  'rollbackDeadline',
  'version',
] as const;

/** A queue row: the action without its plan, snapshot and results (GET /actions/:id has them). */
export const actionSummarySchema = {
  $id: 'ActionSummary',
  type: 'object',
  properties: Object.fromEntries(SUMMARY_FIELDS.map((f) => [f, actionSchema.properties[f]])),
} as const;

export const eventSchema = {
  $id: 'AuditEvent',
  type: 'object',
  properties: {
    id: { type: 'integer' },
    actionId: nullableStr,
    at: str,
    actor: str,
    type: {
      type: 'string',
      enum: [
        'transition',
        'comment',
        'request',
        'note',
        'finalize',
        'window-closing',
        'finding',
        'exclusion',
      ],
    },
    from: nullableStr,
    to: nullableStr,
    comment: nullableStr,
    data: { type: ['object', 'null'], additionalProperties: true },
  },
} as const;

const maintenanceWindowBody = {
  type: 'object',
  additionalProperties: false,
  required: ['name', 'schedule', 'timezone'],
  properties: {
    name: { type: 'string', minLength: 1, maxLength: 100 },
    account: { type: 'string', minLength: 1, maxLength: 200 },
    tag: { type: 'string', minLength: 3, maxLength: 400 },
    schedule: { type: 'string', minLength: 1, maxLength: 200, examples: ['sat,sun 02:00-06:00'] },
    timezone: { type: 'string', minLength: 1, maxLength: 100, examples: ['Europe/Berlin'] },
  },
} as const;

export const maintenanceWindowSchema = {
  $id: 'MaintenanceWindow',
  ...maintenanceWindowBody,
} as const;

export const settingsSchema = {
  $id: 'RemediationSettings',
  type: 'object',
  properties: {
    requireApproval: { type: 'boolean' },
    autoExecute: { type: 'boolean' },
    rollbackWindowMinutes: { type: 'integer' },
    allowSelfApproval: { type: 'boolean' },
    maxBulkActions: { type: 'integer' },
    maintenanceWindows: { type: 'array', items: { $ref: 'MaintenanceWindow#' } },
  },
} as const;

const k8sQuantity = {
  type: 'string',
  pattern: '^[0-9]+(\\.[0-9]+)?(m|k|M|G|T|Ki|Mi|Gi|Ti)?$',
} as const;

const fixOptionProperties = {
  ec2AuthorizedPorts: {
    type: 'array',
    items: { type: 'integer', minimum: 0, maximum: 65535 },
    description: 'ports that stay open to the internet for "all but the authorized" findings',
  },
  rdsApplyImmediately: { type: 'boolean' },
  rdsBackupRetentionDays: { type: 'integer', minimum: 1, maximum: 35 },
  rdsKmsKeyId: { type: 'string', minLength: 1 },
  k8sCpuRequest: k8sQuantity,
  k8sMemoryRequest: k8sQuantity,
  k8sCpuLimit: k8sQuantity,
  k8sMemoryLimit: k8sQuantity,
  k8sPodSecurityLevel: { type: 'string', enum: ['privileged', 'baseline', 'restricted'] },
  k8sPodSecurityVersion: { type: 'string', pattern: '^(latest|v1\\.[0-9]+)$' },
} as const;

export const fixOptionsSchema = {
  $id: 'FixOptions',
  type: 'object',
  properties: fixOptionProperties,
} as const;

export const fixOptionsBody = {
  type: 'object',
  additionalProperties: false,
  minProperties: 1,
  properties: fixOptionProperties,
} as const;

export const errorSchema = {
  $id: 'Error',
  type: 'object',
  properties: {
    error: {
      type: 'object',
      properties: { code: str, message: str, details: anyObject },
    },
  },
} as const;

/** Registered on the app so responses and the OpenAPI document can refer to them. */
export const sharedSchemas = [
  actionSchema,
  actionSummarySchema,
  eventSchema,
  maintenanceWindowSchema,
  settingsSchema,
  fixOptionsSchema,
  errorSchema,
];

export const ref = (id: string) => ({ $ref: `${id}#` }) as const;

export const errorResponses = {
  '4xx': ref('Error'),
  '5xx': ref('Error'),
} as const;

export const idParams = {
  type: 'object',
  required: ['id'],
  properties: { id: { type: 'string', minLength: 1, maxLength: 100 } },
  additionalProperties: false,
} as const;

/** A page of a listing: its items and the cursor of the next page, null on the last. */
export const pageSchema = (items: object) =>
  ({
    type: 'object',
    properties: { items: { type: 'array', items }, nextCursor: nullableStr },
  }) as const;

/** The `cursor` query parameter of a listing: a nextCursor it answered before. */
export const cursorParam = { type: 'string', maxLength: 500 } as const;

/** The query of a route that takes no query parameters: any is refused. */
export const noQuery = { type: 'object', additionalProperties: false, properties: {} } as const;

/** A filter: comma-separated values, the parameter repeated, or both (`a,b&status=c`). */
const list = (maxLength: number, description: string) => ({
  type: 'array',
  maxItems: 100,
  items: { type: 'string', maxLength },
  description: `${description}; comma-separated or repeated`,
});
const anyOf = (values: readonly string[]) => list(1000, `Any of: ${values.join(', ')}`);

export const listQuery = {
  type: 'object',
  additionalProperties: false,
  properties: {
    status: anyOf(STATUSES),
    severity: anyOf(SEVERITIES),
    sourceKind: anyOf(SOURCE_KINDS),
    resourceType: list(1000, 'Resource types, e.g. AwsS3Bucket'),
    provider: list(200, 'Providers, e.g. aws'),
    q: { type: 'string', maxLength: 200, description: 'Text in the title, resource id or name' },
    sort: { type: 'string', enum: SORT_FIELDS },
    order: { type: 'string', enum: ['asc', 'desc'] },
    limit: { type: 'integer', minimum: 1, maximum: 500, default: 50 },
    cursor: cursorParam,
  },
} as const;

const comment = { type: 'string', maxLength: 10_000 } as const;

export const optionalCommentBody = {
  type: 'object',
  additionalProperties: false,
  properties: { comment },
} as const;

export const rollbackBody = {
  type: 'object',
  additionalProperties: false,
  properties: {
    comment,
    force: {
      type: 'boolean',
      description:
        'restore the snapshot even over a change made after the fix (a comment is then ' +
        'required); the audit trail keeps the overwritten state',
    },
  },
} as const;

export const executeBody = {
  type: 'object',
  additionalProperties: false,
  properties: {
    comment,
    recipientKey: {
      type: 'string',
      maxLength: 200,
      description:
        'X25519 public key, SPKI DER in base64, required by fixes that create a secret: the ' +
        'secret is sealed to it and can be collected once with POST /actions/{id}/secret',
    },
  },
} as const;

/** The envelope a secret travels in: only the matching private key opens it. */
export const sealedSecretSchema = {
  type: 'object',
  properties: { name: str, ephemeralPublicKey: str, iv: str, ciphertext: str, tag: str },
} as const;

export const requiredCommentBody = {
  type: 'object',
  additionalProperties: false,
  required: ['comment'],
  properties: { comment: { ...comment, minLength: 1 } },
} as const;

export const commentBody = {
  type: 'object',
  additionalProperties: false,
  required: ['text'],
  properties: { text: { ...comment, minLength: 1 } },
} as const;

export const suggestBody = {
  type: 'object',
  additionalProperties: false,
  required: ['type', 'resource'],
  properties: {
    type: { type: 'string', minLength: 1, maxLength: 200, description: 'Catalog fix id' },
    resource: {
      type: 'object',
      additionalProperties: false,
      required: ['type', 'id'],
      properties: {
        provider: { type: 'string', enum: ['aws'] },
        account: { type: 'string', maxLength: 64 },
        region: { type: 'string', maxLength: 64 },
        type: { type: 'string', minLength: 1, maxLength: 200 },
        id: { type: 'string', minLength: 1, maxLength: 2048 },
        name: { type: 'string', maxLength: 1024 },
      },
    },
    kind: { type: 'string', enum: SOURCE_KINDS },
    findingId: { type: 'string', minLength: 1, maxLength: 2048 },
    title: { type: 'string', minLength: 1, maxLength: 1000 },
    origin: { type: 'string', minLength: 1, maxLength: 200 },
    checkId: { type: 'string', minLength: 1, maxLength: 500 },
    severity: { type: 'string', enum: SEVERITIES },
  },
} as const;

export const settingsBody = {
  type: 'object',
  additionalProperties: false,
  minProperties: 1,
  properties: {
    requireApproval: { type: 'boolean' },
    autoExecute: { type: 'boolean' },
    rollbackWindowMinutes: {
      type: 'integer',
      minimum: ROLLBACK_WINDOW_MIN,
      maximum: ROLLBACK_WINDOW_MAX,
    },
    allowSelfApproval: { type: 'boolean' },
    maxBulkActions: { type: 'integer', minimum: 1, maximum: BULK_LIMIT_MAX },
    maintenanceWindows: { type: 'array', maxItems: MAX_WINDOWS, items: maintenanceWindowBody },
  },
} as const;

export const bulkBody = {
  type: 'object',
  additionalProperties: false,
  required: ['op', 'ids'],
  properties: {
    op: { type: 'string', enum: ['approve', 'reject'] },
    ids: {
      type: 'array',
      minItems: 1,
      maxItems: BULK_LIMIT_MAX,
      items: { type: 'string', minLength: 1, maxLength: 100 },
    },
    comment: { type: 'string', maxLength: 10_000 },
  },
} as const;

export const bulkResultSchema = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    ok: { type: 'boolean' },
    status: { type: ['string', 'null'] },
    error: {
      type: ['object', 'null'],
      properties: { code: { type: 'string' }, message: { type: 'string' } },
    },
  },
} as const;

export const tokenBody = {
  type: 'object',
  additionalProperties: false,
  required: ['role', 'name'],
  properties: {
    role: { type: 'string', enum: ROLES },
    name: { type: 'string', minLength: 1, maxLength: 100, pattern: '^[A-Za-z0-9_.@-]+$' },
    expiresInMinutes: {
      type: 'integer',
      minimum: 1,
      maximum: 5_256_000,
      description: 'The token is refused this many minutes after creation; never expires if absent',
    },
  },
} as const;
