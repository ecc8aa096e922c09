import type { IncomingHttpHeaders } from 'node:http';
import type { Signer } from './types.ts';

const CREDENTIAL = /Credential=([^/,\s]+)\/\d{8}\/([^/,\s]+)\/([^/,\s]+)\/aws4_request/;

/**
 * Reads who signed a request and for which region and service from its SigV4
 * credential scope. Signatures are not checked: the sandbox accepts any credentials.
 */
export function readSigner(headers: IncomingHttpHeaders, query: URLSearchParams): Signer | null {
  const auth = headers.authorization;
  const scope = typeof auth === 'string' ? auth : query.get('X-Amz-Credential');
  if (!scope) return null;
  const match = CREDENTIAL.exec(scope.startsWith('AWS4') ? scope : `Credential=${scope}`);
  if (!match) return null;
  return { accessKeyId: match[1] ?? '', region: match[2] ?? '', service: match[3] ?? '' };
}
