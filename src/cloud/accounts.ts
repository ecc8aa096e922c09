import { readFile } from 'node:fs/promises';
import { fromIni, fromTemporaryCredentials } from '@aws-sdk/credential-providers';
import { parse as parseYaml } from 'yaml';
import { invalidInput } from '../domain/errors.ts';
import { type CloudClients, type CloudConfig, createCloudClients } from './clients.ts';

/** One AWS account the product scans and fixes. */
export interface AwsAccount {
  /** The 12-digit account id. */
  id: string;
  name: string;
  /** A shared-config profile to take credentials from instead of the default chain. */
  profile?: string;
  /** A role to assume, on top of the profile or the default chain. */
  assumeRole?: { roleArn: string; externalId?: string; sessionName?: string };
  regions: string[];
}

/** Kubernetes contexts to scan, from one kubeconfig (the cloud's own when omitted). */
export interface KubeTarget {
  kubeconfig?: string;
  contexts: string[];
}

export interface AccountsConfig {
  aws: AwsAccount[];
  kubernetes: KubeTarget[];
}

const ACCOUNT_ID = /^\d{12}$/;
const REGION = /^[a-z]{2}(-[a-z]+)+-\d{1,2}$/;
const ROLE_ARN = /^arn:aws[a-z-]*:iam::(\d{12}):role\/.+$/;

/** Reads and checks an accounts file (JSON, or YAML for `.yaml`/`.yml`). */
export async function loadAccountsFile(file: string): Promise<AccountsConfig> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw invalidInput(`cannot read the accounts file ${file}: ${(error as Error).message}`);
  }
  let doc: unknown;
  try {
    doc = /\.ya?ml$/i.test(file) ? parseYaml(text) : JSON.parse(text);
  } catch (error) {
    throw invalidInput(`the accounts file ${file} is not valid: ${(error as Error).message}`);
  }
  return parseAccountsConfig(doc, file);
}

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

function only(value: Record<string, unknown>, keys: string[], where: string) {
  for (const key of Object.keys(value)) {
    if (!keys.includes(key)) {
      throw invalidInput(`${where}: unknown field "${key}"; known fields are ${keys.join(', ')}`);
    }
  }
}

function str(value: unknown, where: string): string {
  if (typeof value !== 'string' || value === '') {
    throw invalidInput(`${where} must be a non-empty string, got ${JSON.stringify(value)}`);
  }
  return value;
}

/** Checks a parsed accounts document; every problem names its place in the file. */
export function parseAccountsConfig(doc: unknown, file = 'accounts'): AccountsConfig {
  if (!isRecord(doc)) throw invalidInput(`${file}: must be an object with "aws" and "kubernetes"`);
  only(doc, ['aws', 'kubernetes'], file);
  const awsList = doc.aws ?? [];
  const kubeList = doc.kubernetes ?? [];
  if (!Array.isArray(awsList)) throw invalidInput(`${file}: "aws" must be a list of accounts`);
  if (!Array.isArray(kubeList)) throw invalidInput(`${file}: "kubernetes" must be a list`);
  const seen = new Set<string>();
  const aws = awsList.map((entry, i): AwsAccount => {
    const where = `${file}: aws[${i}]`;
    if (!isRecord(entry)) throw invalidInput(`${where} must be an object`);
    only(entry, ['id', 'name', 'profile', 'assumeRole', 'regions'], where);
    const id = typeof entry.id === 'number' ? String(entry.id) : str(entry.id, `${where}.id`);
    if (!ACCOUNT_ID.test(id)) throw invalidInput(`${where}.id must be a 12-digit account id`);
    if (seen.has(id)) throw invalidInput(`${where}: account ${id} is listed twice`);
    seen.add(id);
    const regions = entry.regions;
    if (!Array.isArray(regions) || regions.length === 0) {
      throw invalidInput(`${where}.regions must list at least one region`);
    }
    for (const region of regions) {
      if (typeof region !== 'string' || !REGION.test(region)) {
        throw invalidInput(`${where}.regions: ${JSON.stringify(region)} is not a region name`);
      }
    }
    const account: AwsAccount = {
      id,
      name: entry.name === undefined ? id : str(entry.name, `${where}.name`),
      regions: [...new Set(regions as string[])],
    };
    if (entry.profile !== undefined) account.profile = str(entry.profile, `${where}.profile`);
    if (entry.assumeRole !== undefined) {
      const role = entry.assumeRole;
      if (!isRecord(role)) throw invalidInput(`${where}.assumeRole must be an object`);
      only(role, ['roleArn', 'externalId', 'sessionName'], `${where}.assumeRole`);
      const roleArn = str(role.roleArn, `${where}.assumeRole.roleArn`);
      const roleAccount = ROLE_ARN.exec(roleArn)?.[1];
      if (!roleAccount) throw invalidInput(`${where}.assumeRole.roleArn is not an IAM role ARN`);
      if (roleAccount !== id) {
        throw invalidInput(
          `${where}.assumeRole.roleArn is a role of account ${roleAccount}, not of ${id}`,
        );
      }
      account.assumeRole = { roleArn };
      if (role.externalId !== undefined) {
        account.assumeRole.externalId = str(role.externalId, `${where}.assumeRole.externalId`);
      }
      if (role.sessionName !== undefined) {
        account.assumeRole.sessionName = str(role.sessionName, `${where}.assumeRole.sessionName`);
      }
    }
    return account;
  });
  const kubernetes = kubeList.map((entry, i): KubeTarget => {
    const where = `${file}: kubernetes[${i}]`;
    if (!isRecord(entry)) throw invalidInput(`${where} must be an object`);
    only(entry, ['kubeconfig', 'contexts'], where);
    const contexts = entry.contexts;
    if (!Array.isArray(contexts) || contexts.length === 0) {
      throw invalidInput(`${where}.contexts must list at least one context name`);
    }
    const target: KubeTarget = {
      contexts: contexts.map((c, j) => str(c, `${where}.contexts[${j}]`)),
    };
    if (entry.kubeconfig !== undefined) {
      target.kubeconfig = str(entry.kubeconfig, `${where}.kubeconfig`);
    }
    return target;
  });
  return { aws, kubernetes };
}

