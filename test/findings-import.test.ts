import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { NormalizedFinding } from '../src/domain/finding.ts';
import { parseFindingsFile } from '../src/findings/import.ts';
import { positionAt } from '../src/findings/json-text.ts';
import { CHECK_MAPPINGS, fixTypeFor, SUPPORTED_CHECK_IDS } from '../src/findings/mapping.ts';
import { summarize } from '../src/findings/summary.ts';
import { importRefusal } from './helpers/findings.ts';

const repoRoot = path.resolve(import.meta.dirname, '..');
const fixture = (name: string) =>
  readFileSync(path.join(repoRoot, 'test/fixtures/findings', name), 'utf8');

const byCheck = (findings: NormalizedFinding[], checkId: string) => {
  const found = findings.find((f) => f.source.checkId === checkId);
  if (!found) throw new Error(`no finding for ${checkId}`);
  return found;
};

describe('Prowler JSON-OCSF', () => {
  const { format, findings } = parseFindingsFile(fixture('ocsf-mixed.json'));

  it('is recognised by its content and reads every finding', () => {
    expect(format).toBe('prowler-ocsf');
    expect(findings).toHaveLength(6);
  });

  it('turns a FAIL into a failed vulnerability finding on the resource', () => {
    expect(findings[0]).toEqual({
      source: {
        kind: 'vulnerability',
        findingId: 'prowler-aws-s3_bucket_default_encryption-444455556666-eu-west-1-reports-bucket',
        title: 's3 bucket default encryption',
        origin: 'prowler',
        checkId: 's3_bucket_default_encryption',
      },
      status: 'failed',
      severity: 'medium',
      resource: {
        provider: 'aws',
        account: '444455556666',
        region: 'eu-west-1',
        type: 'AwsS3Bucket',
        id: 'arn:aws:s3:::reports-bucket',
        name: 'reports-bucket',
      },
      related: ['CIS-1.4 2.1.1', 'PCI-3.2.1 s3'],
    });
  });

  it('maps PASS and MANUAL, and keeps muted findings out of the failures', () => {
    expect(findings.map((f) => f.status)).toEqual([
      'failed',
      'passed',
      'manual',
      'unknown',
      'failed',
      'failed',
    ]);
    expect(byCheck(findings, 's3_bucket_public_access').severity).toBe('critical');
  });

  it('derives the type, name and region from the ARN and the cloud when not stated', () => {
    const resource = byCheck(findings, 's3_bucket_level_public_access_block').resource;
    expect(resource).toMatchObject({
      type: 'AwsS3Bucket',
      name: 'media-uploads',
      region: 'eu-central-1',
    });
    const account = byCheck(findings, 'account_maintain_current_contact_details').resource;
    expect(account).toMatchObject({ type: 'AwsAccount', name: '444455556666' });
  });

  it('counts what failed and what the catalog can fix', () => {
    expect(summarize(findings, fixTypeFor)).toEqual({
      total: 6,
      failed: 3,
      passed: 1,
      manual: 1,
      other: 1,
      supported: 3,
      unsupported: 0,
    });
  });

  it('refuses findings from another cloud, naming the provider', () => {
    const document = JSON.parse(fixture('ocsf-mixed.json'));
    document[2].cloud.provider = 'azure';
    const error = importRefusal(JSON.stringify(document, null, 2));
    expect(error.message).toMatch(/^findings\[2\]\.cloud\.provider: only AWS findings/);
    expect(error.message).toContain('"azure"');
    expect(error.details).toMatchObject({ path: 'findings[2].cloud.provider', index: 2 });
  });

  it('refuses a lone OCSF object and says to wrap it in an array', () => {
    const single = JSON.stringify(JSON.parse(fixture('ocsf-mixed.json'))[0]);
    expect(importRefusal(single).message).toContain('wrap it in [ ]');
  });
});

