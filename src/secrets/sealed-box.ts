import {
  createCipheriv,
  createDecipheriv,
  createPublicKey,
  diffieHellman,
  generateKeyPairSync,
  hkdfSync,
  type KeyObject,
  randomBytes,
} from 'node:crypto';
import type { SealedSecret } from '../domain/action.ts';
import { invalidInput } from '../domain/errors.ts';

const INFO = Buffer.from('infraudit sealed secret v1');

/**
 * A one-way envelope for secrets the product creates but must not keep, such as a new
 * access key's secret: whoever executes sends an X25519 public key, the engine seals the
 * secret to it, and only the holder of the private key can open it.
 */
export function recipientKeyPair(): { publicKey: string; privateKey: KeyObject } {
  const { publicKey, privateKey } = generateKeyPairSync('x25519');
  return { publicKey: exportKey(publicKey), privateKey };
}

export function parseRecipientKey(value: unknown): KeyObject {
  try {
    if (typeof value !== 'string') throw new Error('not a string');
    const key = createPublicKey({ key: Buffer.from(value, 'base64'), format: 'der', type: 'spki' });
    if (key.asymmetricKeyType !== 'x25519') throw new Error(`key type ${key.asymmetricKeyType}`);
    return key;
  } catch {
    throw invalidInput(
      'recipientKey must be an X25519 public key, SPKI DER in base64 (the CLI makes one for you)',
    );
  }
}

export function seal(name: string, secret: string, recipient: KeyObject): SealedSecret {
  const ephemeral = generateKeyPairSync('x25519');
  const key = deriveKey(diffieHellman({ privateKey: ephemeral.privateKey, publicKey: recipient }));
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(name));
  const ciphertext = Buffer.concat([cipher.update(secret, 'utf8'), cipher.final()]);
  return {
    name,
    ephemeralPublicKey: exportKey(ephemeral.publicKey),
    iv: iv.toString('base64'),
    ciphertext: ciphertext.toString('base64'),
    tag: cipher.getAuthTag().toString('base64'),
  };
}

export function open(sealed: SealedSecret, privateKey: KeyObject): string {
  const publicKey = parseRecipientKey(sealed.ephemeralPublicKey);
  const key = deriveKey(diffieHellman({ privateKey, publicKey }));
  const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(sealed.iv, 'base64'));
  decipher.setAAD(Buffer.from(sealed.name));
  decipher.setAuthTag(Buffer.from(sealed.tag, 'base64'));
  return Buffer.concat([
    decipher.update(Buffer.from(sealed.ciphertext, 'base64')),
    decipher.final(),
  ]).toString('utf8');
}

function deriveKey(shared: Buffer): Buffer {
  return Buffer.from(hkdfSync('sha256', shared, Buffer.alloc(0), INFO, 32));
}

function exportKey(key: KeyObject): string {
  return key.export({ format: 'der', type: 'spki' }).toString('base64');
}
