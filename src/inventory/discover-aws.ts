import type { CloudClients } from '../cloud/clients.ts';
import { discoverEc2 } from './aws/ec2.ts';
import { discoverIam } from './aws/iam.ts';
import { discoverRds } from './aws/rds.ts';
import { GLOBAL_REGION, IAM_REGION, Reading, type UnitResult } from './aws/reading.ts';
import { discoverS3 } from './aws/s3.ts';
import type { ScanUnit } from './reads.ts';

export { GLOBAL_REGION, IAM_REGION, type UnitResult };

export const AWS_SERVICES = ['s3', 'ec2', 'iam', 'rds'] as const;
export type AwsService = (typeof AWS_SERVICES)[number];

/** The units an AWS account is scanned in: S3 and IAM once, EC2 and RDS per region. */
export function awsUnits(account: string, regions: readonly string[]): ScanUnit[] {
  const unit = (service: string, region: string): ScanUnit => ({
    provider: 'aws',
    account,
    region,
    service,
  });
  return [
    unit('s3', GLOBAL_REGION),
    unit('iam', GLOBAL_REGION),
    ...regions.flatMap((r) => [unit('ec2', r), unit('rds', r)]),
  ];
}

/** Discovers one AWS unit. Never throws: every failure is in the result. */
export async function discoverAwsUnit(
  clients: CloudClients,
  unit: ScanUnit,
  regions: readonly string[],
): Promise<UnitResult> {
  const reading = new Reading(unit);
  try {
    switch (unit.service) {
      case 's3':
        return reading.done(await discoverS3(clients, reading, regions[0] ?? IAM_REGION));
      case 'iam':
        return reading.done(await discoverIam(clients, reading));
      case 'ec2':
        return reading.done(await discoverEc2(clients, reading));
      case 'rds':
        return reading.done(await discoverRds(clients, reading));
      default:
        throw new Error(`no discovery for service ${unit.service}`);
    }
  } catch (error) {
    reading.fail(listingOperation(unit.service), error, null);
    return reading.done([]);
  }
}

/** The call that lists a service's resources, named when the listing itself fails. */
export function listingOperation(service: string): string {
  return (
    {
      s3: 'ListBuckets',
      iam: 'ListUsers',
      ec2: 'DescribeSecurityGroups',
      rds: 'DescribeDBInstances',
    }[service] ?? 'list'
  );
}
