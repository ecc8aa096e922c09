import { isDeepStrictEqual } from 'node:util';
import { type Cluster, type KubeObject, newUid, timestamp } from './cluster.ts';
import { reconcile } from './controllers.ts';
import { applyDefaults } from './defaults.ts';
import {
  alreadyExists,
  badRequest,
  conflict,
  forbidden,
  invalid,
  invalidValue,
  KubeError,
  notFound,
} from './errors.ts';
import { enforcePolicy, namespaceUpdateWarnings, podAdmissionRefusal } from './psa-admission.ts';
import { apiVersionOf, NAMESPACES, PODS, type ResourceInfo, WORKLOADS } from './resources.ts';
import { validateObject } from './validate.ts';

/** The stored (or, in a dry run, would-be) object and the warnings for the caller. */
export interface WriteResult {
  object: KubeObject;
  warnings: string[];
  /** False for a dry run or a write that changed nothing; only changes are logged. */
  changed: boolean;
}

interface WriteOptions {
  dryRun: boolean;
  now: Date;
}

/** POST: a new object, with its uid, timestamps and (for workloads) children. */
export function createObject(
  cluster: Cluster,
  res: ResourceInfo,
  namespace: string,
  body: unknown,
  opts: WriteOptions,
): WriteResult {
  const object = asObject(body, res);
  const meta = object.metadata;
  if (res.namespaced) {
    if (meta.namespace !== undefined && meta.namespace !== namespace) {
      throw badRequest(
        'the namespace of the provided object does not match the namespace sent on the request',
      );
    }
    meta.namespace = namespace;
    if (!cluster.has(NAMESPACES, '', namespace)) throw notFound(NAMESPACES, namespace);
  } else delete meta.namespace;
  if (!meta.name && typeof meta.generateName === 'string') {
    meta.name = `${meta.generateName}${newUid().replace(/-/g, '').slice(0, 5)}`;
  }
  if (typeof meta.name === 'string' && cluster.has(res, namespace, meta.name)) {
    throw alreadyExists(res, meta.name);
  }
  meta.resourceVersion = '';
  meta.uid = newUid();
  meta.creationTimestamp = timestamp(opts.now);
  if (WORKLOADS.includes(res)) meta.generation = 1;
  if (res === NAMESPACES) {
    meta.labels = { ...meta.labels, 'kubernetes.io/metadata.name': meta.name };
    object.spec = { finalizers: ['kubernetes'] };
    object.status = { phase: 'Active' };
  }
  applyDefaults(res, object);
  const causes = validateObject(res, object);
  if (res === NAMESPACES) causes.push(...enforcePolicy(meta.labels).errors);
  if (causes.length > 0) throw invalid(res, String(meta.name ?? ''), causes);
  if (res === PODS) {
    const ns = cluster.get(NAMESPACES, '', namespace);
    const refusal = podAdmissionRefusal(ns?.metadata.labels, object.spec);
    if (refusal) throw forbidden(res, meta.name, refusal);
    object.status = { phase: 'Running', startTime: meta.creationTimestamp };
  }
  if (opts.dryRun)
    return {
      object: { ...object, metadata: { ...meta, resourceVersion: '' } },
      warnings: [],
      changed: false,
    };
  if (WORKLOADS.includes(res)) reconcile(cluster, res, object, opts.now);
  return { object: cluster.put(res, object), warnings: [], changed: true };
}

/**
 * PUT or PATCH: `next` is the whole object the caller wants. A resourceVersion in it
 * that is not the stored one is a 409 Conflict, as is a uid that is not the object's.
 */
export function updateObject(
  cluster: Cluster,
  res: ResourceInfo,
  old: KubeObject,
  nextBody: unknown,
  opts: WriteOptions & { requireResourceVersion: boolean },
): WriteResult {
  const next = asObject(nextBody, res);
  const name = old.metadata.name;
  if (next.metadata.name !== name) {
    throw badRequest(
      `the name of the object (${String(next.metadata.name)}) does not match the name on ` +
        `the URL (${name})`,
    );
  }
  if (res.namespaced && !next.metadata.namespace) next.metadata.namespace = old.metadata.namespace;
  if (res.namespaced && next.metadata.namespace !== old.metadata.namespace) {
    throw badRequest(
      'the namespace of the provided object does not match the namespace sent on the request',
    );
  }
  const rv = next.metadata.resourceVersion;
  if (rv === undefined || rv === '') {
    if (opts.requireResourceVersion) {
      throw invalid(res, name, [
        invalidValue('metadata.resourceVersion', 0, 'must be specified for an update'),
      ]);
    }
  } else if (String(rv) !== old.metadata.resourceVersion) throw conflict(res, name);
  if (next.metadata.uid !== undefined && next.metadata.uid !== old.metadata.uid) {
    throw new KubeError(
      409,
      'Conflict',
      `Precondition failed: UID in precondition: ${String(next.metadata.uid)}, ` +
        `UID in object meta: ${old.metadata.uid}`,
    );
  }
  // Identity, timestamps and status are the server's; writes to the main resource keep them.
  next.metadata = {
    ...next.metadata,
    uid: old.metadata.uid,
    creationTimestamp: old.metadata.creationTimestamp,
    resourceVersion: old.metadata.resourceVersion,
    ...(old.metadata.generation !== undefined ? { generation: old.metadata.generation } : {}),
  };
  if (old.status !== undefined) next.status = old.status;
  else delete next.status;
  if (res === NAMESPACES) next.spec = old.spec;
  applyDefaults(res, next);

  const causes = validateObject(res, next, old);
  if (res === NAMESPACES) {
    const errors = enforcePolicy(next.metadata.labels).errors;
    if (!isDeepStrictEqual(errors, enforcePolicy(old.metadata.labels).errors))
      causes.push(...errors);
  }
  if (causes.length > 0) throw invalid(res, name, causes);

  const warnings =
    res === NAMESPACES
      ? namespaceUpdateWarnings(
          name,
          old.metadata.labels,
          next.metadata.labels,
          cluster.list(PODS, name),
        )
      : [];
  if (isDeepStrictEqual(next, old)) return { object: old, warnings, changed: false };
  if (opts.dryRun) return { object: next, warnings, changed: false };
  if (WORKLOADS.includes(res) && !isDeepStrictEqual(next.spec, old.spec)) {
    next.metadata.generation = (old.metadata.generation ?? 1) + 1;
  }
  if (WORKLOADS.includes(res)) reconcile(cluster, res, next, opts.now);
  return { object: cluster.put(res, next), warnings, changed: true };
}

function asObject(body: unknown, res: ResourceInfo): KubeObject {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw badRequest(`the request body must be a ${res.kind} object in JSON`);
  }
  const object = structuredClone(body) as KubeObject;
  if (object.kind !== undefined && object.kind !== res.kind) {
    throw badRequest(
      `the kind of the provided object (${String(object.kind)}) does not match the URL ` +
        `(${res.kind})`,
    );
  }
  if (object.apiVersion !== undefined && object.apiVersion !== apiVersionOf(res)) {
    throw badRequest(
      `the API version in the data (${String(object.apiVersion)}) does not match the ` +
        `expected API version (${apiVersionOf(res)})`,
    );
  }
  object.kind = res.kind;
  object.apiVersion = apiVersionOf(res);
  if (typeof object.metadata !== 'object' || object.metadata === null) {
    object.metadata = {} as KubeObject['metadata'];
  }
  return object;
}
