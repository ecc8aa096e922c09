import { beforeEach, describe, expect, it } from 'vitest';
import { createCatalog } from '../src/catalog/index.ts';
import type { Plan, ResourceRef } from '../src/domain/action.ts';
import { DEFAULT_FIX_OPTIONS } from '../src/domain/fix-options.ts';
import { planFor } from '../src/engine/plan.ts';
import { parseFindingsFile } from '../src/findings/import.ts';
import { fixRequestFor } from '../src/findings/mapping.ts';
import {
  iamFromCredentialReport,
  iamFromListAccessKeys,
  type RawIam,
} from '../src/sandbox/iam/from-aws.ts';
import { newAction } from '../src/service/new-action.ts';
import { type IamWorld, keyContext, putState, startIamWorld } from './helpers/iam.ts';
import { perSuite } from './helpers/world.ts';
import { expectCorpusPresent, readCorpus } from './helpers/findings.ts';

/*
 * The IAM inputs of the shared corpus: raw AWS answers loaded into the sandbox as its
 * starting state, and Security Hub findings, each checked for the actions and plans it
 * must give. A missing corpus fails the suite.
 */

const read = readCorpus;
const catalog = createCatalog();
const rotate = catalog.get('iam.rotate-access-key')!;
const unused = catalog.get('iam.deactivate-unused-access-key')!;

let world: IamWorld;
perSuite(startIamWorld, (started) => {
  world = started;
});

async function load(account: string, iam: RawIam) {
  await putState(world.sandbox, {
    version: 1,
    defaultAccount: account,
    accounts: { [account]: { regions: {}, iam } },
  });
}

const userArn = (account: string, name: string): ResourceRef => ({
  provider: 'aws',
  account,
  region: 'us-east-1',
  type: 'AwsIamUser',
  id: `arn:aws:iam::${account}:user/${name}`,
  name,
});

async function plan(
  fixType: 'rotate' | 'unused',
  resource: ResourceRef,
  params: Record<string, unknown>,
): Promise<Plan> {
  const fix = fixType === 'rotate' ? rotate : unused;
  const { ctx } = keyContext(world, params);
  const state = await fix.read(ctx, resource);
  return planFor(fix, resource, state, { params, options: DEFAULT_FIX_OPTIONS });
}

const targets = (p: Plan) => p.calls.map((c) => c.parameters.AccessKeyId);

