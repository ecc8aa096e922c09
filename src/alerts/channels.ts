import { invalidInput } from '../domain/errors.ts';
import { CHANNEL_TYPES, type ChannelType, type NewChannel } from './model.ts';
import { checkHost } from './targets.ts';

/** The body of `POST /alerts/channels`, after schema validation. */
export interface ChannelInput {
  name: string;
  type: ChannelType;
  /** slack, webhook: where to POST; holds a secret, so never shown whole. */
  url?: string;
  /** webhook: the HMAC-SHA256 key receivers verify signatures with. */
  secret?: string;
  /** email: the SMTP server. */
  host?: string;
  port?: number;
  /** email: `starttls` upgrades the connection and refuses a server that cannot; `tls` is TLS
   * from the first byte (port 465); `none` sends in the clear (a relay on loopback). */
  security?: 'starttls' | 'tls' | 'none';
  username?: string;
  password?: string;
  from?: string;
  to?: string[];
}

const FIELDS: Record<ChannelType, { required: string[]; allowed: string[] }> = {
  slack: { required: ['url'], allowed: ['url'] },
  webhook: { required: ['url', 'secret'], allowed: ['url', 'secret'] },
  email: {
    required: ['host', 'from', 'to'],
    allowed: ['host', 'port', 'security', 'username', 'password', 'from', 'to'],
  },
};

const EMAIL = /^[^\s@<>]+@[^\s@<>]+$/;

/**
 * Splits a channel definition into what may be shown (`config`) and what may not
 * (`secrets`), refusing fields that do not belong to its type.
 */
export function parseChannel(input: ChannelInput): NewChannel {
  if (!CHANNEL_TYPES.includes(input.type)) {
    throw invalidInput(`unknown channel type "${input.type}"; use ${CHANNEL_TYPES.join(', ')}`);
  }
  const { required, allowed } = FIELDS[input.type];
  const given = Object.keys(input).filter(
    (k) => k !== 'name' && k !== 'type' && input[k as keyof ChannelInput] !== undefined,
  );
  const stray = given.filter((k) => !allowed.includes(k));
  if (stray.length > 0) {
    throw invalidInput(
      `a ${input.type} channel takes no ${stray.join(', ')}; it takes ${allowed.join(', ')}`,
      { fields: stray },
    );
  }
  const missing = required.filter((k) => !given.includes(k));
  if (missing.length > 0) {
    throw invalidInput(`a ${input.type} channel needs ${missing.join(', ')}`, { fields: missing });
  }
  if (input.type === 'email') {
    const to = input.to ?? [];
    for (const address of [input.from!, ...to]) {
      if (!EMAIL.test(address)) throw invalidInput(`"${address}" is not an email address`);
    }
    if (to.length === 0) throw invalidInput('an email channel needs at least one address in to');
    checkHost('host', input.host!);
    if (input.password !== undefined && input.username === undefined) {
      throw invalidInput('an SMTP password needs a username');
    }
    const security = input.security ?? 'starttls';
    const config: Record<string, unknown> = {
      host: input.host,
      port: input.port ?? (security === 'tls' ? 465 : 587),
      security,
      from: input.from,
      to,
    };
    if (input.username !== undefined) config.username = input.username;
    return {
      name: input.name,
      type: 'email',
      config,
      secrets: input.password === undefined ? {} : { password: input.password },
    };
  }
  const url = checkUrl(input.url!);
  const secrets: Record<string, string> = { url };
  if (input.type === 'webhook') secrets.secret = input.secret!;
  return { name: input.name, type: input.type, config: {}, secrets };
}

function checkUrl(text: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw invalidInput('the channel url is not a valid URL; give the full https://... address');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw invalidInput(`the channel url must be http or https, not ${url.protocol}`);
  }
  if (url.username || url.password) {
    throw invalidInput('put no user or password in the channel url');
  }
  checkHost('url', url.hostname);
  return url.toString();
}

/**
 * Where a channel sends, with its secrets masked: the path and query of a webhook URL
 * (Slack's holds the token), the SMTP password.
 */
export function maskTarget(
  type: ChannelType,
  config: Record<string, unknown>,
  secrets: Record<string, string>,
): string {
  if (type === 'email') {
    const to = (config.to as string[]).join(', ');
    const auth = config.username ? `${String(config.username)}:****@` : '';
    return `smtp://${auth}${String(config.host)}:${String(config.port)} -> ${to}`;
  }
  try {
    return `${new URL(secrets.url ?? '').origin}/****`;
  } catch {
    return '****';
  }
}
