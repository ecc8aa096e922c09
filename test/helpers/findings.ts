import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'vitest';
import { AppError } from '../../src/domain/errors.ts';
import type { FindingReport, NormalizedFinding } from '../../src/domain/finding.ts';
import { parseFindingsFile } from '../../src/findings/import.ts';
import { fixTypeFor } from '../../src/findings/mapping.ts';
import { summarize } from '../../src/findings/summary.ts';

export const repoRoot = path.resolve(import.meta.dirname, '../..');

/** The shared corpus of real public inputs; INFRAUDIT_CORPUS names another copy. */
export const corpusDir = process.env.INFRAUDIT_CORPUS ?? path.resolve(repoRoot, '../shared/corpus');

export const readCorpus = (file: string) => readFileSync(path.join(corpusDir, file), 'utf8');

/** Fails, saying how to point at the corpus, when its folder is not there. */
export function expectCorpusPresent(): void {
  expect(
    existsSync(corpusDir),
    `the corpus directory ${corpusDir} is missing; set INFRAUDIT_CORPUS to its path`,
  ).toBe(true);
}

/**
 * Imports a corpus file and checks it against what is expected of it: refused with a matching
 * message, or imported with this format and these counts, every failed finding either supported
 * or not. Returns the findings, none for a refused file.
 */
export function expectCorpusImport(
  text: string,
  expected: { refused: RegExp } | object,
): NormalizedFinding[] {
  if ('refused' in expected) {
    expect(importRefusal(text).message).toMatch(expected.refused as RegExp);
    return [];
  }
  const { format, findings } = parseFindingsFile(text);
  const counts = summarize(findings, fixTypeFor);
  expect({ format, ...counts }).toMatchObject(expected);
  expect(counts.supported + counts.unsupported).toBe(counts.failed);
  return findings;
}

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

/** The AppError an import refuses a text with; fails the test when the text is accepted. */
export function importRefusal(text: string): AppError {
  try {
    parseFindingsFile(text);
  } catch (error) {
    expect(error).toBeInstanceOf(AppError);
    expect((error as AppError).code).toBe('invalid_input');
    return error as AppError;
  }
  throw new Error('the text was imported, but it should have been refused');
}

let reportCounter = 0;

/** A failed vulnerability report on a bucket of its own, unless one is named. */
export function bucketReport(extra: Partial<FindingReport> = {}, bucket?: string): FindingReport {
  reportCounter += 1;
  const name = bucket ?? `store-bucket-${process.pid}-${reportCounter}`;
  return {
    kind: 'vulnerability',
    origin: 'prowler',
    key: `key-${process.pid}-${reportCounter}`,
    checkId: 's3_bucket_default_encryption',
    standard: 'CIS-1.4',
    controlIds: ['CIS-1.4 2.1.1'],
    title: 'S3 bucket has no default encryption',
    severity: 'high',
    resource: {
      provider: 'aws',
      account: '111122223333',
      region: 'us-east-1',
      type: 'AwsS3Bucket',
      id: `arn:aws:s3:::${name}`,
      name,
      tags: { env: 'prod' },
    },
    state: 'failed',
    evidence: { raw: true },
    remedy: { type: 's3.enable-default-encryption', params: {} },
    ...extra,
  };
}
