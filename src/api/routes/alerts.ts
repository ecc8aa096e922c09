import type { FastifyInstance } from 'fastify';
import { parseChannel, type ChannelInput } from '../../alerts/channels.ts';
import { buildMessage } from '../../alerts/message.ts';
import {
  ALERT_EVENTS,
  CHANNEL_TYPES,
  DELIVERY_STATUSES,
  type DeliveryStatus,
  type NewRule,
} from '../../alerts/model.ts';
import { sendAlert } from '../../alerts/send.ts';
import { notFound } from '../../domain/errors.ts';
import { SEVERITIES } from '../../domain/status.ts';
import type { Store } from '../../store/store.ts';
import { actorOf } from '../auth.ts';
import { oneOf } from '../query.ts';
import { errorResponses, idParams } from '../schemas.ts';

const tags = ['alerts'];
const str = { type: 'string' } as const;
const nullableStr = { type: ['string', 'null'] } as const;

const channelInfo = {
  type: 'object',
  properties: {
    id: str,
    name: str,
    type: { type: 'string', enum: CHANNEL_TYPES },
    target: { type: 'string', description: 'Where it sends, secrets masked' },
    config: {
      type: 'object',
      description: 'Email: host, port, security, username, from, to. Never a secret.',
      additionalProperties: true,
    },
    health: {
      type: 'object',
      properties: {
        state: { type: 'string', enum: ['ok', 'failing', 'untested'] },
        lastSuccessAt: nullableStr,
        lastFailureAt: nullableStr,
        lastError: nullableStr,
        consecutiveFailures: { type: 'integer' },
      },
    },
    createdAt: str,
    createdBy: str,
  },
} as const;

const channelBody = {
  type: 'object',
  additionalProperties: false,
  required: ['name', 'type'],
  properties: {
    name: { type: 'string', minLength: 1, maxLength: 100, pattern: '^[A-Za-z0-9_.@-]+$' },
    type: { type: 'string', enum: CHANNEL_TYPES },
    url: { type: 'string', minLength: 1, maxLength: 2048, description: 'slack, webhook' },
    secret: {
      type: 'string',
      minLength: 16,
      maxLength: 512,
      description: 'webhook: the HMAC-SHA256 key, at least 16 characters',
    },
    host: { type: 'string', minLength: 1, maxLength: 255, description: 'email: SMTP server' },
    port: { type: 'integer', minimum: 1, maximum: 65535 },
    security: {
      type: 'string',
      enum: ['starttls', 'tls', 'none'],
      description: 'email: starttls (default, required), tls (from the first byte) or none',
    },
    username: { type: 'string', minLength: 1, maxLength: 255 },
    password: { type: 'string', minLength: 1, maxLength: 1024 },
    from: { type: 'string', minLength: 3, maxLength: 320 },
    to: {
      type: 'array',
      minItems: 1,
      maxItems: 50,
      items: { type: 'string', minLength: 3, maxLength: 320 },
    },
  },
} as const;

const ruleInfo = {
  type: 'object',
  properties: {
    id: str,
    name: str,
    events: { type: 'array', items: { type: 'string', enum: ALERT_EVENTS } },
    minSeverity: { type: 'string', enum: SEVERITIES },
    channels: {
      type: 'array',
      items: { type: 'object', properties: { id: str, name: str } },
    },
    createdAt: str,
    createdBy: str,
  },
} as const;

const ruleBody = {
  type: 'object',
  additionalProperties: false,
  required: ['name', 'events', 'channels'],
  properties: {
    name: { type: 'string', minLength: 1, maxLength: 100, pattern: '^[A-Za-z0-9_.@-]+$' },
    events: {
      type: 'array',
      minItems: 1,
      maxItems: ALERT_EVENTS.length,
      items: { type: 'string', enum: ALERT_EVENTS },
    },
    minSeverity: { type: 'string', enum: SEVERITIES, default: 'informational' },
    channels: {
      type: 'array',
      minItems: 1,
      maxItems: 20,
      items: { type: 'string', minLength: 1, maxLength: 100 },
      description: 'Channel ids or names',
    },
  },
} as const;

const attemptInfo = {
  type: 'object',
  properties: {
    attempt: { type: 'integer' },
    at: str,
    durationMs: { type: 'integer' },
    ok: { type: 'boolean' },
    statusCode: { type: ['integer', 'null'] },
    error: nullableStr,
  },
} as const;

