import type { NewAction } from '../../src/store/store.ts';
import type { Severity } from '../../src/domain/status.ts';

let counter = 0;

/** A new S3 action for a bucket; unique per call unless a name is given. */
export function newAction(
  opts: { bucket?: string; type?: string; severity?: Severity; findingId?: string } = {},
): NewAction {
  counter += 1;
  const bucket = opts.bucket ?? `bucket-${process.pid}-${counter}`;
  return {
    type: opts.type ?? 's3.enable-default-encryption',
    title: `Enable default encryption on bucket ${bucket}`,
    resource: {
      provider: 'aws',
      account: '111122223333',
      region: 'us-east-1',
      type: 'AwsS3Bucket',
      id: `arn:aws:s3:::${bucket}`,
      name: bucket,
    },
    source: {
      kind: 'vulnerability',
      findingId: opts.findingId ?? `finding-${counter}`,
      title: 'S3 bucket has no default encryption',
      origin: 'prowler',
      checkId: 's3_bucket_default_encryption',
    },
    severity: opts.severity ?? 'medium',
    risk: 'low',
    plan: {
      before: null,
      after: {},
      calls: [],
      rollbackCalls: [],
      reversibility: { level: 'full' },
      warnings: [],
      refusal: null,
      input: null,
      alreadyCompliant: false,
      error: null,
    },
  };
}
