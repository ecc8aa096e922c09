import type {
  EncryptionRule,
  PublicAccessBlockConfiguration,
  SandboxRequest,
  SandboxResponse,
} from '../types.ts';
import { checkDigests, ownedBucket } from './access.ts';
import { type S3Deps, xml } from './buckets-api.ts';
import {
  invalidArgument,
  malformedXml,
  noEncryption,
  noPublicAccessBlock,
  noTagSet,
} from './errors.ts';
import { PAB_FLAGS, SSE_ALGORITHMS, type Bucket } from './store.ts';
import { bool, child, onlyKnown, parseBody, tag, text, xmlDocument, type XmlNode } from './xml.ts';

export function getBucketEncryption(req: SandboxRequest, name: string, deps: S3Deps) {
  const bucket = ownedBucket(req, deps.store, name);
  if (!bucket.encryption) throw noEncryption(name);
  const rules = bucket.encryption.Rules.map((rule) => {
    const apply = rule.ApplyServerSideEncryptionByDefault;
    return (
      '<Rule><ApplyServerSideEncryptionByDefault>' +
      tag('SSEAlgorithm', apply.SSEAlgorithm) +
      tag('KMSMasterKeyID', apply.KMSMasterKeyID) +
      '</ApplyServerSideEncryptionByDefault>' +
      tag('BucketKeyEnabled', rule.BucketKeyEnabled ?? false) +
      '</Rule>'
    );
  });
  return xml(xmlDocument('ServerSideEncryptionConfiguration', rules.join('')));
}

export function putBucketEncryption(req: SandboxRequest, name: string, deps: S3Deps) {
  const bucket = ownedBucket(req, deps.store, name);
  checkDigests(req);
  const config = parseBody(req.body, 'ServerSideEncryptionConfiguration');
  onlyKnown(config, ['Rule']);
  const raw = config.Rule;
  // One rule is all S3 keeps; the schema names the element once per rule.
  if (raw === undefined || Array.isArray(raw) || typeof raw !== 'object') throw malformedXml();
  const rule = parseRule(raw);

  bucket.encryption = { Rules: [{ ...rule, BucketKeyEnabled: rule.BucketKeyEnabled ?? false }] };
  record(deps, bucket, 'PutBucketEncryption', {
    ServerSideEncryptionConfiguration: { Rules: [rule] },
  });
  return { status: 200 };
}

function parseRule(node: Record<string, XmlNode | XmlNode[]>): EncryptionRule {
  onlyKnown(node, ['ApplyServerSideEncryptionByDefault', 'BucketKeyEnabled']);
  const apply = child(node, 'ApplyServerSideEncryptionByDefault');
  if (!apply) throw malformedXml();
  onlyKnown(apply, ['SSEAlgorithm', 'KMSMasterKeyID']);
  const algorithm = text(apply, 'SSEAlgorithm');
  if (!SSE_ALGORITHMS.includes(algorithm as (typeof SSE_ALGORITHMS)[number])) {
    throw malformedXml();
  }
  const key = text(apply, 'KMSMasterKeyID');
  if (key !== undefined && algorithm === 'AES256') {
    throw invalidArgument(
      'a KMSMasterKeyID is not applicable if the default sse algorithm is not aws:kms or ' +
        'aws:kms:dsse',
      'ApplyServerSideEncryptionByDefault',
      'null',
    );
  }
  const bucketKey = bool(node, 'BucketKeyEnabled');
  return {
    ApplyServerSideEncryptionByDefault: {
      SSEAlgorithm: algorithm as string,
      ...(key !== undefined ? { KMSMasterKeyID: key } : {}),
    },
    ...(bucketKey !== undefined ? { BucketKeyEnabled: bucketKey } : {}),
  };
}

export function deleteBucketEncryption(req: SandboxRequest, name: string, deps: S3Deps) {
  const bucket = ownedBucket(req, deps.store, name);
  // The sandbox models buckets from before S3 encrypted by default: deleting leaves none.
  bucket.encryption = null;
  record(deps, bucket, 'DeleteBucketEncryption', {});
  return { status: 204 };
}

