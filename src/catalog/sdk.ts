/**
 * The cloud SDK modules the fixes call, loaded on first use. Mapping findings to fixes
 * needs only the catalog's metadata, and the SDK clients weigh about 170 MB once loaded:
 * an import-only process never pays for them.
 */
let kube: typeof import('@kubernetes/client-node') | undefined;

export const s3Sdk = () => import('@aws-sdk/client-s3');
export const ec2Sdk = () => import('@aws-sdk/client-ec2');
export const iamSdk = () => import('@aws-sdk/client-iam');
export const rdsSdk = () => import('@aws-sdk/client-rds');

export async function kubeSdk(): Promise<typeof import('@kubernetes/client-node')> {
  kube ??= await import('@kubernetes/client-node');
  return kube;
}

/** The Kubernetes client's ApiException; false until `kubeSdk` has loaded the client. */
export function isKubeApiException(
  err: unknown,
): err is InstanceType<typeof import('@kubernetes/client-node').ApiException<unknown>> {
  return kube !== undefined && err instanceof kube.ApiException;
}
