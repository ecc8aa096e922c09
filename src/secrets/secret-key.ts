import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { chmodSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { invalidInput } from '../domain/errors.ts';

/** The file holding the key when INFRAUDIT_SECRET_KEY is not set, in the data folder. */
export const SECRET_KEY_FILE = 'secret.key';

const KEY_BYTES = 32;
const VERSION = 'v1';

/** Reads a base64 AES-256 key, refusing anything that is not exactly 32 bytes. */
export function parseSecretKey(text: string, source: string): Buffer {
  const trimmed = text.trim();
  const key = /^[A-Za-z0-9+/]+={0,2}$/.test(trimmed) ? Buffer.from(trimmed, 'base64') : undefined;
  if (!key || key.length !== KEY_BYTES) {
    throw invalidInput(
      `${source} must be ${KEY_BYTES} random bytes in base64 (44 characters, e.g. from ` +
        '`openssl rand -base64 32`)',
    );
  }
  return key;
}

/**
 * The key channel secrets are encrypted under: the configured one, or the key file in the
 * data folder, generated (0600) on first use unless `generate` is false (then undefined
 * when there is none). Several servers sharing one PostgreSQL database must share the
 * key, which is why the setting exists.
 */
export function loadSecretKey(opts: {
  configured: Buffer | undefined;
  dataDir: string;
  generate: boolean;
  log?: Logger | undefined;
}): Buffer | undefined {
  if (opts.configured) return opts.configured;
  const file = join(opts.dataDir, SECRET_KEY_FILE);
  let text: string | undefined;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  if (text === undefined && !opts.generate) return undefined;
  if (text === undefined) {
    const key = randomBytes(KEY_BYTES);
    try {
      // `wx` so two servers starting together on one folder keep one key.
      writeFileSync(file, `${key.toString('base64')}\n`, { mode: 0o600, flag: 'wx' });
      opts.log?.info({ file }, 'generated the key that encrypts channel secrets');
      return key;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      text = readFileSync(file, 'utf8');
    }
  }
  if ((statSync(file).mode & 0o077) !== 0) {
    chmodSync(file, 0o600);
    opts.log?.warn({ file }, 'the secret key file was readable by others; made it 0600');
  }
  return parseSecretKey(text, `the key file ${file}`);
}

/** AES-256-GCM; `context` (e.g. the channel id) is authenticated, so a sealed value moved to
 * another record does not open. */
export function sealText(key: Buffer, text: string, context: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(context));
  const body = Buffer.concat([cipher.update(text, 'utf8'), cipher.final()]);
  const tag = cipher.getAuthTag();
  return [VERSION, iv, tag, body]
    .map((p) => (typeof p === 'string' ? p : p.toString('base64')))
    .join(':');
}

/** Opens what sealText made; undefined when the key (or the context) is not the one it was
 * sealed with, or the value was altered: never a guess. */
export function openText(key: Buffer, sealed: string, context: string): string | undefined {
  const [version, iv, tag, body] = sealed.split(':');
  if (version !== VERSION || iv === undefined || tag === undefined || body === undefined) {
    return undefined;
  }
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64'), {
      authTagLength: 16,
    });
    decipher.setAAD(Buffer.from(context));
    decipher.setAuthTag(Buffer.from(tag, 'base64'));
    return Buffer.concat([decipher.update(Buffer.from(body, 'base64')), decipher.final()]).toString(
      'utf8',
    );
  } catch {
    return undefined;
  }
}
