/**
 * Prowler JSON-OCSF findings shaped like the files Prowler writes with
 * `--output-formats json-ocsf` (see the corpus under /work/shared/corpus/prowler).
 */
export interface ProwlerFindingInput {
  check: string;
  bucket: string;
  status?: 'FAIL' | 'PASS' | 'MANUAL';
  severity?: 'Low' | 'Medium' | 'High' | 'Critical' | 'Informational';
  account?: string;
  region?: string;
  /** The resource name the finding states; the bucket's own name unless given. */
  name?: string;
}

export function prowlerFinding(input: ProwlerFindingInput): Record<string, unknown> {
  const account = input.account ?? '111122223333';
  const region = input.region ?? 'us-east-1';
  const status = input.status ?? 'FAIL';
  const arn = `arn:aws:s3:::${input.bucket}`;
  return {
    message: `S3 Bucket ${input.bucket} check ${input.check}: ${status}`,
    metadata: {
      event_code: input.check,
      product: { name: 'Prowler', uid: 'prowler', vendor_name: 'Prowler', version: '5.0.0' },
      profiles: ['cloud', 'datetime'],
      tenant_uid: '',
      version: '1.4.0',
    },
    severity_id: 3,
    severity: input.severity ?? 'Medium',
    status: 'New',
    status_code: status,
    status_detail: `S3 Bucket ${input.bucket}: ${status}`,
    status_id: 1,
    activity_name: 'Create',
    activity_id: 1,
    finding_info: {
      created_time: 1739539623,
      created_time_dt: '2025-02-14T14:27:03.913874',
      desc: `Check ${input.check}`,
      product_uid: 'prowler',
      title: `Check ${input.check}`,
      types: ['Data Protection'],
      uid: `prowler-aws-${input.check}-${account}-${region}-${input.bucket}`,
    },
    resources: [
      {
        cloud_partition: 'aws',
        region,
        data: { details: '', metadata: { arn, name: input.bucket } },
        group: { name: 's3' },
        labels: [],
        name: input.name ?? input.bucket,
        type: 'AwsS3Bucket',
        uid: arn,
      },
    ],
    category_name: 'Findings',
    category_uid: 2,
    class_name: 'Detection Finding',
    class_uid: 2004,
    cloud: {
      account: { name: '', type: 'AWS Account', type_id: 10, uid: account, labels: [] },
      org: { name: '', uid: '' },
      provider: 'aws',
      region,
    },
    time: 1739539623,
    time_dt: '2025-02-14T14:27:03.913874',
    type_uid: 200401,
    type_name: 'Detection Finding: Create',
  };
}

export function prowlerFile(findings: ProwlerFindingInput[]): string {
  return JSON.stringify(findings.map(prowlerFinding), null, 2);
}

export const ENCRYPTION_CHECK = 's3_bucket_default_encryption';
export const ENCRYPTION_FIX = 's3.enable-default-encryption';
