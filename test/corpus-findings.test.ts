import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseFindingsFile, type FindingsFormat } from '../src/findings/import.ts';
import { fixTypeFor } from '../src/findings/mapping.ts';
import {
  corpusDir,
  expectCorpusImport,
  expectCorpusPresent,
  importRefusal,
  readCorpus,
} from './helpers/findings.ts';

/*
 * Every Prowler and Security Hub file in the shared corpus of real public inputs, with
 * what importing it must give. A file added to those folders without a line here fails
 * the suite, and so does a missing corpus: these are the formats' ground truth.
 */

interface Imported {
  format: FindingsFormat;
  total: number;
  failed: number;
  passed: number;
  supported: number;
}
interface Refused {
  refused: RegExp;
}

/** One Security Hub sample finding: total, failed, passed, supported. */
const asff = (total: number, failed: number, passed: number, supported: number): Imported => ({
  format: 'asff',
  total,
  failed,
  passed,
  supported,
});

const EXPECTED: Record<string, Imported | Refused> = {
  // Prowler's published sample: account checks with "<region>" style placeholders.
  'prowler/examples__output__example_output_aws.ocsf.json': {
    format: 'prowler-ocsf',
    total: 5,
    failed: 2,
    passed: 0,
    supported: 0,
  },
  // Synthetic data: its S3 "bucket" has the ARN arn:aws:s3:us-west-1:<account>:resource-22,
  // which no bucket has, so it is not taken for a bucket and stays unsupported.
  'prowler/pr9704__test_prowler_output_large_1500__extract.ocsf.json': {
    format: 'prowler-ocsf',
    total: 6,
    failed: 3,
    passed: 1,
    supported: 0,
  },
  'aws-solutions-asr/afsbp-ec2.2.json': asff(1, 1, 0, 0),
  'aws-solutions-asr/afsbp-iam.3.json': asff(1, 1, 0, 1),
  'aws-solutions-asr/afsbp-iam.8-nodetails.json': asff(1, 1, 0, 1),
  'aws-solutions-asr/afsbp-rds.5.json': asff(1, 1, 0, 1),
  // Account-level block public access: no bucket to fix.
  'aws-solutions-asr/afsbp-s3.1.json': asff(1, 1, 0, 0),
  'aws-solutions-asr/afsbp-s3.2.json': asff(1, 0, 1, 0),
  'aws-solutions-asr/afsbp-s3.4.json': asff(1, 1, 0, 1),
  'aws-solutions-asr/afsbp-s3.8.json': asff(1, 1, 0, 1),
  'aws-solutions-asr/cis-41.json': asff(1, 1, 0, 1),
  'aws-solutions-asr/pci-ec2.2.json': asff(1, 1, 0, 0),
  // A botocore recording ({status_code, data}) of GetFindings, not an export.
  'cloud-custodian/test_security_hub_rds__securityhub.GetFindings_1.json': {
    refused: /recorded AWS API response .* under data\.Findings/,
  },
};

const read = readCorpus;

function listJson(folder: string): string[] {
  const dir = path.join(corpusDir, folder);
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((name) => name.endsWith('.json'))
    .map((name) => `${folder}/${name}`);
}

/** The corpus files that are, or claim to be, Prowler or Security Hub findings. */
function findingsFiles(): string[] {
  return [
    ...listJson('prowler'),
    ...listJson('aws-solutions-asr'),
    ...listJson('cloud-custodian').filter((file) => /securityhub/i.test(file)),
  ].sort();
}

describe('findings corpus', () => {
  it('is present', () => {
    expectCorpusPresent();
  });

  it('has an expectation for every Prowler and Security Hub file, and a file for each', () => {
    expect(findingsFiles()).toEqual(Object.keys(EXPECTED).sort());
  });

  it.each(Object.entries(EXPECTED))('%s', (file, expected) => {
    expectCorpusImport(read(file), expected);
  });

  it('maps the bucket findings to the fixes and leaves the rest unsupported', () => {
    const only = (file: string) => {
      const [finding, ...rest] = parseFindingsFile(read(file)).findings;
      expect(rest).toHaveLength(0);
      return finding!;
    };
    const encryption = only('aws-solutions-asr/afsbp-s3.4.json');
    expect(encryption.resource).toMatchObject({
      type: 'AwsS3Bucket',
      name: 'aes-siem-111111111111-snapshot',
      account: '111111111111',
      region: 'us-east-1',
    });
    expect(fixTypeFor(encryption)).toBe('s3.enable-default-encryption');
    expect(fixTypeFor(only('aws-solutions-asr/afsbp-s3.8.json'))).toBe('s3.block-public-access');
    const cis = only('aws-solutions-asr/cis-41.json');
    expect(cis.source).toMatchObject({ origin: 'securityhub', checkId: 'CIS 1.2.0 4.1' });
    expect(cis.related).toEqual([]);
    expect(cis.details?.AwsEc2SecurityGroup).toMatchObject({ GroupId: 'sg-47dddc34c51b4be58' });
    expect(only('aws-solutions-asr/pci-ec2.2.json').source.checkId).toBe('PCI.EC2.2');
    const ec2 = only('aws-solutions-asr/afsbp-ec2.2.json');
    expect(ec2.source.origin).toBe('securityhub');
    expect(ec2.resource.region).toBe('us-east-1');
  });

  it("keeps Prowler's placeholder values as they are", () => {
    const { findings } = parseFindingsFile(
      read('prowler/examples__output__example_output_aws.ocsf.json'),
    );
    expect(findings[0]?.resource).toMatchObject({ region: '<region>', account: '<account_uid>' });
    expect(findings[0]?.source.findingId).toBe('<finding_uid>');
    expect(findings.map((f) => f.status)).toEqual([
      'failed',
      'manual',
      'failed',
      'manual',
      'manual',
    ]);
  });

  it('refuses every other JSON file in the corpus rather than misreading it', () => {
    const findings = new Set(findingsFiles());
    // Kubernetes reports and manifests are findings too: corpus-k8s.test.ts covers them.
    const kubernetes = ['kubescape', 'polaris', 'trivy-operator', 'kube-score', 'kube-bench'];
    const others = readdirSync(corpusDir, { withFileTypes: true })
      .filter((entry) => entry.isDirectory() && !kubernetes.includes(entry.name))
      .flatMap((entry) => listJson(entry.name))
      .filter((file) => !findings.has(file));
    expect(others.length).toBeGreaterThan(20);
    for (const file of others) {
      const error = importRefusal(read(file));
      expect(error.message, file).toMatch(/^(not valid JSON: .* at line \d+|not a findings file)/);
    }
  });
});
