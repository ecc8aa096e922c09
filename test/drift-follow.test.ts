import { describe, expect, it } from 'vitest';
import { actionResourceIds, followActions } from '../src/drift/follow.ts';
import { discovered } from './helpers/resources.ts';

describe('followActions', () => {
  const baseline = {
    config: { versioning: { status: 'Suspended' }, publicAccessBlock: { blockPublicAcls: true } },
    tags: { env: 'prod' },
  };

  it('takes from the live configuration only the keys the actions change', () => {
    const live = discovered(
      'AwsS3Bucket',
      'b',
      { versioning: { status: 'Enabled' }, publicAccessBlock: { blockPublicAcls: false } },
      { env: 'dev' },
    );
    expect(
      followActions(baseline, live, [
        { id: 'a1', type: 's3.enable-versioning', status: 'completed' },
      ]),
    ).toEqual({
      config: { versioning: { status: 'Enabled' }, publicAccessBlock: { blockPublicAcls: true } },
      tags: { env: 'prod' },
    });
  });

  it('moves nothing for a fix that leaves the resource alone, everything for an unknown fix', () => {
    const live = discovered('AwsRdsDbInstance', 'db', { storageEncrypted: false, multiAZ: true });
    const old = { config: { storageEncrypted: false, multiAZ: false }, tags: {} };
    const copy = [{ id: 'a', type: 'rds.enable-storage-encryption', status: 'completed' }];
    expect(followActions(old, live, copy).config).toEqual(old.config);
    const unknown = [{ id: 'a', type: 'vendor.something', status: 'completed' }];
    expect(followActions(old, live, unknown).config).toEqual(live.config);
  });
});

describe('followActions after a rollback', () => {
  const open = { protocol: '-1', cidrIpv4: '0.0.0.0/0' };
  const vpn = { protocol: 'tcp', fromPort: 22, toPort: 22, cidrIpv4: '10.0.0.0/8' };
  const live = discovered('AwsEc2SecurityGroup', 'sg', { ingress: [open, vpn], egress: [] });

  it('never takes the rolled-back live state; without a recorded fix nothing moves', () => {
    const baseline = { config: { ingress: [vpn], egress: [] }, tags: {} };
    const rolled = [{ id: 'a', type: 'ec2.revoke-open-ingress', status: 'rolled_back' }];
    expect(followActions(baseline, live, rolled)).toEqual(baseline);
    const unknown = [{ id: 'a', type: 'vendor.something', status: 'rolled_back' }];
    expect(followActions(baseline, live, unknown)).toEqual(baseline);
  });

  it('puts back the keys the fix changes from the baseline of before the fix', () => {
    const recorded = { config: { ingress: [vpn], egress: [{ protocol: '-1' }] }, tags: {} };
    const before = { config: { ingress: [open, vpn], egress: [] }, tags: { env: 'prod' } };
    const rolled = [{ id: 'a', type: 'ec2.revoke-open-ingress', status: 'rolled_back', before }];
    expect(followActions(recorded, live, rolled)).toEqual({
      config: { ingress: [open, vpn], egress: [{ protocol: '-1' }] },
      tags: {},
    });
  });

  it('applies completed and rolled-back actions in order', () => {
    const baseline = { config: { ingress: [vpn], egress: [] }, tags: {} };
    const before = { config: { ingress: [vpn], egress: [] }, tags: {} };
    const actions = [
      { id: 'a', type: 'ec2.revoke-open-ingress', status: 'completed' },
      { id: 'b', type: 'ec2.revoke-open-ingress', status: 'rolled_back', before },
    ];
    expect(followActions(baseline, live, actions).config.ingress).toEqual([vpn]);
  });
});

describe('actionResourceIds', () => {
  const user = 'arn:aws:iam::111122223333:user/service/deploy-bot';
  const keyId = 'AKIADEMODEPLOYBOT001';

  it('lets an action on the user or on its key reach both', () => {
    const key = {
      ...discovered('AwsIamAccessKey', 'k', { accessKeyId: keyId }),
      id: `${user}/accesskey/${keyId}`,
    };
    expect(actionResourceIds(key)).toEqual([key.id, user, keyId, `AWS::IAM::AccessKey:${keyId}`]);
    const owner = {
      ...discovered('AwsIamUser', 'deploy-bot', { accessKeys: [{ accessKeyId: keyId }] }),
      id: user,
    };
    expect(actionResourceIds(owner)).toEqual([
      user,
      `${user}/accesskey/${keyId}`,
      keyId,
      `AWS::IAM::AccessKey:${keyId}`,
    ]);
    const bucket = discovered('AwsS3Bucket', 'b', {});
    expect(actionResourceIds(bucket)).toEqual([bucket.id]);
  });
});
