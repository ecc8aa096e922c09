import { AppsV1Api, CoreV1Api } from '@kubernetes/client-node';
import { kubeCall } from '../catalog/k8s/kube-api.ts';
import type { AccountClients, AccountsConfig } from '../cloud/accounts.ts';
import type { CloudClients } from '../cloud/clients.ts';
import type { CloudGates } from '../engine/limits.ts';
import { discoverInstance, discoverSecurityGroup } from './aws/ec2.ts';
import { discoverAccount, discoverUser } from './aws/iam.ts';
import { discoverDbInstance } from './aws/rds.ts';
import { IAM_REGION, Reading } from './aws/reading.ts';
import { discoverBucket } from './aws/s3.ts';
import { kubeUnit, namespace, workload } from './discover-k8s.ts';
import { identifyAccount } from './identity.ts';
import { errorCode, type ReadError } from './reads.ts';
import type { DiscoveredResource } from './types.ts';

/**
 * One resource read live. `not_found`: the cloud has no such resource (any more);
 * `unreadable`: a read failed (AccessDenied, throttling...), each in `errors`;
 * `not_configured`: the resource's account or context is not one this server reads.
 */
export type LiveRead =
  | { ok: true; resource: DiscoveredResource }
  | {
      ok: false;
      reason: 'not_found' | 'unreadable' | 'not_configured';
      message: string;
      errors: ReadError[];
    };

export interface LiveReaderOptions {
  clients: AccountClients;
  accounts: AccountsConfig | null;
  defaultRegion: string;
  defaultKubeContext: boolean;
  /** The gates every read passes, as a scan's do. */
  gates: CloudGates;
}

/** The cloud's answers for a resource that does not exist, by service. */
const NOT_FOUND = new Set([
  'NoSuchBucket',
  'InvalidGroup.NotFound',
  'InvalidGroupId.Malformed',
  'InvalidInstanceID.NotFound',
  'InvalidInstanceID.Malformed',
  'NoSuchEntity',
  'DBInstanceNotFound',
  'DBInstanceNotFoundFault',
  'NotFound',
]);

/** What names the resource in its service, and the call that reads it. */
const READ_BY_TYPE: Record<string, { service: string; operation: string }> = {
  AwsS3Bucket: { service: 's3', operation: 'ListBuckets' },
  AwsEc2SecurityGroup: { service: 'ec2', operation: 'DescribeSecurityGroups' },
  AwsEc2Instance: { service: 'ec2', operation: 'DescribeInstances' },
  AwsIamUser: { service: 'iam', operation: 'GetUser' },
  AwsIamAccessKey: { service: 'iam', operation: 'GetUser' },
  AwsRdsDbInstance: { service: 'rds', operation: 'DescribeDBInstances' },
  AwsAccount: { service: 'iam', operation: 'GetAccountSummary' },
  KubernetesDeployment: { service: 'kubernetes', operation: 'readNamespacedDeployment' },
  KubernetesStatefulSet: { service: 'kubernetes', operation: 'readNamespacedStatefulSet' },
  KubernetesDaemonSet: { service: 'kubernetes', operation: 'readNamespacedDaemonSet' },
  KubernetesNamespace: { service: 'kubernetes', operation: 'readNamespace' },
};

const text = (value: unknown, fallback: string) =>
  typeof value === 'string' && value !== '' ? value : fallback;

/**
 * Reads single resources live, through the same code a scan reads them with, so what is
 * recorded from a live read has exactly the shape a scan records. `target` is the resource
 * as the inventory holds it: its envelope and last config say where and what to read.
 */
