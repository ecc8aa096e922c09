import type { ResourceRef } from './action.ts';
import { invalidInput } from './errors.ts';

const ARN =
  /^arn:(aws|aws-cn|aws-us-gov|aws-iso|aws-iso-b):([a-z0-9-]+):([a-z0-9-]*):(\d{12}|aws|):(.+)$/;
const REGION = /^[a-z]{2}(-[a-z]+)+-\d{1,2}$/;
const ACCOUNT = /^\d{12}$/;
/** S3's rules for new bucket names: 3 to 63 lowercase letters, digits, dots and hyphens. */
const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

/**
 * How each resource type's name is read from its ARN. A type listed here must have an
 * ARN of its service, and the name a caller gives must be the one in the ARN: fixes act
 * on the name, so a mismatch would change a different resource than the one reviewed.
 */
const NAMES: Record<string, { service: string; name: (resource: string) => string | null }> = {
  AwsS3Bucket: { service: 's3', name: (r) => (BUCKET.test(r) ? r : null) },
  AwsEc2SecurityGroup: {
    service: 'ec2',
    name: (r) => match(/^security-group\/(sg-[0-9a-f]+)$/, r),
  },
  AwsEc2Instance: { service: 'ec2', name: (r) => match(/^instance\/(i-[0-9a-f]+)$/, r) },
  AwsRdsDbInstance: { service: 'rds', name: (r) => match(/^db:([A-Za-z][A-Za-z0-9-]{0,62})$/, r) },
};

function match(pattern: RegExp, text: string): string | null {
  return pattern.exec(text)?.[1] ?? null;
}

/**
 * Checks an AWS resource reference before an action is made for it, and fills the name
 * from the ARN. Throws `invalid_input` naming the offending field; returns the reference
 * with `name` (and the account and region the ARN states) filled in.
 */
export function checkResource(ref: ResourceRef): ResourceRef {
  if (ref.provider !== 'aws') return ref;
  const match = ARN.exec(ref.id);
  if (!match) {
    throw invalidInput(
      `resource id "${ref.id}" is not an ARN (arn:partition:service:region:account:resource)`,
      { field: 'resource.id' },
    );
  }
  const [, , service, arnRegion, arnAccount, rest] = match as unknown as string[];
  const account = arnAccount && arnAccount !== 'aws' ? arnAccount : ref.account;
  const region = arnRegion || ref.region;
  if (ref.account && arnAccount && arnAccount !== 'aws' && ref.account !== arnAccount) {
    throw invalidInput(
      `resource account "${ref.account}" differs from the account in its ARN "${ref.id}"`,
      { field: 'resource.account' },
    );
  }
  if (ref.region && arnRegion && ref.region !== arnRegion) {
    throw invalidInput(
      `resource region "${ref.region}" differs from the region in its ARN "${ref.id}"`,
      { field: 'resource.region' },
    );
  }
  if (account && !ACCOUNT.test(account)) {
    throw invalidInput(`resource account "${account}" is not a 12-digit AWS account id`, {
      field: 'resource.account',
    });
  }
  if (region && !REGION.test(region)) {
    throw invalidInput(`resource region "${region}" is not an AWS region name`, {
      field: 'resource.region',
    });
  }

  const rule = NAMES[ref.type];
  if (!rule) {
    // Types without a rule take the last segment of the ARN's resource as their name.
    const name = ref.name || (rest as string).split(/[/:]/).pop() || (rest as string);
    return { ...ref, account: account ?? '', region: region ?? '', name };
  }
  const name = service === rule.service ? rule.name(rest as string) : null;
  if (!name) {
    throw invalidInput(`resource id "${ref.id}" is not the ARN of a ${ref.type}`, {
      field: 'resource.id',
    });
  }
  if (ref.name && ref.name !== name) {
    throw invalidInput(
      `resource name "${ref.name}" does not match its ARN "${ref.id}", which names "${name}"; ` +
        'an action changes the resource its ARN names, so the two must agree',
      { field: 'resource.name' },
    );
  }
  return { ...ref, account: account ?? '', region: region ?? '', name };
}
