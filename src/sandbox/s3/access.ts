import { createHash } from 'node:crypto';
import { crc32 } from 'node:zlib';
import type { SandboxRequest } from '../types.ts';
import { accessDenied, badDigest, noSuchBucket, permanentRedirect } from './errors.ts';
import type { Bucket, BucketStore } from './store.ts';

/**
 * The bucket a request names, checked the way S3 checks it: it must exist, belong to
 * the caller's account (and to the expected owner, when one is stated), and be
 * addressed in its own region. A request signed for another region is redirected, which
 * the SDK follows by itself.
 */
export function ownedBucket(
  req: SandboxRequest,
  store: BucketStore,
  name: string,
  { anyRegion = false } = {},
): Bucket {
  const bucket = store.get(name);
  if (!bucket) throw noSuchBucket(name);
  if (bucket.account !== req.account) throw accessDenied();
  const expected = req.headers['x-amz-expected-bucket-owner'];
  if (typeof expected === 'string' && expected !== bucket.account) throw accessDenied();
  if (!anyRegion && req.signer && req.signer.region !== bucket.region) {
    throw permanentRedirect(name, bucket.region);
  }
  return bucket;
}

/** Refuses a body whose Content-MD5 or CRC32 checksum header does not match it. */
export function checkDigests(req: SandboxRequest): void {
  const md5 = req.headers['content-md5'];
  if (typeof md5 === 'string' && md5 !== createHash('md5').update(req.body).digest('base64')) {
    throw badDigest('Content-MD5');
  }
  const sum = req.headers['x-amz-checksum-crc32'];
  if (typeof sum === 'string') {
    const expected = Buffer.alloc(4);
    expected.writeUInt32BE(crc32(req.body));
    if (sum !== expected.toString('base64')) throw badDigest('CRC32');
  }
}
