import type { FastifyInstance } from 'fastify';
import type { Role } from '../../domain/status.ts';
import { ROLES } from '../../domain/status.ts';
import { invalidInput } from '../../domain/errors.ts';
import type { Store } from '../../store/store.ts';
import { actorOf } from '../auth.ts';
import { hashPassword, oneTimePassword } from '../password.ts';
import { errorResponses } from '../schemas.ts';
import { USERNAME_PATTERN, passwordField, userInfo } from './session.ts';

const tags = ['users'];

const usernameParams = {
  type: 'object',
  required: ['username'],
  additionalProperties: false,
  properties: { username: { type: 'string', pattern: USERNAME_PATTERN } },
} as const;

const createBody = {
  type: 'object',
  additionalProperties: false,
  required: ['username', 'role'],
  properties: {
    username: {
      type: 'string',
      pattern: USERNAME_PATTERN,
      description:
        'Lowercase letters, digits and . _ @ -, up to 64; the audit names user:<username>',
    },
    displayName: { type: 'string', minLength: 1, maxLength: 200 },
    role: { type: 'string', enum: ROLES },
    password: {
      ...passwordField,
      description: 'Leave out to have a one-time password generated and shown in the answer',
    },
  },
} as const;

const passwordBody = {
  type: 'object',
  additionalProperties: false,
  properties: {
    password: {
      ...passwordField,
      description: 'Leave out to have a one-time password generated and shown in the answer',
    },
  },
} as const;

const withPassword = {
  type: 'object',
  properties: {
    user: userInfo,
    oneTimePassword: {
      type: 'string',
      description: 'Shown in this answer only; the user must change it at first sign-in',
    },
  },
} as const;

const oneUser = { type: 'object', properties: { user: userInfo } } as const;

/**
 * Control characters (line breaks included) and bidirectional controls such as U+202E
 * would make a name shown in the console or the audit log read as something else.
 */
const UNSAFE_IN_NAME = /[\p{Cc}\u061C\u200E\u200F\u2028\u2029\u202A-\u202E\u2066-\u2069]/u;

function checkDisplayName(name: string | undefined): void {
  const found = name === undefined ? null : UNSAFE_IN_NAME.exec(name);
  if (!found) return;
  const code = found[0].codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0');
  throw invalidInput(
    `body.displayName contains U+${code} at position ${found.index + 1}; a name may not ` +
      'contain control characters, line separators (U+2028, U+2029) or bidirectional ' +
      'controls (U+061C, U+200E, U+200F, ' +
      'U+202A to U+202E, U+2066 to U+2069)',
    { field: 'displayName' },
  );
}

/**
 * Managing the people who sign in to the console. A password an admin sets or has
 * generated is always a one-time password: the user changes it at first sign-in, so the
 * admin never knows a password in use.
 */
export async function userRoutes(app: FastifyInstance, opts: { store: Store; clock: () => Date }) {
  const { store, clock } = opts;

  app.get('/users', {
    schema: {
      tags,
      summary: 'Every user, disabled ones included; never a password',
      response: {
        200: { type: 'object', properties: { items: { type: 'array', items: userInfo } } },
        ...errorResponses,
      },
    },
    handler: async () => ({ items: await store.listUsers() }),
  });

  app.post<{
    Body: { username: string; displayName?: string; role: Role; password?: string };
  }>('/users', {
    config: { secretAnswer: true },
    schema: {
      tags,
      summary: 'Create a user with a one-time password',
      description: 'Audited. A username in use, disabled users included, is 409 conflict.',
      body: createBody,
      response: { 201: withPassword, ...errorResponses },
    },
    handler: async (request, reply) => {
      const { username, role } = request.body;
      checkDisplayName(request.body.displayName);
      const generated = request.body.password === undefined ? oneTimePassword() : undefined;
      const user = await store.createUser(
        {
          username,
          displayName: request.body.displayName ?? username,
          role,
          passwordHash: await hashPassword(request.body.password ?? generated ?? ''),
          mustChangePassword: true,
        },
        { actor: actorOf(request), now: clock() },
      );
      request.log.info({ userId: user.id, role, actor: actorOf(request) }, 'user created');
      return reply
        .code(201)
        .send({ user, ...(generated === undefined ? {} : { oneTimePassword: generated }) });
    },
  });

  for (const [path, disabled] of [
    ['disable', true],
    ['enable', false],
  ] as const) {
    app.post<{ Params: { username: string } }>(`/users/:username/${path}`, {
      schema: {
        tags,
        summary: disabled
          ? 'Disable a user: sign-in is refused and their sessions end'
          : 'Enable a disabled user again',
        description: disabled
          ? 'Audited. The last enabled admin cannot be disabled (409 conflict).'
          : 'Audited.',
        params: usernameParams,
        response: { 200: oneUser, ...errorResponses },
      },
      handler: async (request) => {
        const actor = actorOf(request);
        const user = await store.setUserDisabled(request.params.username, disabled, {
          actor,
          now: clock(),
        });
        request.log.info({ userId: user.id, actor }, disabled ? 'user disabled' : 'user enabled');
        return { user };
      },
    });
  }

  app.post<{ Params: { username: string }; Body: { password?: string } }>(
    '/users/:username/password',
    {
      config: { secretAnswer: true },
      schema: {
        tags,
        summary: 'Reset a user’s password to a one-time password; their sessions end',
        description: 'Audited, without the password.',
        params: usernameParams,
        body: passwordBody,
        response: { 200: withPassword, ...errorResponses },
      },
      handler: async (request) => {
        const actor = actorOf(request);
        const generated = request.body.password === undefined ? oneTimePassword() : undefined;
        const user = await store.setPassword(
          request.params.username,
          {
            passwordHash: await hashPassword(request.body.password ?? generated ?? ''),
            mustChangePassword: true,
          },
          { actor, now: clock() },
        );
        request.log.info({ userId: user.id, actor }, 'password reset');
        return { user, ...(generated === undefined ? {} : { oneTimePassword: generated }) };
      },
    },
  );
}
