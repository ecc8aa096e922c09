import type { Route, SandboxRequest, SandboxResponse, ServiceContext } from '../types.ts';
import type { Cluster, KubeObject } from './cluster.ts';
import { reconcile } from './controllers.ts';
import {
  badRequest,
  KubeError,
  methodNotAllowed,
  notFound,
  unsupportedMediaType,
  unsupportedValue,
} from './errors.ts';
import { ACCEPTED_PATCH_TYPES, applyPatch, PATCH_TYPES } from './patch.ts';
import { PODS, resourceByKind, type ResourceInfo } from './resources.ts';
import { parseLabelSelector } from './selector.ts';
import { createObject, updateObject, type WriteResult } from './writes.ts';

export interface Handlers {
  route(
    req: SandboxRequest,
    res: ResourceInfo,
    namespace: string | undefined,
    name: string | undefined,
  ): Route;
}

type Verb = 'read' | 'list' | 'create' | 'patch' | 'replace' | 'delete';

/** `readNamespacedPod`, `listPodForAllNamespaces`, `patchNamespace`: client-node's names. */
export function operationName(verb: Verb, res: ResourceInfo, allNamespaces = false): string {
  if (!res.namespaced) return `${verb}${res.kind}`;
  if (verb === 'list' && allNamespaces) return `list${res.kind}ForAllNamespaces`;
  return `${verb}Namespaced${res.kind}`;
}

/** The verbs on one cluster's objects, each answering with JSON or throwing a KubeError. */
export function resourceHandlers(ctx: ServiceContext, cluster: Cluster): Handlers {
  const record = (
    operation: string,
    res: ResourceInfo,
    name: string,
    namespace: string,
    params: Record<string, unknown>,
  ) =>
    ctx.record({
      service: 'kubernetes',
      operation,
      resource: `${res.plural}/${name}`,
      account: cluster.name,
      region: namespace,
      params,
    });

  return {
    route(req, res, namespace, name) {
      const ns = namespace ?? '';
      const item = name !== undefined;
      const m = req.method;
      if (m === 'GET' && item) {
        return op('read', res, () => ok(found(cluster, res, ns, name)));
      }
      if (m === 'GET') {
        return op(
          'list',
          res,
          () => ok(list(cluster, res, namespace, req.query)),
          namespace === undefined,
        );
      }
      if (m === 'POST' && !item && (namespace !== undefined || !res.namespaced)) {
        return op('create', res, (operation) => {
          const body = readJson(req);
          const result = createObject(cluster, res, ns, body, writeOptions(req, ctx));
          if (result.changed) {
            record(operation, res, result.object.metadata.name, ns, {
              ...(res.namespaced ? { namespace: ns } : {}),
              body,
            });
          }
          return written(result, 201);
        });
      }
      if (m === 'PUT' && item) {
        return op('replace', res, (operation) => {
          const body = readJson(req);
          const old = found(cluster, res, ns, name);
          const result = updateObject(cluster, res, old, body, {
            ...writeOptions(req, ctx),
            requireResourceVersion: true,
          });
          if (result.changed)
            record(operation, res, name, ns, {
              name,
              ...(res.namespaced ? { namespace: ns } : {}),
              body,
            });
          return written(result, 200);
        });
      }
      if (m === 'PATCH' && item) {
        return op('patch', res, (operation) => {
          const contentType = mediaType(req);
          if (!Object.values(PATCH_TYPES).includes(contentType as never)) {
            throw unsupportedMediaType(contentType, ACCEPTED_PATCH_TYPES);
          }
          const body = readJson(req);
          const old = found(cluster, res, ns, name);
          const next = applyPatch(contentType, old, body);
          const result = updateObject(cluster, res, old, next, {
            ...writeOptions(req, ctx),
            requireResourceVersion: false,
          });
          if (result.changed) {
            record(operation, res, name, ns, {
              name,
              ...(res.namespaced ? { namespace: ns } : {}),
              contentType,
              body,
            });
          }
          return written(result, 200);
        });
      }
      if (m === 'DELETE' && item && res === PODS) {
        return op('delete', res, (operation) => {
          const pod = found(cluster, res, ns, name);
          if (!dryRun(req)) {
            cluster.delete(PODS, ns, name);
            record(operation, res, name, ns, { name, namespace: ns });
            recreateOwned(cluster, pod, ctx.now());
          }
          return ok(pod);
        });
      }
      return {
        operation: 'Unsupported',
        run: () => {
          throw methodNotAllowed();
        },
      };
    },
  };
}

