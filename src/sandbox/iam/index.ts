import { reader } from '../query/form.ts';
import { createQueryModule, type QueryOperation } from '../query/module.ts';
import type { XmlValue } from '../query/xml.ts';
import type { SandboxRequest, ServiceContext, ServiceModule } from '../types.ts';
import { THROTTLING, validation } from './errors.ts';
import * as account from './account-api.ts';
import * as details from './details-api.ts';
import * as keys from './keys-api.ts';
import { IamStore } from './state.ts';
import * as users from './users-api.ts';
import type { IamDeps } from './users-api.ts';

type Handler = (p: ReturnType<typeof reader>, req: SandboxRequest, deps: IamDeps) => XmlValue;

const HANDLERS: Record<string, Handler> = {
  CreateUser: users.createUser,
  GetUser: users.getUser,
  ListUsers: users.listUsers,
  DeleteUser: users.deleteUser,
  CreateAccessKey: keys.createAccessKey,
  ListAccessKeys: keys.listAccessKeys,
  UpdateAccessKey: keys.updateAccessKey,
  DeleteAccessKey: keys.deleteAccessKey,
  GetAccessKeyLastUsed: keys.getAccessKeyLastUsed,
  ListUserTags: details.listUserTags,
  ListAttachedUserPolicies: details.listAttachedUserPolicies,
  ListUserPolicies: details.listUserPolicies,
  GetAccountSummary: account.getAccountSummary,
};

/**
 * IAM over the query protocol: users and their access keys, global per account
 * (`accounts[id].iam`), with the account root's keys beside them.
 */
export function createIamModule(ctx: ServiceContext): ServiceModule {
  const deps: IamDeps = { store: new IamStore(), ctx };
  const operations: Record<string, QueryOperation> = {};
  for (const [name, handler] of Object.entries(HANDLERS)) {
    // IAM names a bad or missing parameter ValidationError, not InvalidParameterValue.
    operations[name] = (_params, req, raw) => handler(reader(raw, validation), req, deps);
  }
  return createQueryModule({
    name: 'iam',
    style: 'query',
    xmlns: 'https://iam.amazonaws.com/doc/2010-05-08/',
    throttle: THROTTLING,
    operations,
    load: (doc) => deps.store.load(doc, ctx.now()),
    save: (doc) => deps.store.save(doc),
  });
}