describe('the demo findings file', () => {
  const text = readFileSync(path.join(repoRoot, 'examples/demo/s3.ocsf.json'), 'utf8');
  const { format, findings } = parseFindingsFile(text);

  it('imports as Prowler output for the demo account', () => {
    expect(format).toBe('prowler-ocsf');
    expect(new Set(findings.map((f) => f.resource.account))).toEqual(new Set(['111122223333']));
    expect(new Set(findings.map((f) => f.resource.region))).toEqual(new Set(['us-east-1']));
    expect(summarize(findings, fixTypeFor)).toEqual({
      total: 13,
      failed: 8,
      passed: 3,
      manual: 2,
      other: 0,
      supported: 7,
      unsupported: 1,
    });
  });

  it('offers one fix per failed bucket check', () => {
    const fixes = findings
      .filter((f) => f.status === 'failed' && fixTypeFor(f))
      .map((f) => `${f.resource.name} ${fixTypeFor(f)}`);
    expect(fixes.sort()).toEqual([
      'audit-logs s3.enable-versioning',
      'ci-deployer iam.rotate-access-key',
      'finance-exports s3.enable-default-encryption',
      'ml-training-data s3.block-public-access',
      'ml-training-data s3.enable-default-encryption',
      'ml-training-data s3.enable-versioning',
      'public-assets s3.block-public-access',
    ]);
  });
});

describe('Security Hub ASFF', () => {
  const { format, findings } = parseFindingsFile(fixture('asff-envelope.json'));

  it('reads the {"Findings": [...]} envelope', () => {
    expect(format).toBe('asff');
    expect(findings).toHaveLength(10);
    expect(summarize(findings, fixTypeFor)).toEqual({
      total: 10,
      failed: 5,
      passed: 1,
      manual: 0,
      other: 4,
      supported: 3,
      unsupported: 2,
    });
  });

  it('uses the consolidated control id and the Normalized severity', () => {
    const finding = byCheck(findings, 'S3.4');
    expect(finding.source.origin).toBe('securityhub');
    expect(finding.severity).toBe('medium');
    expect(finding.related).toEqual(['NIST.800-53.r5 SC-28', 'PCI DSS v3.2.1/3.4']);
    expect(fixTypeFor(finding)).toBe('s3.enable-default-encryption');
  });

  it('keeps standard-specific ids: PCI as given, CIS rules qualified by benchmark version', () => {
    const pci = byCheck(findings, 'PCI.S3.1');
    expect(fixTypeFor(pci)).toBe('s3.block-public-access');
    const cis = byCheck(findings, 'CIS 1.2.0 2.3');
    expect(cis.related).toEqual([]);
    expect(cis.status).toBe('failed');
    expect(fixTypeFor(cis)).toBeUndefined();
    expect(byCheck(findings, 'S3.8').related).toEqual(['AFSBP S3.8']);
  });

  it('counts archived, suppressed and undecided findings without failing them', () => {
    expect(byCheck(findings, 'S3.2').status).toBe('unknown');
    expect(byCheck(findings, 'S3.14').status).toBe('unknown');
    expect(byCheck(findings, 'S3.5').status).toBe('unknown');
    expect(byCheck(findings, 'S3.3').status).toBe('passed');
  });

  it('names other products by their product name and keeps the account-level check apart', () => {
    const guardDuty = findings.find((f) => f.source.origin === 'guardduty');
    expect(guardDuty?.status).toBe('unknown');
    expect(guardDuty?.resource).toMatchObject({ type: 'AwsIamAccessKey', region: 'eu-west-1' });
    const account = byCheck(findings, 'S3.1');
    expect(account.resource).toMatchObject({ type: 'AwsAccount', name: '444455556666' });
    expect(fixTypeFor(account)).toBeUndefined();
  });

  it("reads Prowler's own json-asff output as Prowler checks", () => {
    const parsed = parseFindingsFile(fixture('asff-prowler.json'));
    expect(parsed.format).toBe('asff');
    expect(parsed.findings.map((f) => [f.source.origin, f.source.checkId, f.status])).toEqual([
      ['prowler', 's3_bucket_object_versioning', 'failed'],
      ['prowler', 'iam_root_mfa_enabled', 'failed'],
      ['prowler', 's3_bucket_default_encryption', 'passed'],
      ['prowler', 's3_bucket_level_public_access_block', 'unknown'],
    ]);
    expect(fixTypeFor(parsed.findings[0]!)).toBe('s3.enable-versioning');
    expect(parsed.findings[1]?.resource.type).toBe('AwsIamUser');
  });

  it('reads a single finding object and prefers SecurityControlId over ControlId', () => {
    const single = JSON.parse(fixture('asff-envelope.json')).Findings[2];
    single.Compliance.SecurityControlId = 'S3.3';
    const parsed = parseFindingsFile(JSON.stringify(single));
    expect(parsed.findings).toHaveLength(1);
    expect(parsed.findings[0]?.source.checkId).toBe('S3.3');
    expect(parsed.findings[0]?.related).toContain('PCI.S3.1');
    expect(fixTypeFor(parsed.findings[0]!)).toBe('s3.block-public-access');
  });

  it('keeps the CIS rule beside the consolidated id, and a version-less CIS rule as is', () => {
    const cis = JSON.parse(fixture('asff-envelope.json')).Findings.find(
      (f: { ProductFields?: { RuleId?: string } }) => f.ProductFields?.RuleId === '2.3',
    );
    const consolidated = {
      ...cis,
      Compliance: { ...cis.Compliance, SecurityControlId: 'CloudTrail.6' },
    };
    const [withControl] = parseFindingsFile(JSON.stringify([consolidated])).findings;
    expect(withControl?.source.checkId).toBe('CloudTrail.6');
    expect(withControl?.related).toEqual(['CIS 1.2.0 2.3']);
    const unversioned = { ...cis, GeneratorId: 'cis-aws-foundations-benchmark/2.3' };
    const [bare] = parseFindingsFile(JSON.stringify([unversioned])).findings;
    expect(bare?.source.checkId).toBe('CIS 2.3');
  });

  it("keeps the resource's Details as the scanner gave them", () => {
    const base = JSON.parse(fixture('asff-envelope.json')).Findings[0];
    const details = { AwsS3Bucket: { OwnerId: 'abc', CreatedAt: '2021-01-01T00:00:00Z' } };
    base.Resources[0].Details = details;
    expect(parseFindingsFile(JSON.stringify([base])).findings[0]?.details).toEqual(details);
    delete base.Resources[0].Details;
    expect(parseFindingsFile(JSON.stringify([base])).findings[0]).not.toHaveProperty('details');
    base.Resources[0].Details = 'none';
    expect(importRefusal(JSON.stringify([base])).message).toMatch(
      /Resources\[0\]\.Details: expected an object/,
    );
  });

  it('falls back to the provider severity, then to informational', () => {
    const base = JSON.parse(fixture('asff-envelope.json')).Findings[0];
    base.Severity = {};
    base.FindingProviderFields = { Severity: { Label: 'LOW' } };
    expect(parseFindingsFile(JSON.stringify([base])).findings[0]?.severity).toBe('low');
    delete base.FindingProviderFields;
    delete base.Severity;
    expect(parseFindingsFile(JSON.stringify([base])).findings[0]?.severity).toBe('informational');
  });
});

