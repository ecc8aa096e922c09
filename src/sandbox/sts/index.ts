import { randomBytes } from 'node:crypto';
import { ApiError } from '../api-error.ts';
import { createQueryModule, invalidParameter } from '../query/module.ts';
import type { ServiceContext, ServiceModule } from '../types.ts';

const ROLE_ARN = /^arn:aws:iam::(\d{12}):role\/(?:[\w+=,.@-]+\/)*([\w+=,.@-]{1,64})$/;
const SESSION_NAME = /^[\w+=,.@-]{2,64}$/;
/**
 * Temporary keys carry their account after the `ASIA` prefix, so any request signed with
 * one acts in the role's account without the sandbox keeping a table of issued keys.
 */
const ASSUMED_KEY = /^ASIA(\d{12})[A-Z0-9]{8}$/;

/** The account an AssumeRole key acts in, or undefined for any other key. */
export function assumedKeyAccount(accessKeyId: string): string | undefined {
  return ASSUMED_KEY.exec(accessKeyId)?.[1];
}

/**
 * STS: who am I (GetCallerIdentity), and AssumeRole into any role of an account the
 * sandbox holds. Roles themselves are not modelled: every role ARN of a known account
 * can be assumed, and an unknown account is refused as AWS refuses a missing role.
 */
export function createStsModule(ctx: Pick<ServiceContext, 'now'>): ServiceModule {
  let accounts = new Set<string>();
  return createQueryModule({
    name: 'sts',
    style: 'query',
    xmlns: 'https://sts.amazonaws.com/doc/2011-06-15/',
    throttle: { status: 400, code: 'Throttling', message: 'Rate exceeded' },
    operations: {
      GetCallerIdentity: (_params, req) => {
        const assumed = req.signer ? assumedKeyAccount(req.signer.accessKeyId) : undefined;
        return {
          Arn: assumed
            ? `arn:aws:sts::${req.account}:assumed-role/sandbox/session`
            : `arn:aws:iam::${req.account}:user/sandbox`,
          UserId: assumed ? `AROASANDBOXROLE00001:session` : 'AIDASANDBOXUSER000001',
          Account: req.account,
        };
      },
      AssumeRole: (params, req) => {
        const roleArn = params.required('RoleArn');
        const sessionName = params.required('RoleSessionName');
        const match = ROLE_ARN.exec(roleArn);
        if (!match) throw invalidParameter(`${roleArn} is invalid`, 'ValidationError');
        if (!SESSION_NAME.test(sessionName)) {
          throw invalidParameter(
            `1 validation error detected: Value '${sessionName}' at 'roleSessionName' failed ` +
              'to satisfy constraint',
            'ValidationError',
          );
        }
        const seconds = params.int('DurationSeconds') ?? 3600;
        if (seconds < 900 || seconds > 43200) {
          throw invalidParameter(
            `1 validation error detected: Value '${seconds}' at 'durationSeconds' failed to ` +
              'satisfy constraint: Member must have value between 900 and 43200',
            'ValidationError',
          );
        }
        const [, account = '', roleName = ''] = match;
        if (!accounts.has(account)) {
          throw new ApiError({
            status: 403,
            code: 'AccessDenied',
            message:
              `User: arn:aws:iam::${req.account}:user/sandbox is not authorized to perform: ` +
              `sts:AssumeRole on resource: ${roleArn}`,
          });
        }
        const suffix = randomBytes(5).toString('hex').toUpperCase().slice(0, 8);
        return {
          Credentials: {
            AccessKeyId: `ASIA${account}${suffix}`,
            SecretAccessKey: randomBytes(30).toString('base64'),
            SessionToken: randomBytes(48).toString('base64'),
            Expiration: new Date(ctx.now().getTime() + seconds * 1000).toISOString(),
          },
          AssumedRoleUser: {
            AssumedRoleId: `AROA${account}SANDBOX:${sessionName}`,
            Arn: `arn:aws:sts::${account}:assumed-role/${roleName}/${sessionName}`,
          },
        };
      },
    },
    load: (doc) => {
      accounts = new Set([doc.defaultAccount, ...Object.keys(doc.accounts)]);
    },
    save: () => {},
  });
}