export function createLiveReader(opts: LiveReaderOptions) {
  function refuse(
    reason: 'not_found' | 'unreadable' | 'not_configured',
    message: string,
    errors: ReadError[] = [],
  ): LiveRead {
    return { ok: false, reason, message, errors };
  }

  async function readAws(target: DiscoveredResource): Promise<LiveRead> {
    const how = READ_BY_TYPE[target.type];
    if (!how) return refuse('not_configured', `no live read for resource type ${target.type}`);
    if (opts.accounts && !opts.accounts.aws.some((a) => a.id === target.account)) {
      return refuse(
        'not_configured',
        `account ${target.account} is not in the accounts file, so ${target.id} cannot be read`,
      );
    }
    const region = target.region || opts.defaultRegion;
    const clients = opts.gates.clientsFor(opts.clients.forAccount(target.account), {
      provider: 'aws',
      account: target.account,
      region: '',
    });
    const identity = await identifyAccount(clients, region, target.account);
    if ('error' in identity) {
      const e = identity.error;
      return refuse('unreadable', `could not read ${target.id} live: ${describe([e])}`, [e]);
    }
    const reading = new Reading({
      provider: 'aws',
      account: target.account,
      region,
      service: how.service,
    });
    let found: DiscoveredResource | null = null;
    try {
      found = await readOneAws(clients, reading, target);
    } catch (error) {
      reading.fail(how.operation, error, target.id);
    }
    return settle(target, reading, found);
  }

  async function readOneAws(
    clients: CloudClients,
    reading: Reading,
    target: DiscoveredResource,
  ): Promise<DiscoveredResource | null> {
    const config = target.config;
    switch (target.type) {
      case 'AwsS3Bucket':
        return discoverBucket(clients, reading, target.region, text(config.name, target.name));
      case 'AwsEc2SecurityGroup':
        return discoverSecurityGroup(clients, reading, text(config.groupId, target.name));
      case 'AwsEc2Instance':
        return discoverInstance(clients, reading, text(config.instanceId, target.name));
      case 'AwsIamUser':
      case 'AwsIamAccessKey': {
        const user = await discoverUser(clients, reading, text(config.userName, target.name));
        return user.find((r) => r.id === target.id) ?? null;
      }
      case 'AwsRdsDbInstance':
        return discoverDbInstance(clients, reading, text(config.dbInstanceIdentifier, target.name));
      case 'AwsAccount':
        return discoverAccount(clients, reading);
      default:
        return null;
    }
  }

  async function readKube(target: DiscoveredResource): Promise<LiveRead> {
    const how = READ_BY_TYPE[target.type];
    if (!how) return refuse('not_configured', `no live read for resource type ${target.type}`);
    const context = target.account;
    const listed = opts.accounts
      ? opts.accounts.kubernetes.some((k) => k.contexts.includes(context))
      : opts.defaultKubeContext;
    if (!listed) {
      return refuse(
        'not_configured',
        `kube context ${context} is not one this server reads, so ${target.id} cannot be read`,
      );
    }
    const where = { provider: 'kubernetes' as const, account: context, region: '' };
    const clients = opts.gates.clientsFor(opts.clients.forResource(where), where);
    const reading = new Reading(kubeUnit(context));
    let found: DiscoveredResource | null = null;
    try {
      const kc = clients.kube(context);
      const apps = kc.makeApiClient(AppsV1Api);
      const core = kc.makeApiClient(CoreV1Api);
      const name = text(target.config.name, target.name);
      const ns = text(target.config.namespace, target.region);
      const what = `${how.operation} ${ns}/${name}`;
      switch (target.type) {
        case 'KubernetesNamespace':
          found = namespace(context, await kubeCall(what, () => core.readNamespace({ name })));
          break;
        case 'KubernetesDeployment': {
          const d = await kubeCall(what, () =>
            apps.readNamespacedDeployment({ name, namespace: ns }),
          );
          found = workload(
            context,
            'Deployment',
            d.metadata,
            d.spec?.template,
            d.spec?.replicas ?? 1,
          );
          break;
        }
        case 'KubernetesStatefulSet': {
          const s = await kubeCall(what, () =>
            apps.readNamespacedStatefulSet({ name, namespace: ns }),
          );
          found = workload(
            context,
            'StatefulSet',
            s.metadata,
            s.spec?.template,
            s.spec?.replicas ?? 1,
          );
          break;
        }
        case 'KubernetesDaemonSet': {
          const d = await kubeCall(what, () =>
            apps.readNamespacedDaemonSet({ name, namespace: ns }),
          );
          found = workload(context, 'DaemonSet', d.metadata, d.spec?.template, null);
          break;
        }
      }
    } catch (error) {
      reading.fail(how.operation, error, target.id);
    }
    return settle(target, reading, found);
  }

  function gone(target: DiscoveredResource, why: string): LiveRead {
    return refuse(
      'not_found',
      `${target.type} ${target.id} no longer exists in ${where(target)} (${why}); ` +
        'run a scan to bring the inventory up to date',
    );
  }

  /** Any failed read, required or optional, refuses: a baseline must not record a guess. */
  function settle(
    target: DiscoveredResource,
    reading: Reading,
    found: DiscoveredResource | null,
  ): LiveRead {
    const missing = reading.errors.find((e) => NOT_FOUND.has(e.code));
    // Deleted between two calls (listed, then NoSuchBucket on a detail): gone, not unreadable.
    if (missing) return gone(target, `${missing.operation} answered ${missing.code}`);
    if (reading.errors.length > 0) {
      return refuse(
        'unreadable',
        `could not read ${target.id} live: ${describe(reading.errors)}`,
        reading.errors,
      );
    }
    if (!found || found.id !== target.id) return gone(target, 'not listed');
    return { ok: true, resource: found };
  }

  return {
    read(target: DiscoveredResource): Promise<LiveRead> {
      return target.provider === 'kubernetes' ? readKube(target) : readAws(target);
    },
  };
}

export type LiveReader = ReturnType<typeof createLiveReader>;

function where(target: DiscoveredResource): string {
  if (target.provider === 'kubernetes') return `kube context ${target.account}`;
  const region =
    target.region === IAM_REGION && target.type.startsWith('AwsIam') ? '' : ` ${target.region}`;
  return `account ${target.account}${region}`;
}

const describe = (errors: ReadError[]) =>
  errors.map((e) => `${e.operation} failed with ${e.code}: ${e.message}`).join('; ');
