import { randomBytes } from 'node:crypto';

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
const SECRET_CHARS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

function pick(alphabet: string, length: number): string {
  const bytes = randomBytes(length);
  let out = '';
  for (const byte of bytes) out += alphabet[byte % alphabet.length];
  return out;
}

/** `AKIA` and 16 characters, as IAM's long-term key ids look. */
export const newAccessKeyId = () => `AKIA${pick(BASE32, 16)}`;

/** `AIDA` and 17 characters, as IAM user ids look. */
export const newUserId = () => `AIDA${pick(BASE32, 17)}`;

/** 40 characters of the base64 alphabet, as IAM's secret access keys look. */
export const newSecretAccessKey = () => pick(SECRET_CHARS, 40);
