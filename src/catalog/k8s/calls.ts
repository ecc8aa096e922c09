import type { PlannedCall } from '../../domain/action.ts';
import { AppError } from '../../domain/errors.ts';
import type { FixContext } from '../fix.ts';
import { kubeCall } from './kube-api.ts';
import { kubeSdk } from '../sdk.ts';

/** What every planned Kubernetes call carries: the object, the patch type and the patch. */
export interface PatchParameters extends Record<string, unknown> {
  name: string;
  namespace?: string;
  contentType:
    | 'application/json-patch+json'
    | 'application/merge-patch+json'
    | 'application/strategic-merge-patch+json';
  body: unknown;
}

/**
 * Stands in a planned rollback for the resourceVersion read right before it runs: the
 * rollback is conditioned on the object as it is then, not as it was at planning.
 */
export const LIVE_RESOURCE_VERSION = '(the resourceVersion read right before the rollback)';

export function kubeCallOf(operation: string, parameters: PatchParameters): PlannedCall {
  return { service: 'kubernetes', operation, parameters };
}

/**
 * Makes a planned call through @kubernetes/client-node, exactly as planned, with the
 * kubeconfig context the resource names. Throws the API's refusal (a KubeApiError).
 */
export async function runKubeCall(
  ctx: FixContext,
  context: string,
  call: PlannedCall,
  dryRun = false,
): Promise<{ warnings: string[] }> {
  const { AppsV1Api, CoreV1Api, setHeaderOptions } = await kubeSdk();
  const kc = ctx.clients.kube(context);
  const p = structuredClone(call.parameters) as PatchParameters;
  const options = setHeaderOptions('Content-Type', p.contentType);
  const args = {
    name: p.name,
    namespace: p.namespace ?? '',
    body: p.body,
    ...(dryRun ? { dryRun: 'All' } : {}),
  };
  const what = `${call.operation} ${p.namespace ? `${p.namespace}/` : ''}${p.name}`;
  ctx.log.debug(
    { operation: call.operation, name: p.name, namespace: p.namespace, dryRun },
    'calling kubernetes',
  );
  const apps = () => kc.makeApiClient(AppsV1Api);
  let headers: Record<string, string>;
  switch (call.operation) {
    case 'patchNamespacedDeployment':
      headers = (
        await kubeCall(what, () => apps().patchNamespacedDeploymentWithHttpInfo(args, options))
      ).headers;
      break;
    case 'patchNamespacedStatefulSet':
      headers = (
        await kubeCall(what, () => apps().patchNamespacedStatefulSetWithHttpInfo(args, options))
      ).headers;
      break;
    case 'patchNamespacedDaemonSet':
      headers = (
        await kubeCall(what, () => apps().patchNamespacedDaemonSetWithHttpInfo(args, options))
      ).headers;
      break;
    case 'patchNamespace': {
      const { namespace: _ns, ...nsArgs } = args;
      const core = kc.makeApiClient(CoreV1Api);
      headers = (await kubeCall(what, () => core.patchNamespaceWithHttpInfo(nsArgs, options)))
        .headers;
      break;
    }
    default:
      throw new AppError(
        'unsupported',
        `the Kubernetes fixes cannot make a ${call.service}:${call.operation} call; the plan ` +
          'names an operation no fix in this catalog issues, so it was not made',
      );
  }
  return { warnings: parseWarnings(headers.warning ?? headers.Warning ?? '') };
}

const WARNING = /(\d{3}) (\S+) "((?:[^"\\]|\\.)*)"/g;

/**
 * The texts of `Warning: 299 - "..."` headers. Several warnings arrive joined by commas
 * in one header; each text is quoted, and commas inside it are part of it.
 */
export function parseWarnings(header: string): string[] {
  const out: string[] = [];
  for (const match of header.matchAll(WARNING)) {
    out.push((match[3] ?? '').replace(/\\(.)/g, '$1'));
  }
  return out;
}
