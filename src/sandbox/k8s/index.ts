import { createHash } from 'node:crypto';
import type {
  Route,
  SandboxRequest,
  SandboxResponse,
  ServiceContext,
  ServiceError,
  ServiceModule,
  StateDocument,
} from '../types.ts';
import { type Cluster, uuidFrom } from './cluster.ts';
import {
  coreVersions,
  group,
  groupList,
  openApiIndex,
  resourceList,
  VERSION_INFO,
} from './discovery.ts';
import {
  internalError,
  KubeError,
  methodNotAllowed,
  noSuchPath,
  tooManyRequests,
} from './errors.ts';
import { type Handlers, resourceHandlers } from './handlers.ts';
import { resourceByPlural, type ResourceInfo } from './resources.ts';
import { DEFAULT_CLUSTER, loadClusters, saveClusters } from './state.ts';

const PATHS = /^\/(api|apis|version|openapi)(\/|$)/;

/** True for the paths the Kubernetes API server answers (requests that are not SigV4-signed). */
export function isKubernetesPath(path: string): boolean {
  return PATHS.test(path);
}

/**
 * A Kubernetes API server subset on the sandbox's port: discovery, namespaces, pods and
 * the apps workloads, with JSON bodies and Status errors, as @kubernetes/client-node and
 * kubectl expect. The bearer token picks the cluster; see docs/sandbox.md.
 */
export function createKubernetesModule(ctx: ServiceContext): ServiceModule {
  let defaultCluster = DEFAULT_CLUSTER;
  let clusters = new Map<string, Cluster>();

  const clusterFor = (req: SandboxRequest): Cluster => {
    const auth = req.headers.authorization;
    const token = typeof auth === 'string' && auth.startsWith('Bearer ') ? auth.slice(7) : '';
    for (const cluster of clusters.values())
      if (token && cluster.tokens.includes(token)) return cluster;
    return clusters.get(defaultCluster) as Cluster;
  };

  return {
    name: 'kubernetes',

    match(req: SandboxRequest): Route {
      const handlers = resourceHandlers(ctx, clusterFor(req));
      return route(req, handlers);
    },

    faultError: (kind) => (kind === 'throttle' ? tooManyRequests() : internalError()),

    renderError(err: ServiceError, req: SandboxRequest): SandboxResponse {
      const status = {
        kind: 'Status',
        apiVersion: 'v1',
        metadata: {},
        status: 'Failure',
        message: err.message,
        reason: err.code,
        ...(err instanceof KubeError && err.details ? { details: err.details } : {}),
        code: err.status,
      };
      const body = req.method === 'HEAD' ? undefined : JSON.stringify(status);
      return {
        status: err.status,
        headers: { ...err.headers, 'content-type': 'application/json' },
        ...(body ? { body } : {}),
      };
    },

    responseHeaders(req: SandboxRequest) {
      const id = createHash('sha256').update(req.requestId).digest('hex');
      return {
        'audit-id': uuidFrom(id),
        'cache-control': 'no-cache, private',
        'x-kubernetes-pf-flowschema-uid': 'a5f3c1e2-0000-4000-8000-000000000001',
        'x-kubernetes-pf-prioritylevel-uid': 'a5f3c1e2-0000-4000-8000-000000000002',
      };
    },

    load(doc: StateDocument) {
      const loaded = loadClusters(doc.kubernetes, ctx.now());
      defaultCluster = loaded.defaultCluster;
      clusters = loaded.clusters;
    },

    save(doc: StateDocument) {
      doc.kubernetes = saveClusters(defaultCluster, clusters);
    },
  };
}

function json(body: unknown): () => SandboxResponse {
  return () => ({
    status: 200,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
}

function failing(operation: string, error: KubeError): Route {
  return {
    operation,
    run: () => {
      throw error;
    },
  };
}

function route(req: SandboxRequest, handlers: Handlers): Route {
  const segments = req.path.split('/').filter((s) => s !== '');
  const [root, ...rest] = segments;
  if (root === 'version' && rest.length === 0) return get(req, 'getCode', json(VERSION_INFO));
  if (root === 'openapi') {
    if (rest.length === 1 && rest[0] === 'v3')
      return get(req, 'getOpenAPIIndex', json(openApiIndex()));
    return failing('getOpenAPI', noSuchPath());
  }
  if (root === 'api') {
    if (rest.length === 0) return get(req, 'getAPIVersions', json(coreVersions(host(req))));
    if (rest[0] !== 'v1') return failing('Unknown', noSuchPath());
    if (rest.length === 1) return get(req, 'getAPIResources', json(resourceList('')));
    return resourceRoute(req, '', rest.slice(1), handlers);
  }
  if (root === 'apis') {
    if (rest.length === 0) return get(req, 'getAPIVersions', json(groupList()));
    if (rest[0] !== 'apps') return failing('Unknown', noSuchPath());
    if (rest.length === 1) return get(req, 'getAPIGroup', json(group()));
    if (rest[1] !== 'v1') return failing('Unknown', noSuchPath());
    if (rest.length === 2) return get(req, 'getAPIResources', json(resourceList('apps')));
    return resourceRoute(req, 'apps', rest.slice(2), handlers);
  }
  return failing('Unknown', noSuchPath());
}

function get(req: SandboxRequest, operation: string, run: () => SandboxResponse): Route {
  return req.method === 'GET' ? { operation, run } : failing(operation, methodNotAllowed());
}

function host(req: SandboxRequest): string {
  return typeof req.headers.host === 'string' ? req.headers.host : '127.0.0.1';
}

/** `/{plural}[/{name}]` and `/namespaces/{ns}/{plural}[/{name}]` under a group version. */
function resourceRoute(
  req: SandboxRequest,
  groupName: '' | 'apps',
  parts: string[],
  handlers: Handlers,
): Route {
  let namespace: string | undefined;
  let res: ResourceInfo | undefined;
  let name: string | undefined;
  const nested =
    parts[0] === 'namespaces' && parts.length >= 3
      ? resourceByPlural(groupName, parts[2] as string)
      : undefined;
  if (nested?.namespaced) {
    namespace = parts[1];
    res = nested;
    if (parts.length > 4) return failing('Unknown', noSuchPath());
    name = parts[3];
  } else {
    res = resourceByPlural(groupName, parts[0] as string);
    if (!res || parts.length > 2 || (parts.length === 2 && res.namespaced)) {
      return failing('Unknown', noSuchPath());
    }
    name = parts[1];
  }
  return handlers.route(req, res, namespace, name);
}