const deliveryProperties = {
  id: str,
  eventId: { type: 'integer', description: 'The audit event that raised it' },
  event: { type: 'string', enum: ALERT_EVENTS },
  severity: { type: 'string', enum: SEVERITIES },
  actionId: nullableStr,
  channel: { type: 'object', properties: { id: str, name: str } },
  ruleId: str,
  status: { type: 'string', enum: DELIVERY_STATUSES },
  attempts: { type: 'integer', description: 'Tries since it was queued or last retried' },
  nextAttemptAt: nullableStr,
  createdAt: str,
  deliveredAt: nullableStr,
  lastError: nullableStr,
} as const;

const deliveryInfo = { type: 'object', properties: deliveryProperties } as const;

const deliveryQuery = {
  type: 'object',
  additionalProperties: false,
  properties: {
    status: {
      type: 'array',
      maxItems: 10,
      items: { type: 'string', maxLength: 100 },
      description: `Any of: ${DELIVERY_STATUSES.join(', ')}; comma-separated or repeated`,
    },
    channel: {
      type: 'string',
      minLength: 1,
      maxLength: 100,
      description: 'Channel id or name; one that names no channel is 404',
    },
    limit: { type: 'integer', minimum: 1, maximum: 500, default: 50 },
  },
} as const;

const testResult = {
  type: 'object',
  properties: {
    ok: { type: 'boolean' },
    statusCode: { type: ['integer', 'null'] },
    error: nullableStr,
    durationMs: { type: 'integer' },
  },
} as const;

