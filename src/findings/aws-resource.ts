/**
 * What an AWS resource id says about the resource: its kind, its name, its account and
 * region. Scanners do not always state the Security Hub resource type, and never the
 * bucket name on its own, so both are read from the ARN.
 */

export interface Arn {
  partition: string;
  service: string;
  region: string;
  account: string;
  resource: string;
}

/** Splits `arn:partition:service:region:account:resource`; undefined for anything else. */
export function parseArn(id: string): Arn | undefined {
  // Read field by field: an import parses the ARN of every finding, several times each.
  if (!id.startsWith('arn:')) return undefined;
  const fields: string[] = [];
  let from = 4;
  for (let k = 0; k < 4; k++) {
    const to = id.indexOf(':', from);
    if (to === -1) return undefined;
    fields.push(id.slice(from, to));
    from = to + 1;
  }
  const [partition = '', service = '', region = '', account = ''] = fields;
  const resource = id.slice(from);
  if (partition === '' || service === '' || resource === '') return undefined;
  return { partition, service, region, account, resource };
}

/** Security Hub names the account itself `AWS::::Account:<id>`. */
const ACCOUNT_ID = /^AWS::::Account:(.+)$/;

interface ArnKind {
  service: string;
  /** The resource part starts with this. */
  prefix: string;
  type: string;
}

const ARN_KINDS: readonly ArnKind[] = [
  { service: 'ec2', prefix: 'security-group/', type: 'AwsEc2SecurityGroup' },
  { service: 'ec2', prefix: 'instance/', type: 'AwsEc2Instance' },
  { service: 'ec2', prefix: 'volume/', type: 'AwsEc2Volume' },
  { service: 'ec2', prefix: 'vpc/', type: 'AwsEc2Vpc' },
  { service: 'ec2', prefix: 'subnet/', type: 'AwsEc2Subnet' },
  { service: 'ec2', prefix: 'network-acl/', type: 'AwsEc2NetworkAcl' },
  { service: 'ec2', prefix: 'network-interface/', type: 'AwsEc2NetworkInterface' },
  { service: 'iam', prefix: 'user/', type: 'AwsIamUser' },
  { service: 'iam', prefix: 'role/', type: 'AwsIamRole' },
  { service: 'iam', prefix: 'group/', type: 'AwsIamGroup' },
  { service: 'iam', prefix: 'policy/', type: 'AwsIamPolicy' },
  { service: 'rds', prefix: 'db:', type: 'AwsRdsDbInstance' },
  { service: 'rds', prefix: 'cluster:', type: 'AwsRdsDbCluster' },
  { service: 'rds', prefix: 'snapshot:', type: 'AwsRdsDbSnapshot' },
  { service: 'rds', prefix: 'cluster-snapshot:', type: 'AwsRdsDbClusterSnapshot' },
  { service: 'kms', prefix: 'key/', type: 'AwsKmsKey' },
  { service: 'lambda', prefix: 'function:', type: 'AwsLambdaFunction' },
  { service: 'cloudtrail', prefix: 'trail/', type: 'AwsCloudTrailTrail' },
];

/** CloudFormation-style names some exporters use instead of the Security Hub ones. */
const CLOUDFORMATION_TYPES: Readonly<Record<string, string>> = {
  'AWS::S3::Bucket': 'AwsS3Bucket',
  'AWS::EC2::SecurityGroup': 'AwsEc2SecurityGroup',
  'AWS::EC2::Instance': 'AwsEc2Instance',
  'AWS::EC2::Volume': 'AwsEc2Volume',
  'AWS::EC2::VPC': 'AwsEc2Vpc',
  'AWS::IAM::User': 'AwsIamUser',
  'AWS::IAM::Role': 'AwsIamRole',
  'AWS::IAM::AccessKey': 'AwsIamAccessKey',
  'AWS::RDS::DBInstance': 'AwsRdsDbInstance',
  'AWS::RDS::DBCluster': 'AwsRdsDbCluster',
  'AWS::KMS::Key': 'AwsKmsKey',
  'AWS::Lambda::Function': 'AwsLambdaFunction',
  'AWS::CloudTrail::Trail': 'AwsCloudTrailTrail',
  'AWS::::Account': 'AwsAccount',
};

const SECURITY_HUB_TYPE = /^Aws[A-Z0-9]/;

/**
 * The Security Hub resource type for a resource whose scanner gave `stated` (which may
 * be a Security Hub type, a CloudFormation type, a service name or `Other`). A stated
 * Security Hub type is kept; otherwise the ARN decides, and a resource the ARN does not
 * identify stays `Other`: a fix must never act on a resource whose kind was guessed.
 */
export function resourceTypeFor(stated: string | undefined, id: string): string {
  if (stated && SECURITY_HUB_TYPE.test(stated)) return stated;
  const fromCloudFormation = stated ? CLOUDFORMATION_TYPES[stated] : undefined;
  if (fromCloudFormation) return fromCloudFormation;
  return typeFromId(id) ?? 'Other';
}

function typeFromId(id: string): string | undefined {
  if (ACCOUNT_ID.test(id)) return 'AwsAccount';
  const arn = parseArn(id);
  if (!arn) return undefined;
  if (arn.service === 's3') return isBucketArn(arn) ? 'AwsS3Bucket' : undefined;
  if (arn.service === 'iam' && arn.resource === 'root') return 'AwsAccount';
  const kind = ARN_KINDS.find(
    (k) => k.service === arn.service && arn.resource.startsWith(k.prefix),
  );
  return kind?.type;
}

/** Bucket ARNs carry neither region nor account: `arn:aws:s3:::name`. */
function isBucketArn(arn: Arn): boolean {
  return arn.region === '' && arn.account === '' && !arn.resource.includes('/');
}

/**
 * A readable name from a resource id: the bucket name, the last part of an IAM path,
 * the id after `db:`; the account id for the account itself; else the id unchanged.
 */
export function nameFromId(id: string): string {
  const account = ACCOUNT_ID.exec(id);
  if (account?.[1]) return account[1];
  const arn = parseArn(id);
  if (!arn) return id;
  if (arn.service === 's3' && isBucketArn(arn)) return arn.resource;
  if (arn.service === 'iam' && arn.resource === 'root') return arn.account;
  const last = arn.resource.split(/[/:]/).pop();
  return last && last !== '' ? last : arn.resource;
}

/** The region and account written in a resource id, when it has them. */
export function placeOfId(id: string): { region?: string; account?: string } {
  const account = ACCOUNT_ID.exec(id)?.[1];
  if (account) return { account };
  const arn = parseArn(id);
  if (!arn) return {};
  return {
    ...(arn.region !== '' ? { region: arn.region } : {}),
    ...(arn.account !== '' ? { account: arn.account } : {}),
  };
}
