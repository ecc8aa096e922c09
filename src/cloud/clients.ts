import { EC2Client } from '@aws-sdk/client-ec2';
import { IAMClient } from '@aws-sdk/client-iam';
import { RDSClient } from '@aws-sdk/client-rds';
import { S3Client } from '@aws-sdk/client-s3';
import { STSClient } from '@aws-sdk/client-sts';
import { KubeConfig } from '@kubernetes/client-node';
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from '@smithy/types';

/**
 * How the product reaches its clouds. Left empty, every field falls back to the SDK's own
 * chain (environment, shared config, instance role), including `AWS_ENDPOINT_URL` and the
 * per-service `AWS_ENDPOINT_URL_<SERVICE>`, and to `KUBECONFIG` or `~/.kube/config`, so
 * pointing it elsewhere needs no code.
 */
export interface CloudConfig {
  /** Region used when a resource does not name one. */
  defaultRegion?: string;
  /** Endpoint for every AWS service, e.g. the sandbox cloud. */
  endpoint?: string;
  /** Path-style S3 addressing, needed for endpoints on an IP address. */
  s3ForcePathStyle?: boolean;
  /**
   * Static credentials (only the demo and tests set these), or a provider such as an
   * assumed role's, which the SDK refreshes on its own.
   */
  credentials?: AwsCredentialIdentity | AwsCredentialIdentityProvider;
  /** Total attempts per call, including the first, through the SDK's retry strategy. */
  maxAttempts?: number;
  /** A kubeconfig file; the standard lookup when omitted. */
  kubeconfig?: string;
}

export interface CloudClients {
  s3(region: string): S3Client;
  ec2(region: string): EC2Client;
  rds(region: string): RDSClient;
  /** IAM is global; its client still signs for a region. */
  iam(): IAMClient;
  sts(region: string): STSClient;
  /** The kubeconfig with `context` selected; fixes build API clients from it. */
  kube(context: string): KubeConfig;
  destroy(): void;
}

interface Destroyable {
  destroy(): void;
}

export function createCloudClients(config: CloudConfig = {}): CloudClients {
  const cache = new Map<string, Destroyable>();
  const common = (region: string) => ({
    ...(region || config.defaultRegion ? { region: region || config.defaultRegion } : {}),
    ...(config.endpoint ? { endpoint: config.endpoint } : {}),
    ...(config.credentials ? { credentials: config.credentials } : {}),
    maxAttempts: config.maxAttempts ?? 4,
  });
  function cached<T extends Destroyable>(key: string, make: () => T): T {
    let client = cache.get(key) as T | undefined;
    if (!client) {
      client = make();
      cache.set(key, client);
    }
    return client;
  }
  const kubeconfigs = new Map<string, KubeConfig>();

  return {
    s3: (region) =>
      cached(
        `s3:${region}`,
        () => new S3Client({ ...common(region), forcePathStyle: config.s3ForcePathStyle ?? false }),
      ),
    ec2: (region) => cached(`ec2:${region}`, () => new EC2Client(common(region))),
    rds: (region) => cached(`rds:${region}`, () => new RDSClient(common(region))),
    iam: () => cached('iam', () => new IAMClient(common('us-east-1'))),
    sts: (region) => cached(`sts:${region}`, () => new STSClient(common(region))),
    kube(context) {
      let kc = kubeconfigs.get(context);
      if (!kc) {
        kc = new KubeConfig();
        if (config.kubeconfig) kc.loadFromFile(config.kubeconfig);
        else kc.loadFromDefault();
        if (context) {
          if (!kc.getContextObject(context)) {
            const known =
              kc
                .getContexts()
                .map((c) => c.name)
                .join(', ') || 'none';
            throw new Error(`no kubeconfig context named "${context}"; known contexts: ${known}`);
          }
          kc.setCurrentContext(context);
        }
        kubeconfigs.set(context, kc);
      }
      return kc;
    },
    destroy() {
      for (const client of cache.values()) client.destroy();
      cache.clear();
      kubeconfigs.clear();
    },
  };
}
