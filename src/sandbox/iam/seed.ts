import type { StateDocument } from '../types.ts';
import type { AccessKeyState, IamAccountState, UserState } from './state.ts';

const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * IAM users with the key problems the demo findings name, dated relative to today so the
 * ages stay true: a service user whose only key is over a year old and in daily use, a
 * user whose key was never used, one whose key went quiet months ago, a user at the
 * two-key limit (its rotation is refused), a key on the account root (refused too), and
 * a person whose key is fine.
 */
export function seedIam(doc: StateDocument, account: string, region: string): void {
  const now = Date.now();
  const ago = (days: number) => new Date(now - days * DAY_MS).toISOString();
  const key = (id: string, created: number, usedDaysAgo: number | null, service = 's3') => ({
    accessKeyId: id,
    status: 'Active',
    createDate: ago(created),
    lastUsed:
      usedDaysAgo === null ? null : { date: ago(usedDaysAgo), serviceName: service, region },
  });
  const user = (userId: string, created: number, keys: object[], path = '/'): UserState => ({
    userId,
    path,
    createDate: ago(created),
    accessKeys: keys as AccessKeyState[],
  });
  const iam: Omit<IamAccountState, 'root'> & { root: object } = {
    users: {
      'deploy-bot': user(
        'AIDADEMODEPLOYBOT0001',
        430,
        [key('AKIADEMODEPLOYBOT001', 412, 1, 'ecr')],
        '/service/',
      ),
      'reporting-etl': user('AIDADEMOREPORTINGETL1', 270, [key('AKIADEMOREPORTETL001', 260, null)]),
      'legacy-ci': user('AIDADEMOLEGACYCI00001', 520, [key('AKIADEMOLEGACYCI0001', 500, 180)]),
      'data-pipeline': user('AIDADEMODATAPIPELINE1', 240, [
        key('AKIADEMODATAPIPE0001', 200, 1, 'glue'),
        key('AKIADEMODATAPIPE0002', 20, 0, 'glue'),
      ]),
      // Named by the rotation finding among the demo's bucket findings.
      'ci-deployer': user('AIDADEMOCIDEPLOYER001', 240, [
        key('AKIADEMOCIDEPLOYER01', 214, 2, 'cloudformation'),
      ]),
      'j.rivera': user('AIDADEMOJRIVERA000001', 60, [key('AKIADEMOJRIVERA00001', 35, 0, 'sts')]),
    },
    root: { createDate: ago(2200), accessKeys: [key('AKIADEMOROOTKEY00001', 700, 300, 'ec2')] },
  };
  const target = (doc.accounts[account] ??= { regions: {} });
  target.iam = iam;
}