describe('detection and encodings', () => {
  it('accepts a byte-order mark and CRLF line ends', () => {
    const text = fixture('bom-crlf.asff.json');
    expect(text.charCodeAt(0)).toBe(0xfeff);
    const parsed = parseFindingsFile(text);
    expect(parsed.format).toBe('asff');
    expect(parsed.findings[0]?.source.checkId).toBe('S3.8');
    const ocsf = parseFindingsFile(`\uFEFF${fixture('ocsf-mixed.json')}`);
    expect(ocsf.findings).toHaveLength(6);
  });

  it('accepts an empty array as zero findings', () => {
    expect(parseFindingsFile(fixture('empty.json'))).toEqual({
      format: 'prowler-ocsf',
      findings: [],
    });
    expect(parseFindingsFile('{"Findings": []}')).toEqual({ format: 'asff', findings: [] });
  });
});

describe('refusals', () => {
  it('refuses a truncated file at its end and says it looks truncated', () => {
    const text = fixture('truncated.ocsf.json');
    const end = positionAt(text, text.trimEnd().length);
    const error = importRefusal(text);
    expect(error.message).toBe(
      `not valid JSON: unexpected end of input at line ${end.line}, column ${end.column} ` +
        '(the file looks truncated); nothing was imported',
    );
    expect(end.line).toBeGreaterThan(100);
    expect(error.details).toMatchObject({ problem: 'truncated', ...end });
  });

  it('refuses a string cut off by the end of the file as truncated', () => {
    expect(importRefusal('[{"status_code": "FA').message).toContain('(the file looks truncated)');
  });

  it('names the line and column of a syntax error', () => {
    const trailing = importRefusal('[\n  {"status_code": "FAIL",}\n]');
    expect(trailing.message).toBe(
      "not valid JSON: trailing comma before '}' at line 2, column 26; nothing was imported",
    );
    expect(trailing.details).toMatchObject({ problem: 'syntax', line: 2, column: 26 });
    const quote = importRefusal("[\n  {'status_code': 'FAIL'}\n]");
    expect(quote.message).toContain("unexpected character, found ''' at line 2, column 4");
    const csv = importRefusal('status,check\nFAIL,s3_bucket_default_encryption\n');
    expect(csv.message).toMatch(/^not valid JSON: .* at line 1, column 1;/);
  });

  it('refuses an empty file', () => {
    expect(importRefusal('  \n').message).toMatch(/^the findings file is empty/);
    expect(importRefusal('\uFEFF').message).toMatch(/^the findings file is empty/);
  });

  it('refuses a finding of the wrong shape with its JSON path and line', () => {
    const text = fixture('wrong-shape.ocsf.json');
    const at = positionAt(text, text.indexOf('"status_code": 3'));
    const error = importRefusal(text);
    expect(error.message).toMatch(
      new RegExp(
        `^findings\\[3\\]\\.status_code: expected a non-empty string, found the number 3 ` +
          `\\(line ${at.line}, column ${at.column}\\);`,
      ),
    );
    expect(error.details).toEqual({
      format: 'prowler-ocsf',
      path: 'findings[3].status_code',
      index: 3,
      line: at.line,
      column: at.column,
    });
  });

  it('refuses an ASFF finding without resources, or without a required field', () => {
    const empty = importRefusal(fixture('wrong-shape.asff.json'));
    expect(empty.message).toMatch(/^Findings\[1\]\.Resources: expected at least one entry/);
    const document = JSON.parse(fixture('asff-envelope.json'));
    delete document.Findings[7].AwsAccountId;
    const missing = importRefusal(JSON.stringify(document, null, 2));
    expect(missing.message).toMatch(
      /^Findings\[7\]\.AwsAccountId: expected a non-empty string, it is missing \(line \d+/,
    );
  });

  it('imports nothing when any one finding is bad', () => {
    const document = JSON.parse(fixture('ocsf-mixed.json'));
    document.push({ ...document[0], resources: [{ name: 'no-uid' }] });
    const error = importRefusal(JSON.stringify(document));
    expect(error.message).toMatch(/^findings\[6\]\.resources\[0\]\.uid: /);
    expect(error.message).toContain('nothing was imported');
  });

  it('says which formats are accepted when the JSON is neither', () => {
    const object = importRefusal(fixture('not-findings.json'));
    expect(object.message).toContain('found an object with Buckets, Owner');
    expect(object.message).toContain('accepted formats are Prowler JSON-OCSF');
    expect(object.message).toContain('AWS Security Finding Format');
    expect(importRefusal('42').message).toContain('the JSON value is a number');
    expect(importRefusal('[{"CheckID": "s3_bucket_default_encryption"}]').message).toMatch(
      /^findings\[0\] is neither a Prowler JSON-OCSF finding .* nor an ASFF finding/,
    );
  });

  it('refuses a recorded API response and points at the findings inside', () => {
    const data = JSON.parse(fixture('asff-envelope.json'));
    const wrapped = JSON.stringify({ status_code: 200, data });
    expect(importRefusal(wrapped).message).toContain('under data.Findings');
  });
});

describe('check mapping', () => {
  const finding = (origin: string, checkId: string, type: string): NormalizedFinding => ({
    source: { kind: 'vulnerability', findingId: 'f-1', title: 't', origin, checkId },
    status: 'failed',
    severity: 'medium',
    resource: { provider: 'aws', account: '1', region: 'r', type, id: 'i', name: 'n' },
    related: [],
  });

  const cases: [string, string, string, string | undefined][] = [
    ['prowler', 's3_bucket_default_encryption', 'AwsS3Bucket', 's3.enable-default-encryption'],
    ['prowler', 's3_bucket_level_public_access_block', 'AwsS3Bucket', 's3.block-public-access'],
    ['prowler', 's3_bucket_public_access', 'AwsS3Bucket', 's3.block-public-access'],
    ['prowler', 's3_bucket_object_versioning', 'AwsS3Bucket', 's3.enable-versioning'],
    ['prowler', 's3_account_level_public_access_blocks', 'AwsAccount', undefined],
    ['prowler', 's3_bucket_default_encryption', 'Other', undefined],
    ['prowler', 'S3.4', 'AwsS3Bucket', undefined],
    ['securityhub', 'S3.4', 'AwsS3Bucket', 's3.enable-default-encryption'],
    ['securityhub', 'PCI.S3.4', 'AwsS3Bucket', 's3.enable-default-encryption'],
    ['securityhub', 'S3.8', 'AwsS3Bucket', 's3.block-public-access'],
    ['securityhub', 'S3.2', 'AwsS3Bucket', 's3.block-public-access'],
    ['securityhub', 'S3.3', 'AwsS3Bucket', 's3.block-public-access'],
    ['securityhub', 'PCI.S3.2', 'AwsS3Bucket', 's3.block-public-access'],
    ['securityhub', 'S3.2', 'AwsAccount', undefined],
    ['securityhub', 'S3.1', 'AwsAccount', undefined],
    ['securityhub', 'PCI.S3.6', 'AwsAccount', undefined],
    ['securityhub', 'S3.14', 'AwsS3Bucket', 's3.enable-versioning'],
    ['securityhub', '2.1.1', 'AwsS3Bucket', undefined],
    ['securityhub', 's3_bucket_default_encryption', 'AwsS3Bucket', undefined],
    ['cloud custodian', 'S3.4', 'AwsS3Bucket', undefined],
  ];

  it.each(cases)('%s %s on %s -> %s', (origin, checkId, type, expected) => {
    expect(fixTypeFor(finding(origin, checkId, type))).toBe(expected);
  });

  it('lists every supported check id once', () => {
    expect([...SUPPORTED_CHECK_IDS].sort()).toEqual(
      [...new Set(CHECK_MAPPINGS.map((row) => row.checkId))].sort(),
    );
    expect(SUPPORTED_CHECK_IDS).toContain('s3_bucket_object_versioning');
    expect(SUPPORTED_CHECK_IDS).toContain('S3.14');
    expect(SUPPORTED_CHECK_IDS).not.toContain('S3.1');
  });
});

describe('summarize', () => {
  it('counts each status and splits failures by whether a fix exists', () => {
    const make = (status: NormalizedFinding['status'], checkId: string): NormalizedFinding => ({
      source: { kind: 'vulnerability', findingId: checkId, title: '', origin: 'x', checkId },
      status,
      severity: 'low',
      resource: { provider: 'aws', account: '', region: '', type: '', id: '', name: '' },
      related: [],
    });
    const findings = [
      make('failed', 'fixable'),
      make('failed', 'other'),
      make('failed', 'fixable'),
      make('passed', 'fixable'),
      make('manual', 'fixable'),
      make('unknown', 'fixable'),
    ];
    const fixFor = (f: NormalizedFinding) => (f.source.checkId === 'fixable' ? 'fix' : undefined);
    expect(summarize(findings, fixFor)).toEqual({
      total: 6,
      failed: 3,
      passed: 1,
      manual: 1,
      other: 1,
      supported: 2,
      unsupported: 1,
    });
    expect(summarize([], fixFor).total).toBe(0);
  });
});

describe('large files', { timeout: 60_000 }, () => {
  const template = JSON.parse(fixture('ocsf-mixed.json'))[0];
  const many = (count: number) =>
    Array.from({ length: count }, (_, i) => ({
      ...template,
      status_code: i % 4 === 0 ? 'PASS' : 'FAIL',
      finding_info: { ...template.finding_info, uid: `finding-${i}` },
      resources: [{ ...template.resources[0], uid: `arn:aws:s3:::bucket-${i}`, name: undefined }],
    }));

  it('reads tens of thousands of findings', () => {
    const text = JSON.stringify(many(30_000), null, 1);
    expect(text.length).toBeGreaterThan(20_000_000);
    const { findings } = parseFindingsFile(text);
    expect(findings).toHaveLength(30_000);
    expect(findings[29_999]?.resource.name).toBe('bucket-29999');
    expect(summarize(findings, fixTypeFor)).toMatchObject({ passed: 7_500, supported: 22_500 });
  });

  it('locates a bad finding near the end of a large file', () => {
    const document = many(30_000);
    document[29_998]!.status_code = null;
    const text = JSON.stringify(document, null, 1);
    const at = positionAt(text, text.lastIndexOf('"status_code": null'));
    expect(importRefusal(text).details).toMatchObject({ index: 29_998, line: at.line });
  });
});
