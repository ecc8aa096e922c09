import { createQueryModule } from '../query/module.ts';
import type { ServiceModule } from '../types.ts';

/** STS, for the one call the product makes: who am I (GetCallerIdentity). */
export function createStsModule(): ServiceModule {
  return createQueryModule({
    name: 'sts',
    style: 'query',
    xmlns: 'https://sts.amazonaws.com/doc/2011-06-15/',
    throttle: { status: 400, code: 'Throttling', message: 'Rate exceeded' },
    operations: {
      GetCallerIdentity: (_params, req) => ({
        Arn: `arn:aws:iam::${req.account}:user/sandbox`,
        UserId: 'AIDASANDBOXUSER000001',
        Account: req.account,
      }),
    },
    load: () => {},
    save: () => {},
  });
}
