import {
  GetBucketEncryptionCommand,
  GetBucketPolicyStatusCommand,
  GetBucketTaggingCommand,
  GetBucketVersioningCommand,
  GetPublicAccessBlockCommand,
  ListBucketsCommand,
} from '@aws-sdk/client-s3';
import { hasAwsCode, S3_ERROR } from '../../catalog/s3/aws-errors.ts';
import type { CloudClients } from '../../cloud/clients.ts';
import { mapBounded } from '../reads.ts';
import type { DiscoveredResource, S3BucketConfig } from '../types.ts';
import { DETAIL_CONCURRENCY, IAM_REGION, iso, type Reading, tagMap } from './reading.ts';

/** S3's answer to GetBucketPolicyStatus on a bucket that has no policy. */
const NO_BUCKET_POLICY = 'NoSuchBucketPolicy';
const NO_TAG_SET = 'NoSuchTagSet';

/** A bucket as ListBuckets names it: where it lives and when it was made. */
interface ListedBucket {
  name: string;
  region: string;
  created: string | null;
}

export const bucketArn = (name: string) => `arn:aws:s3:::${name}`;

/** Every bucket of the account, or those whose name starts with `prefix`. */
async function listBuckets(
  clients: CloudClients,
  listRegion: string,
  prefix?: string,
): Promise<ListedBucket[]> {
  const buckets: ListedBucket[] = [];
  let token: string | undefined;
  do {
    const page = await clients.s3(listRegion).send(
      new ListBucketsCommand({
        MaxBuckets: 1000,
        ContinuationToken: token,
        ...(prefix ? { Prefix: prefix } : {}),
      }),
    );
    for (const b of page.Buckets ?? []) {
      if (!b.Name) continue;
      buckets.push({
        name: b.Name,
        region: b.BucketRegion || IAM_REGION,
        created: iso(b.CreationDate),
      });
    }
    token = page.ContinuationToken || undefined;
  } while (token);
  return buckets;
}

/** Every bucket of the account, each read in its own region. */
export async function discoverS3(
  clients: CloudClients,
  reading: Reading,
  listRegion: string,
): Promise<(DiscoveredResource | null)[]> {
  const buckets = await listBuckets(clients, listRegion);
  return mapBounded(buckets, DETAIL_CONCURRENCY, (b) => readBucket(clients, reading, b));
}

/** One bucket by name; null when the account has no such bucket. */
export async function discoverBucket(
  clients: CloudClients,
  reading: Reading,
  listRegion: string,
  name: string,
): Promise<DiscoveredResource | null> {
  const listed = (await listBuckets(clients, listRegion, name)).find((b) => b.name === name);
  return listed ? readBucket(clients, reading, listed) : null;
}

async function readBucket(
  clients: CloudClients,
  reading: Reading,
  b: ListedBucket,
): Promise<DiscoveredResource | null> {
  const account = reading.unit.account;
  const id = bucketArn(b.name);
  const s3 = clients.s3(b.region);
  const target = { Bucket: b.name, ExpectedBucketOwner: account };
  const required = async <T>(operation: string, missing: string, read: () => Promise<T>) => {
    try {
      return { ok: true as const, value: await read() };
    } catch (error) {
      if (hasAwsCode(error, missing)) return { ok: true as const, value: null };
      reading.fail(operation, error, id);
      return { ok: false as const };
    }
  };
  const [encryption, block, versioning, policy] = await Promise.all([
    required('GetBucketEncryption', S3_ERROR.noEncryption, () =>
      s3.send(new GetBucketEncryptionCommand(target)),
    ),
    required('GetPublicAccessBlock', S3_ERROR.noPublicAccessBlock, () =>
      s3.send(new GetPublicAccessBlockCommand(target)),
    ),
    required('GetBucketVersioning', '-', () => s3.send(new GetBucketVersioningCommand(target))),
    required('GetBucketPolicyStatus', NO_BUCKET_POLICY, () =>
      s3.send(new GetBucketPolicyStatusCommand(target)),
    ),
  ]);
  // A bucket whose settings could not be read is left out, so no check judges a guess.
  if (!encryption.ok || !block.ok || !versioning.ok || !policy.ok) return null;
  const tagging = await reading.optional('GetBucketTagging', id, async () => {
    try {
      return await s3.send(new GetBucketTaggingCommand(target));
    } catch (error) {
      if (hasAwsCode(error, NO_TAG_SET)) return { TagSet: [] };
      throw error;
    }
  });
  const rules = encryption.value?.ServerSideEncryptionConfiguration?.Rules;
  const pab = block.value?.PublicAccessBlockConfiguration;
  const status = policy.value?.PolicyStatus;
  const config: S3BucketConfig = {
    name: b.name,
    region: b.region,
    created: b.created,
    encryption: rules
      ? {
          rules: rules.map((r) => ({
            sseAlgorithm: r.ApplyServerSideEncryptionByDefault?.SSEAlgorithm ?? '',
            kmsMasterKeyId: r.ApplyServerSideEncryptionByDefault?.KMSMasterKeyID ?? null,
            bucketKeyEnabled: r.BucketKeyEnabled ?? false,
          })),
        }
      : null,
    publicAccessBlock: pab
      ? {
          blockPublicAcls: pab.BlockPublicAcls ?? false,
          ignorePublicAcls: pab.IgnorePublicAcls ?? false,
          blockPublicPolicy: pab.BlockPublicPolicy ?? false,
          restrictPublicBuckets: pab.RestrictPublicBuckets ?? false,
        }
      : null,
    versioning: {
      status: (versioning.value?.Status as 'Enabled' | 'Suspended' | undefined) ?? null,
      mfaDelete: (versioning.value?.MFADelete as 'Enabled' | 'Disabled' | undefined) ?? null,
    },
    // No policy is as private as a policy S3 judges not public.
    policyStatus: { isPublic: status?.IsPublic === true },
    acl: null,
  };
  return {
    provider: 'aws',
    account,
    region: b.region,
    type: 'AwsS3Bucket',
    id,
    name: b.name,
    tags: tagMap(tagging?.TagSet),
    config: { ...config },
    ...(tagging ? {} : { unread: ['tags'] }),
  };
}