/**
 * The clients for each configured account, built on the same endpoint settings as the
 * default ones; an account without profile or role uses the default chain.
 */
export interface AccountClients {
  /** The clients acting for `account`; the default ones for an account not configured. */
  forAccount(account: string): CloudClients;
  /** The clients for a kubeconfig file; the default ones when undefined. */
  forKubeconfig(kubeconfig: string | undefined): CloudClients;
  /**
   * The clients for a resource: its AWS account's, or for a Kubernetes object those of
   * the kubeconfig the accounts file lists its context under; the default ones otherwise.
   */
  forResource(resource: { provider: 'aws' | 'kubernetes'; account: string }): CloudClients;
  readonly base: CloudClients;
  /** Releases the clients made here, and `base` unless the caller passed it in. */
  destroy(): void;
}

export function createAccountClients(
  cloud: CloudConfig,
  accounts: AccountsConfig | null,
  given?: CloudClients,
): AccountClients {
  const base = given ?? createCloudClients(cloud);
  const made = new Map<string, CloudClients>();
  const byId = new Map((accounts?.aws ?? []).map((a) => [a.id, a]));
  const once = (key: string, make: () => CloudClients) => {
    let clients = made.get(key);
    if (!clients) {
      clients = make();
      made.set(key, clients);
    }
    return clients;
  };
  const forKubeconfig = (kubeconfig: string | undefined) =>
    kubeconfig
      ? once(`kube:${kubeconfig}`, () => createCloudClients({ ...cloud, kubeconfig }))
      : base;
  const forAccount = (id: string) => {
    const account = byId.get(id);
    if (!account || (!account.profile && !account.assumeRole)) return base;
    return once(`aws:${id}`, () =>
      createCloudClients({ ...cloud, credentials: credentials(cloud, account) }),
    );
  };
  return {
    base,
    forAccount,
    forKubeconfig,
    forResource(resource) {
      if (resource.provider === 'aws') return forAccount(resource.account);
      const target = accounts?.kubernetes.find((k) => k.contexts.includes(resource.account));
      return forKubeconfig(target?.kubeconfig);
    },
    destroy() {
      for (const clients of made.values()) clients.destroy();
      made.clear();
      if (!given) base.destroy();
    },
  };
}

function credentials(
  cloud: CloudConfig,
  account: AwsAccount,
): NonNullable<CloudConfig['credentials']> {
  const source = account.profile ? fromIni({ profile: account.profile }) : cloud.credentials;
  if (!account.assumeRole) return source ?? fromIni();
  const role = account.assumeRole;
  return fromTemporaryCredentials({
    params: {
      RoleArn: role.roleArn,
      RoleSessionName: role.sessionName ?? 'infraudit',
      ...(role.externalId ? { ExternalId: role.externalId } : {}),
    },
    ...(source ? { masterCredentials: source } : {}),
    clientConfig: {
      region: cloud.defaultRegion ?? 'us-east-1',
      ...(cloud.endpoint ? { endpoint: cloud.endpoint } : {}),
    },
  });
}