describe('IAM corpus', () => {
  it('is present', () => {
    expectCorpusPresent();
  });

  describe('cloud-custodian GetCredentialReport', () => {
    const report = JSON.parse(
      read('cloud-custodian/test_account_credential_report__iam.GetCredentialReport_1.json'),
    );
    const { account, iam } = iamFromCredentialReport(report.data.Content);

    beforeEach(async () => {
      await load(account!, iam);
    });

    it('loads every user once, the root row apart, N/A read as nothing', () => {
      expect(account).toBe('644160558196');
      // 21 rows: the root, and 20 user rows of which christopher's comes twice.
      expect(report.data.Content.trim().split('\n')).toHaveLength(22);
      expect(Object.keys(iam.users)).toHaveLength(19);
      expect(iam.users['<root_account>']).toBeUndefined();
      expect(iam.root.accessKeys).toEqual([]);
      // Listed twice: the row with the key wins over the row without.
      expect(iam.users.christopher?.accessKeys).toEqual([
        expect.objectContaining({ status: 'Active', createDate: '2016-09-14T12:57:54.000Z' }),
      ]);
      expect(iam.users.anthony?.accessKeys).toEqual([]);
      expect(iam.users.calvin?.accessKeys[0]?.lastUsed).toEqual({
        date: '2016-11-15T21:36:00.000Z',
        serviceName: 's3',
        region: 'N/A',
      });
      expect(iam.users['c7n-iam-test']?.accessKeys[0]?.lastUsed).toBeNull();
    });

    it('plans a rotation for a user with one old key, and refuses users at two', async () => {
      const christopher = await plan('rotate', userArn(account!, 'christopher'), {
        maxAgeDays: 90,
      });
      expect(christopher.refusal).toBeNull();
      expect(christopher.calls.map((c) => c.operation)).toEqual([
        'CreateAccessKey',
        'UpdateAccessKey',
      ]);
      const kit = await plan('rotate', userArn(account!, 'kit'), { maxAgeDays: 90 });
      expect(kit.refusal).toMatch(/IAM user kit has two active access keys/);
      const anthony = await plan('rotate', userArn(account!, 'anthony'), { maxAgeDays: 90 });
      expect(anthony.alreadyCompliant).toBe(true);
    });

    it("refuses the root row's keys", async () => {
      const root = await plan(
        'rotate',
        { ...userArn(account!, 'x'), id: `arn:aws:iam::${account}:root`, name: '<root_account>' },
        { maxAgeDays: 90 },
      );
      expect(root.refusal).toMatch(/root user keys cannot be rotated/);
    });

    it('deactivates keys idle since 2016, the never-used ones included', async () => {
      const andrew = await plan('unused', userArn(account!, 'andrew'), { unusedDays: 45 });
      expect(targets(andrew)).toHaveLength(2);
      expect(andrew.warnings[0]).toMatch(/\(never used, created 2016-10-11\)/);
      expect(andrew.warnings[0]).toMatch(/\(last used 2016-10-20/);
      const c7n = await plan('unused', userArn(account!, 'c7n-iam-test'), { unusedDays: 45 });
      expect(targets(c7n)).toEqual([iam.users['c7n-iam-test']?.accessKeys[0]?.accessKeyId]);
    });
  });

  describe('cloud-custodian ListAccessKeys', () => {
    it('refuses to rotate a user with two active keys, oldest first in the plan', async () => {
      const answer = JSON.parse(
        read('cloud-custodian/test_iam_access_key_list__iam.ListAccessKeys_1.json'),
      );
      const iam = iamFromListAccessKeys(answer);
      expect(iam.users['faizan.ahmed']?.accessKeys.map((k) => k.createDate)).toEqual([
        '1990-08-21T19:35:09.000Z',
        '2020-01-21T20:05:55.000Z',
      ]);
      await load('111122223333', iam);
      const p = await plan('rotate', userArn('111122223333', 'faizan.ahmed'), { maxAgeDays: 90 });
      expect(p.refusal).toMatch(
        /two active access keys \(AKIAI5PSD5WUP3AO2OPA and AKIAZL6XWCR2EAE3M5WG\)/,
      );
      const idle = await plan('unused', userArn('111122223333', 'faizan.ahmed'), {
        unusedDays: 45,
      });
      expect(targets(idle)).toEqual(['AKIAI5PSD5WUP3AO2OPA', 'AKIAZL6XWCR2EAE3M5WG']);
    });
  });

  describe('aws-cli docs ListAccessKeys', () => {
    it('names the inactive key to delete before a rotation, and leaves it be', async () => {
      const iam = iamFromListAccessKeys(JSON.parse(read('aws-cli-docs/iam.list-access-keys.json')));
      await load('111122223333', iam);
      const p = await plan('rotate', userArn('111122223333', 'Bob'), { maxAgeDays: 90 });
      expect(p.refusal).toMatch(
        /delete the inactive key AKIAI44QH8DHBEXAMPLE once you are sure nothing needs it/,
      );
      const idle = await plan('unused', userArn('111122223333', 'Bob'), { unusedDays: 90 });
      expect(targets(idle)).toEqual(['AKIAIOSFODNN7EXAMPLE']);
    });
  });

  describe('aws-solutions-asr Security Hub findings', () => {
    it('IAM.3 on a user becomes a rotation of its oldest key', async () => {
      const [finding] = parseFindingsFile(read('aws-solutions-asr/afsbp-iam.3.json')).findings;
      const request = fixRequestFor(finding!);
      expect(request?.type).toBe('iam.rotate-access-key');
      expect(request?.params).toMatchObject({ maxAgeDays: 90 });
      const action = newAction(
        rotate,
        finding!.resource,
        finding!.source,
        finding!.severity,
        request!.params,
      );
      expect(action.title).toBe('Rotate the access key of test-admin2');

      await load('111111111111', {
        users: {
          'test-admin2': {
            userId: 'AIDACKCEVSQ6C2EXAMPLE',
            path: '/',
            createDate: '2020-07-23T16:38:51.000Z',
            accessKeys: [
              {
                accessKeyId: 'AKIAIOSFODNN7EXAMPLE',
                status: 'Active',
                createDate: '2020-07-23T16:40:00.000Z',
                lastUsed: null,
              },
            ],
          },
        },
        root: { accessKeys: [] },
      });
      const p = await plan('rotate', finding!.resource, request!.params);
      expect(p.refusal).toBeNull();
      expect(targets(p)).toEqual([undefined, 'AKIAIOSFODNN7EXAMPLE']);
      expect(p.warnings[0]).toMatch(
        /names user test-admin2 but not a key: this rotates AKIAIOSFODNN7EXAMPLE/,
      );
    });

    it('IAM.8 without details, naming the user by id, becomes a deactivation', async () => {
      const [finding] = parseFindingsFile(
        read('aws-solutions-asr/afsbp-iam.8-nodetails.json'),
      ).findings;
      const request = fixRequestFor(finding!);
      expect(request).toEqual({
        type: 'iam.deactivate-unused-access-key',
        params: { unusedDays: 90 },
      });
      expect(finding!.resource.name).toBe('AIDACKCEVSQ6C2EXAMPLE');

      const iam = iamFromListAccessKeys(JSON.parse(read('aws-cli-docs/iam.list-access-keys.json')));
      iam.users.Bob!.userId = 'AIDACKCEVSQ6C2EXAMPLE';
      await load('111122223333', iam);
      const p = await plan('unused', finding!.resource, request!.params);
      expect(p.before).toMatchObject({ principal: 'user', userName: 'Bob' });
      expect(targets(p)).toEqual(['AKIAIOSFODNN7EXAMPLE']);
    });
  });
});
