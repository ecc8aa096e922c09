import type { SandboxRequest, SandboxResponse } from '../types.ts';
import { checkDigests, ownedBucket } from './access.ts';
import { record } from './config-api.ts';
import type { S3Deps } from './buckets-api.ts';
import { xml } from './buckets-api.ts';
import { accessDenied, malformedPolicy, noBucketPolicy } from './errors.ts';
import { isPublicPolicy } from './public-policy.ts';
import type { Bucket } from './store.ts';
import { tag, xmlDocument } from './xml.ts';

/** S3 allows a bucket policy of at most 20 KB. */
const MAX_POLICY_BYTES = 20 * 1024;

/** The policy document as stored: the JSON text the caller sent, parsed to check it. */
export function parsePolicy(text: string): Record<string, unknown> {
  if (!text.trimStart().startsWith('{')) {
    throw malformedPolicy("Policies must be valid JSON and the first byte must be '{'");
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw malformedPolicy("Policies must be valid JSON and the first byte must be '{'");
  }
  const statements = (doc as { Statement?: unknown }).Statement;
  if (statements === undefined || (Array.isArray(statements) && statements.length === 0)) {
    throw malformedPolicy('Missing required field Statement');
  }
  return doc as Record<string, unknown>;
}

export function getBucketPolicy(req: SandboxRequest, name: string, deps: S3Deps): SandboxResponse {
  const bucket = ownedBucket(req, deps.store, name);
  if (!bucket.policy) throw noBucketPolicy(name);
  // S3 answers the policy document itself, not an XML wrapper.
  return { status: 200, headers: { 'content-type': 'application/json' }, body: bucket.policy };
}

export function putBucketPolicy(req: SandboxRequest, name: string, deps: S3Deps): SandboxResponse {
  const bucket = ownedBucket(req, deps.store, name);
  checkDigests(req);
  if (req.body.length > MAX_POLICY_BYTES) {
    throw malformedPolicy('Policies must be at most 20 KB');
  }
  const text = req.body.toString('utf8');
  const doc = parsePolicy(text);
  // BlockPublicPolicy refuses a public policy outright; an existing one stays.
  if (bucket.publicAccessBlock?.BlockPublicPolicy && isPublicPolicy(doc)) throw accessDenied();
  bucket.policy = text;
  record(deps, bucket, 'PutBucketPolicy', { Policy: text });
  return { status: 204 };
}

export function deleteBucketPolicy(
  req: SandboxRequest,
  name: string,
  deps: S3Deps,
): SandboxResponse {
  const bucket = ownedBucket(req, deps.store, name);
  bucket.policy = null;
  record(deps, bucket, 'DeleteBucketPolicy', {});
  return { status: 204 };
}

export function getBucketPolicyStatus(
  req: SandboxRequest,
  name: string,
  deps: S3Deps,
): SandboxResponse {
  const bucket = ownedBucket(req, deps.store, name);
  if (!bucket.policy) throw noBucketPolicy(name);
  const isPublic = isPublicPolicy(JSON.parse(bucket.policy));
  return xml(xmlDocument('PolicyStatus', tag('IsPublic', isPublic)));
}