/** Alert channels, rules and the delivery log. Reads are open to viewers: secrets are masked. */
export async function alertRoutes(
  app: FastifyInstance,
  opts: { store: Store; timeoutMs?: number; publicUrl?: () => string },
): Promise<void> {
  const { store } = opts;

  app.get('/alerts/channels', {
    schema: {
      tags,
      summary: 'Alert channels with their health; secrets only masked',
      response: {
        200: { type: 'object', properties: { items: { type: 'array', items: channelInfo } } },
        ...errorResponses,
      },
    },
    handler: async () => ({ items: await store.listAlertChannels() }),
  });

  app.post<{ Body: ChannelInput }>('/alerts/channels', {
    schema: {
      tags,
      summary: 'Add an alert channel (audited)',
      description:
        'slack: url. webhook: url and secret (HMAC-SHA256 key). email: host, from, to; port, ' +
        'security, username, password optional. Fields of another type are refused.',
      body: channelBody,
      response: {
        201: { type: 'object', properties: { channel: channelInfo } },
        ...errorResponses,
      },
    },
    handler: async (request, reply) => {
      const actor = actorOf(request);
      const channel = await store.createAlertChannel(parseChannel(request.body), {
        actor,
        now: new Date(),
      });
      request.log.info(
        { channelId: channel.id, channelType: channel.type, actor },
        'alert channel added',
      );
      return reply.code(201).send({ channel });
    },
  });

  app.delete<{ Params: { id: string } }>('/alerts/channels/:id', {
    schema: {
      tags,
      summary: 'Remove an alert channel (by id or name); refused while a rule sends to it',
      description: 'Its deliveries not yet sent are cancelled. Audited.',
      params: idParams,
      response: {
        200: { type: 'object', properties: { channel: channelInfo } },
        ...errorResponses,
      },
    },
    handler: async (request) => {
      const actor = actorOf(request);
      const channel = await store.removeAlertChannel(request.params.id, { actor, now: new Date() });
      request.log.info({ channelId: channel.id, actor }, 'alert channel removed');
      return { channel };
    },
  });

  app.post<{ Params: { id: string } }>('/alerts/channels/:id/test', {
    schema: {
      tags,
      summary: 'Send a test message to a channel (by id or name) now; report the answer',
      description: 'Not queued and not retried; the channel health is not changed.',
      params: idParams,
      response: { 200: testResult, ...errorResponses },
    },
    handler: async (request) => {
      const channel = await store.alertChannelForSending(request.params.id);
      const now = new Date();
      const message = buildMessage(
        {
          event: 'suggested',
          severity: 'informational',
          eventId: 0,
          at: now.toISOString(),
          actor: actorOf(request),
          comment: 'a test message from InfraAudit: this channel works',
          fromStatus: null,
          toStatus: null,
          action: null,
          finding: null,
        },
        { publicUrl: opts.publicUrl?.() ?? '', deliveryId: 'test' },
      );
      message.subject = `InfraAudit test message for channel ${channel.name}`;
      message.text = `${message.subject}\n${message.text.split('\n').slice(1).join('\n')}`;
      message.payload = { ...message.payload, event: 'test', summary: message.subject };
      const result = await sendAlert(channel, message, { timeoutMs: opts.timeoutMs ?? 10_000 });
      request.log.info(
        { channelId: channel.id, ok: result.ok, statusCode: result.statusCode },
        'alert channel tested',
      );
      return result;
    },
  });

  app.post<{ Params: { id: string } }>('/alerts/channels/:id/retry', {
    schema: {
      tags,
      summary: 'Try every failed delivery of a channel (by id or name) now, in event order',
      description: 'One audit event; expired deliveries are retried one by one.',
      params: idParams,
      response: {
        200: {
          type: 'object',
          properties: {
            channel: { type: 'object', properties: { id: str, name: str } },
            queued: { type: 'integer', description: 'Deliveries queued again' },
          },
        },
        ...errorResponses,
      },
    },
    handler: async (request) => {
      const actor = actorOf(request);
      const retried = await store.retryAlertChannel(request.params.id, { actor, now: new Date() });
      request.log.info(
        { channelId: retried.channel.id, queued: retried.queued, actor },
        'failed alert deliveries of a channel queued again',
      );
      return retried;
    },
  });

  app.get('/alerts/rules', {
    schema: {
      tags,
      summary: 'Alert rules: which events at or above which severity go to which channels',
      response: {
        200: { type: 'object', properties: { items: { type: 'array', items: ruleInfo } } },
        ...errorResponses,
      },
    },
    handler: async () => ({ items: await store.listAlertRules() }),
  });

  app.post<{ Body: NewRule }>('/alerts/rules', {
    schema: {
      tags,
      summary: 'Add an alert rule (audited)',
      description:
        'Events: ' +
        `${ALERT_EVENTS.join(', ')}. An event is sent once to each channel, however many ` +
        'rules name it. The severity of an action event is the action’s.',
      body: ruleBody,
      response: { 201: { type: 'object', properties: { rule: ruleInfo } }, ...errorResponses },
    },
    handler: async (request, reply) => {
      const actor = actorOf(request);
      const rule = await store.createAlertRule(request.body, { actor, now: new Date() });
      request.log.info({ ruleId: rule.id, actor }, 'alert rule added');
      return reply.code(201).send({ rule });
    },
  });

  app.delete<{ Params: { id: string } }>('/alerts/rules/:id', {
    schema: {
      tags,
      summary: 'Remove an alert rule (audited); alerts already queued are still sent',
      params: idParams,
      response: { 200: { type: 'object', properties: { rule: ruleInfo } }, ...errorResponses },
    },
    handler: async (request) => {
      const actor = actorOf(request);
      const rule = await store.removeAlertRule(request.params.id, { actor, now: new Date() });
      request.log.info({ ruleId: rule.id, actor }, 'alert rule removed');
      return { rule };
    },
  });

  app.get<{ Querystring: { status?: string[]; channel?: string; limit?: number } }>(
    '/alerts/deliveries',
    {
      schema: {
        tags,
        summary: 'Queued and sent alerts, newest first',
        querystring: deliveryQuery,
        response: {
          200: { type: 'object', properties: { items: { type: 'array', items: deliveryInfo } } },
          ...errorResponses,
        },
      },
      handler: async (request) => {
        const status = oneOf<DeliveryStatus>('status', request.query.status, DELIVERY_STATUSES);
        const items = await store.listAlertDeliveries({
          ...(status ? { status } : {}),
          ...(request.query.channel !== undefined ? { channel: request.query.channel } : {}),
          limit: request.query.limit ?? 50,
        });
        return { items };
      },
    },
  );

  app.get<{ Params: { id: string } }>('/alerts/deliveries/:id', {
    schema: {
      tags,
      summary: 'One delivery with every attempt: time, answer or error, duration',
      params: idParams,
      response: {
        200: {
          type: 'object',
          properties: {
            delivery: {
              type: 'object',
              properties: {
                ...deliveryProperties,
                attemptLog: { type: 'array', items: attemptInfo },
              },
            },
          },
        },
        ...errorResponses,
      },
    },
    handler: async (request) => {
      const delivery = await store.getAlertDelivery(request.params.id);
      if (!delivery) {
        throw notFound(`no alert delivery with id "${request.params.id}"; list the deliveries`);
      }
      return { delivery };
    },
  });

  app.post<{ Params: { id: string } }>('/alerts/deliveries/:id/retry', {
    schema: {
      tags,
      summary: 'Queue a failed delivery again for a fresh set of attempts (audited)',
      params: idParams,
      response: {
        200: { type: 'object', properties: { delivery: deliveryInfo } },
        ...errorResponses,
      },
    },
    handler: async (request) => {
      const actor = actorOf(request);
      const delivery = await store.retryAlertDelivery(request.params.id, {
        actor,
        now: new Date(),
      });
      request.log.info({ deliveryId: delivery.id, actor }, 'alert delivery queued again');
      return { delivery };
    },
  });
}
