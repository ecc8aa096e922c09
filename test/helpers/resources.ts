import type { DiscoveredResource } from '../../src/inventory/types.ts';

/** A discovered resource as discovery would report it; AWS ids are ARN-shaped, k8s ids URLs. */
export function discovered(
  type: string,
  name: string,
  config: Record<string, unknown>,
  tags: Record<string, string> = {},
): DiscoveredResource {
  const aws = type.startsWith('Aws');
  return {
    provider: aws ? 'aws' : 'kubernetes',
    account: aws ? '111122223333' : 'sandbox',
    region: aws ? 'us-east-1' : 'shop',
    type,
    id:
      type === 'AwsS3Bucket'
        ? `arn:aws:s3:::${name}`
        : aws
          ? `arn:aws:x:us-east-1:111122223333:${name}`
          : `k8s://sandbox/shop/${type}/${name}`,
    name,
    tags,
    config,
  };
}

/** A bucket with only its versioning status, tagged env=prod. */
export const versionedBucket = (name: string, versioning = 'Enabled') =>
  discovered(
    'AwsS3Bucket',
    name,
    { name, versioning: { status: versioning, mfaDelete: null } },
    { env: 'prod' },
  );

/** A security group rule as discovery flattens it: TCP 443 from no source until given one. */
export const sgRule = (over: Record<string, unknown>) => ({
  protocol: 'tcp',
  fromPort: 443,
  toPort: 443,
  cidrIpv4: null,
  cidrIpv6: null,
  prefixListId: null,
  groupId: null,
  description: null,
  ...over,
});
