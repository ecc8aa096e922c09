import { S3Client } from '@aws-sdk/client-s3';

/**
 * How the product reaches AWS. Left empty, every field falls back to the SDK's own
 * chain (environment, shared config, instance role), including `AWS_ENDPOINT_URL` and
 * `AWS_ENDPOINT_URL_S3`, so pointing it elsewhere needs no code.
 */
export interface CloudConfig {
  /** Region used when a resource does not name one. */
  defaultRegion?: string;
  /** Endpoint for every service, e.g. the sandbox cloud. */
  endpoint?: string;
  /** Path-style S3 addressing, needed for endpoints on an IP address. */
  s3ForcePathStyle?: boolean;
  /** Static credentials; only the demo and tests set these. */
  credentials?: { accessKeyId: string; secretAccessKey: string };
  /** Total attempts per call, including the first, through the SDK's retry strategy. */
  maxAttempts?: number;
}

export interface CloudClients {
  s3(region: string): S3Client;
  destroy(): void;
}

export function createCloudClients(config: CloudConfig = {}): CloudClients {
  const s3Clients = new Map<string, S3Client>();

  return {
    s3(region) {
      const key = region || config.defaultRegion || '';
      let client = s3Clients.get(key);
      if (!client) {
        client = new S3Client({
          ...(key ? { region: key } : {}),
          ...(config.endpoint ? { endpoint: config.endpoint } : {}),
          ...(config.credentials ? { credentials: config.credentials } : {}),
          forcePathStyle: config.s3ForcePathStyle ?? false,
          maxAttempts: config.maxAttempts ?? 4,
        });
        s3Clients.set(key, client);
      }
      return client;
    },
    destroy() {
      for (const client of s3Clients.values()) client.destroy();
      s3Clients.clear();
    },
  };
}
