import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { nameFromId, parseArn, placeOfId, resourceTypeFor } from '../src/findings/aws-resource.ts';

/** `arn:partition:service:region:account:resource`, the resource keeping any further colons. */
function byTheFormat(id: string) {
  const parts = id.split(':');
  if (parts.length < 6 || parts[0] !== 'arn') return undefined;
  const [, partition, service, region, account] = parts as [string, string, string, string, string];
  const resource = parts.slice(5).join(':');
  if (partition === '' || service === '' || resource === '') return undefined;
  return { partition, service, region, account, resource };
}

describe('resource ids', () => {
  it('splits ARNs into their fields', () => {
    expect(parseArn('arn:aws:s3:::my-bucket')).toEqual({
      partition: 'aws',
      service: 's3',
      region: '',
      account: '',
      resource: 'my-bucket',
    });
    expect(parseArn('arn:aws-us-gov:rds:us-gov-west-1:111122223333:db:orders')).toMatchObject({
      partition: 'aws-us-gov',
      region: 'us-gov-west-1',
      account: '111122223333',
      resource: 'db:orders',
    });
    for (const id of ['arn:aws:s3::', 'arn:aws:s3:::', 'arn::s3:::b', 'urn:aws:s3:::b', 'b', '']) {
      expect([id, parseArn(id)]).toEqual([id, undefined]);
    }
  });

  it('reads any text as the ARN format says', () => {
    const piece = fc.stringMatching(/^[a-z0-9:/-]{0,6}$/);
    const text = fc.oneof(
      fc.array(piece, { maxLength: 8 }).map((parts) => ['arn', ...parts].join(':')),
      fc.string(),
    );
    fc.assert(
      fc.property(text, (id) => {
        expect(parseArn(id)).toEqual(byTheFormat(id));
      }),
    );
  });

  it('names, places and types resources from their ARNs', () => {
    const instance = 'arn:aws:ec2:eu-west-1:111122223333:instance/i-0abc';
    expect(placeOfId(instance)).toEqual({ region: 'eu-west-1', account: '111122223333' });
    expect(nameFromId(instance)).toBe('i-0abc');
    expect(resourceTypeFor(undefined, instance)).toBe('AwsEc2Instance');
    expect(nameFromId('arn:aws:s3:::logs')).toBe('logs');
    expect(resourceTypeFor('Other', 'arn:aws:s3:::logs')).toBe('AwsS3Bucket');
    expect(nameFromId('arn:aws:iam::111122223333:root')).toBe('111122223333');
    expect(placeOfId('AWS::::Account:111122223333')).toEqual({ account: '111122223333' });
    expect(resourceTypeFor(undefined, 'not-an-arn')).toBe('Other');
  });
});