function op(
  verb: Verb,
  res: ResourceInfo,
  run: (operation: string) => SandboxResponse,
  all = false,
): Route {
  const operation = operationName(verb, res, all);
  return { operation, run: () => run(operation) };
}

function found(cluster: Cluster, res: ResourceInfo, namespace: string, name: string): KubeObject {
  const object = cluster.get(res, namespace, name);
  if (!object) throw notFound(res, name);
  return object;
}

function ok(body: unknown, status = 200): SandboxResponse {
  return { status, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) };
}

/** The object, with warnings as `Warning: 299 - "..."` headers, as the API server sends them. */
function written(result: WriteResult, status: number): SandboxResponse {
  const response = ok(result.object, status);
  if (result.warnings.length > 0) {
    const quoted = result.warnings.map(
      (w) => `299 - "${w.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`,
    );
    response.headers = { ...response.headers, warning: quoted.join(', ') };
  }
  return response;
}

function list(
  cluster: Cluster,
  res: ResourceInfo,
  namespace: string | undefined,
  query: URLSearchParams,
) {
  if (query.get('watch') === 'true' || query.get('watch') === '1') {
    throw badRequest('the sandbox API server does not serve watches; list instead');
  }
  const labels = parseLabelSelector(query.get('labelSelector') ?? '');
  const fields = parseFieldSelector(res, query.get('fieldSelector') ?? '');
  const items = cluster
    .list(res, namespace)
    .filter((o) => labels(o.metadata.labels) && fields(o))
    .map(({ apiVersion: _a, kind: _k, ...rest }) => rest);
  return {
    kind: `${res.kind}List`,
    apiVersion: res.group ? `${res.group}/${res.version}` : res.version,
    metadata: { resourceVersion: String(cluster.revision) },
    items,
  };
}

const FIELDS: Record<string, (o: KubeObject) => string> = {
  'metadata.name': (o) => o.metadata.name,
  'metadata.namespace': (o) => o.metadata.namespace ?? '',
  'spec.nodeName': (o) => String(o.spec?.nodeName ?? ''),
  'status.phase': (o) => String(o.status?.phase ?? ''),
};

function parseFieldSelector(res: ResourceInfo, text: string): (o: KubeObject) => boolean {
  const tests = text
    .split(',')
    .filter((t) => t.trim() !== '')
    .map((term) => {
      const match = /^([^=!]+)(==|=|!=)(.*)$/.exec(term.trim());
      const field = match?.[1]?.trim() ?? '';
      const read = FIELDS[field];
      if (
        !match ||
        !read ||
        ((field.startsWith('spec.') || field.startsWith('status.')) && res !== PODS)
      ) {
        throw badRequest(
          `"${field || term}" is not a known field selector: only "metadata.name", ` +
            '"metadata.namespace" (and for pods "spec.nodeName", "status.phase")',
        );
      }
      const value = match[3] ?? '';
      return match[2] === '!='
        ? (o: KubeObject) => read(o) !== value
        : (o: KubeObject) => read(o) === value;
    });
  return (o) => tests.every((t) => t(o));
}

function mediaType(req: SandboxRequest): string {
  const raw = req.headers['content-type'];
  return (typeof raw === 'string' ? raw : '').split(';')[0]?.trim().toLowerCase() ?? '';
}

function readJson(req: SandboxRequest): unknown {
  const type = mediaType(req);
  if (req.method !== 'PATCH' && type !== 'application/json' && type !== '') {
    throw unsupportedMediaType(type, ['application/json']);
  }
  try {
    return JSON.parse(req.body.toString('utf8'));
  } catch (err) {
    throw badRequest(`error decoding the request body: ${(err as Error).message}`);
  }
}

function dryRun(req: SandboxRequest): boolean {
  const values = req.query.getAll('dryRun');
  for (const value of values) {
    if (value !== 'All') {
      throw new KubeError(400, 'BadRequest', unsupportedValue('dryRun', value, ['All']).message);
    }
  }
  return values.length > 0;
}

function writeOptions(req: SandboxRequest, ctx: ServiceContext) {
  return { dryRun: dryRun(req), now: ctx.now() };
}

/** A deleted pod's controller makes a new one, as the real controllers do. */
function recreateOwned(cluster: Cluster, pod: KubeObject, now: Date): void {
  const ref = pod.metadata.ownerReferences?.find((r) => r.controller);
  const res = ref ? resourceByKind(ref.kind) : undefined;
  if (!ref || !res) return;
  const owner = cluster.get(res, pod.metadata.namespace ?? '', ref.name);
  if (!owner || owner.metadata.uid !== ref.uid) return;
  reconcile(cluster, res, owner, now);
  cluster.put(res, owner);
}