export function getPublicAccessBlock(req: SandboxRequest, name: string, deps: S3Deps) {
  const bucket = ownedBucket(req, deps.store, name);
  const pab = bucket.publicAccessBlock;
  if (!pab) throw noPublicAccessBlock(name);
  const flags = PAB_FLAGS.map((flag) => tag(flag, pab[flag])).join('');
  return xml(xmlDocument('PublicAccessBlockConfiguration', flags));
}

export function putPublicAccessBlock(req: SandboxRequest, name: string, deps: S3Deps) {
  const bucket = ownedBucket(req, deps.store, name);
  checkDigests(req);
  const config = parseBody(req.body, 'PublicAccessBlockConfiguration');
  onlyKnown(config, PAB_FLAGS);
  const sent: Partial<PublicAccessBlockConfiguration> = {};
  for (const flag of PAB_FLAGS) {
    const value = bool(config, flag);
    if (value !== undefined) sent[flag] = value;
  }

  bucket.publicAccessBlock = {
    BlockPublicAcls: sent.BlockPublicAcls ?? false,
    IgnorePublicAcls: sent.IgnorePublicAcls ?? false,
    BlockPublicPolicy: sent.BlockPublicPolicy ?? false,
    RestrictPublicBuckets: sent.RestrictPublicBuckets ?? false,
  };
  record(deps, bucket, 'PutPublicAccessBlock', { PublicAccessBlockConfiguration: sent });
  return { status: 200 };
}

export function deletePublicAccessBlock(req: SandboxRequest, name: string, deps: S3Deps) {
  const bucket = ownedBucket(req, deps.store, name);
  bucket.publicAccessBlock = null;
  record(deps, bucket, 'DeletePublicAccessBlock', {});
  return { status: 204 };
}

export function getBucketVersioning(req: SandboxRequest, name: string, deps: S3Deps) {
  const bucket = ownedBucket(req, deps.store, name);
  // A bucket that was never versioned answers an empty configuration, not an error.
  return xml(xmlDocument('VersioningConfiguration', tag('Status', bucket.versioning)));
}

export function putBucketVersioning(
  req: SandboxRequest,
  name: string,
  deps: S3Deps,
): SandboxResponse {
  const bucket = ownedBucket(req, deps.store, name);
  checkDigests(req);
  const config = parseBody(req.body, 'VersioningConfiguration');
  onlyKnown(config, ['Status', 'MfaDelete']);
  const status = text(config, 'Status');
  const mfaDelete = text(config, 'MfaDelete');
  if (status !== undefined && status !== 'Enabled' && status !== 'Suspended') throw malformedXml();
  if (mfaDelete !== undefined && mfaDelete !== 'Enabled' && mfaDelete !== 'Disabled') {
    throw malformedXml();
  }
  if (status === undefined && mfaDelete === undefined) throw malformedXml();

  if (status) bucket.versioning = status;
  record(deps, bucket, 'PutBucketVersioning', {
    VersioningConfiguration: {
      ...(status ? { Status: status } : {}),
      ...(mfaDelete ? { MFADelete: mfaDelete } : {}),
    },
  });
  return { status: 200 };
}

/** Records a configuration change to a bucket in the sandbox's mutation log. */
export function record(
  deps: S3Deps,
  bucket: Bucket,
  operation: string,
  params: Record<string, unknown>,
) {
  deps.ctx.record({
    service: 's3',
    operation,
    resource: bucket.name,
    account: bucket.account,
    region: bucket.region,
    params: { Bucket: bucket.name, ...params },
  });
}

/** Tags are read only: the demo and state files set them, nothing the product calls writes them. */
export function getBucketTagging(req: SandboxRequest, name: string, deps: S3Deps) {
  const bucket = ownedBucket(req, deps.store, name);
  const tags = Object.entries(bucket.tags ?? {});
  if (tags.length === 0) throw noTagSet(name);
  const set = tags.map(([k, v]) => `<Tag>${tag('Key', k)}${tag('Value', v)}</Tag>`).join('');
  return xml(xmlDocument('Tagging', `<TagSet>${set}</TagSet>`));
}
