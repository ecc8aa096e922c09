import { seedEc2 } from './ec2/seed.ts';
import { seedIam } from './iam/seed.ts';
import { seedKubernetes } from './k8s/seed.ts';
import { seedRds } from './rds/seed.ts';
import type { BucketState, StateDocument } from './types.ts';

export const DEMO_ACCOUNT = '111122223333';
export const DEMO_REGION = 'us-east-1';

const FULL_BLOCK = {
  BlockPublicAcls: true,
  IgnorePublicAcls: true,
  BlockPublicPolicy: true,
  RestrictPublicBuckets: true,
};

const SSE_S3 = {
  Rules: [
    { ApplyServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' }, BucketKeyEnabled: false },
  ],
};

function sseKms(account: string, keyId: string) {
  return {
    Rules: [
      {
        ApplyServerSideEncryptionByDefault: {
          SSEAlgorithm: 'aws:kms',
          KMSMasterKeyID: `arn:aws:kms:${DEMO_REGION}:${account}:key/${keyId}`,
        },
        BucketKeyEnabled: true,
      },
    ],
  };
}

/**
 * A plausible production account: four buckets each with a known gap, and compliant
 * ones around them. Each flawed bucket is sound apart from its named gaps, so every
 * finding maps to exactly one fix, or to none for the public bucket policy.
 */
export function demoDocument(account = DEMO_ACCOUNT): StateDocument {
  const kms = sseKms(account, '6f1e0c52-9d4b-4c3a-8a57-2e9b1f0d7c41');
  const buckets: Record<string, BucketState> = {
    'finance-exports': bucket('2021-03-14T09:26:53Z', null, FULL_BLOCK, 'Enabled'),
    'public-assets': bucket('2020-11-02T17:45:10Z', SSE_S3, null, 'Enabled'),
    'audit-logs': bucket('2019-06-21T12:00:00Z', kms, FULL_BLOCK, null),
    'ml-training-data': bucket('2022-08-30T08:15:42Z', null, null, 'Suspended'),
    'app-config-prod': bucket('2021-01-05T10:30:00Z', SSE_S3, FULL_BLOCK, 'Enabled'),
    [`cloudtrail-logs-${account}`]: bucket('2019-06-21T11:58:12Z', kms, FULL_BLOCK, 'Enabled'),
    'terraform-state-prod': bucket('2020-02-17T14:07:31Z', kms, FULL_BLOCK, 'Enabled'),
    'customer-uploads-prod': bucket('2022-01-11T16:20:05Z', SSE_S3, FULL_BLOCK, 'Enabled'),
  };
  // Served to the world through a bucket policy, the usual way a static-asset bucket is
  // made public: a recommendation for a person, as no fix rewrites a bucket policy.
  buckets['public-assets']!.policy = JSON.stringify({
    Version: '2012-10-17',
    Statement: [
      {
        Sid: 'PublicRead',
        Effect: 'Allow',
        Principal: '*',
        Action: 's3:GetObject',
        Resource: 'arn:aws:s3:::public-assets/*',
      },
    ],
  });
  const doc: StateDocument = {
    version: 1,
    defaultAccount: account,
    accounts: { [account]: { regions: { [DEMO_REGION]: { s3: { buckets } } } } },
  };
  for (const seed of DEMO_SEEDS) seed(doc, account, DEMO_REGION);
  return doc;
}

/** Adds one service's demo resources to the document. */
export type DemoSeed = (doc: StateDocument, account: string, region: string) => void;

/** The other services' demo resources; each service adds its own seed here. */
const DEMO_SEEDS: DemoSeed[] = [seedEc2, seedRds, seedIam, seedKubernetes];

function bucket(
  createdAt: string,
  encryption: BucketState['encryption'],
  publicAccessBlock: BucketState['publicAccessBlock'],
  versioning: BucketState['versioning'],
): BucketState {
  return {
    createdAt: new Date(createdAt).toISOString(),
    encryption: structuredClone(encryption),
    publicAccessBlock: publicAccessBlock ? { ...publicAccessBlock } : null,
    versioning,
  };
}
