import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { rotateAccessKey } from '../src/catalog/iam/rotate-access-key.ts';
import type { NormalizedFinding } from '../src/domain/finding.ts';
import { parseFindingsFile } from '../src/findings/import.ts';
import { fixRequestFor } from '../src/findings/mapping.ts';
import { iamDocument, type IamWorld, keyContext, putState, startIamWorld } from './helpers/iam.ts';
import { perSuite } from './helpers/world.ts';

const repoRoot = path.resolve(import.meta.dirname, '..');
const CIS_RULESET = 'arn:aws:securityhub:::ruleset/cis-aws-foundations-benchmark';

/** A Security Hub finding on an IAM user, as the ASFF reader gives it. */
function asff(overrides: Record<string, unknown>, resource: Record<string, unknown> = {}) {
  const finding = {
    SchemaVersion: '2018-10-08',
    Id: 'finding-1',
    ProductArn: 'arn:aws:securityhub:us-east-1::product/aws/securityhub',
    GeneratorId: 'aws-foundational-security-best-practices/v/1.0.0/IAM.3',
    AwsAccountId: '111122223333',
    Title: 'keys',
    Severity: { Label: 'MEDIUM' },
    Compliance: { Status: 'FAILED' },
    Resources: [{ Type: 'AwsIamUser', Id: 'arn:aws:iam::111122223333:user/bob', ...resource }],
    ...overrides,
  };
  return parseFindingsFile(JSON.stringify([finding])).findings[0] as NormalizedFinding;
}

describe('IAM finding mapping', () => {
  it('maps CIS rules only with the benchmark version that gives them their meaning', () => {
    const cis = (version: string, rule: string) =>
      fixRequestFor(
        asff({
          GeneratorId: `${CIS_RULESET}/v/${version}/rule/${rule}`,
          ProductFields: { RuleId: rule },
        }),
      );
    expect(cis('1.2.0', '1.4')).toEqual({
      type: 'iam.rotate-access-key',
      params: { maxAgeDays: 90 },
    });
    expect(cis('1.2.0', '1.3')).toEqual({
      type: 'iam.deactivate-unused-access-key',
      params: { unusedDays: 90 },
    });
    expect(cis('1.4.0', '1.12')?.params).toEqual({ unusedDays: 45 });
    expect(cis('1.4.0', '1.14')?.type).toBe('iam.rotate-access-key');
    // In CIS 1.4.0, rule 1.4 is "no root access key": not a rotation.
    expect(cis('1.4.0', '1.4')).toBeUndefined();
  });

  it('passes the user and key the finding details name, never a root or role name', () => {
    const withKey = asff(
      { Compliance: { Status: 'FAILED', SecurityControlId: 'IAM.8' } },
      {
        Type: 'AwsIamAccessKey',
        Details: {
          AwsIamAccessKey: {
            AccessKeyId: 'AKIAIOSFODNN7EXAMPLE',
            PrincipalName: 'bob',
            PrincipalType: 'IAMUser',
          },
        },
      },
    );
    expect(fixRequestFor(withKey)).toEqual({
      type: 'iam.deactivate-unused-access-key',
      params: { unusedDays: 90, userName: 'bob', accessKeyId: 'AKIAIOSFODNN7EXAMPLE' },
    });
    const rootKey = asff(
      {},
      {
        Type: 'AwsIamAccessKey',
        Details: { AwsIamAccessKey: { PrincipalName: 'root', PrincipalType: 'Root' } },
      },
    );
    expect(fixRequestFor(rootKey)?.params).toEqual({ maxAgeDays: 90 });
  });

  it('maps the demo findings of both files', () => {
    const read = (f: string) =>
      parseFindingsFile(readFileSync(path.join(repoRoot, 'examples/demo', f), 'utf8')).findings;
    const requests = [...read('iam.ocsf.json'), ...read('iam.asff.json')].map(
      (f) => `${f.resource.name} ${fixRequestFor(f)?.type}`,
    );
    expect(requests).toEqual([
      'deploy-bot iam.rotate-access-key',
      'data-pipeline iam.rotate-access-key',
      '<root_account> iam.rotate-access-key',
      'legacy-ci/AccessKey1 iam.deactivate-unused-access-key',
      'AIDADEMOREPORTINGETL1 iam.deactivate-unused-access-key',
    ]);
  });
});

describe('a key named by its Security Hub resource id', () => {
  let world: IamWorld;
  perSuite(startIamWorld, (started) => {
    world = started;
  });

  it("is traced to its owner, or to the root for the root's key", async () => {
    await putState(
      world.sandbox,
      iamDocument({ bob: { keys: [{ id: 'AKIABOBKEY0000000001', created: 200 }] } }, [
        { id: 'AKIAROOTKEY000000001', created: 200 },
      ]),
    );
    const ref = (id: string) => ({
      provider: 'aws' as const,
      account: '111122223333',
      region: 'us-east-1',
      type: 'AwsIamAccessKey',
      id: `AWS::IAM::AccessKey:${id}`,
      name: id,
    });
    const { ctx } = keyContext(world);
    expect(await rotateAccessKey.read(ctx, ref('AKIABOBKEY0000000001'))).toMatchObject({
      principal: 'user',
      userName: 'bob',
      namedKeyId: 'AKIABOBKEY0000000001',
    });
    expect(await rotateAccessKey.read(ctx, ref('AKIAROOTKEY000000001'))).toMatchObject({
      principal: 'root',
    });
  });
});
