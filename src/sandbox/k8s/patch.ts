import jsonPatch, { type Operation } from 'fast-json-patch';
import { badRequest, KubeError } from './errors.ts';

export const PATCH_TYPES = {
  json: 'application/json-patch+json',
  merge: 'application/merge-patch+json',
  strategic: 'application/strategic-merge-patch+json',
} as const;

export const ACCEPTED_PATCH_TYPES = [...Object.values(PATCH_TYPES), 'application/apply-patch+yaml'];

type Json = unknown;
type JsonObject = Record<string, Json>;

const isObject = (v: Json): v is JsonObject =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * The key Kubernetes merges each list by in a strategic merge patch. Keyed by field name
 * alone: every such field the served kinds have uses the same key wherever it appears.
 */
const MERGE_KEYS: Record<string, string> = {
  containers: 'name',
  initContainers: 'name',
  ephemeralContainers: 'name',
  env: 'name',
  volumes: 'name',
  volumeMounts: 'mountPath',
  ports: 'containerPort',
  imagePullSecrets: 'name',
  ownerReferences: 'uid',
};

/** Applies a patch of one of the three types to a copy of `target`. */
export function applyPatch(contentType: string, target: JsonObject, patch: Json): JsonObject {
  switch (contentType) {
    case PATCH_TYPES.json:
      return applyJsonPatch(target, patch);
    case PATCH_TYPES.merge:
      return mergePatch(target, requireObject(patch)) as JsonObject;
    case PATCH_TYPES.strategic:
      return strategicMerge(target, requireObject(patch)) as JsonObject;
    default:
      throw badRequest(`patch type ${contentType} is not supported`);
  }
}

function requireObject(patch: Json): JsonObject {
  if (!isObject(patch)) {
    throw badRequest(
      `json: cannot unmarshal ${Array.isArray(patch) ? 'array' : typeof patch} into Go value ` +
        'of type map[string]interface {}',
    );
  }
  return patch;
}

/** RFC 7386: objects merge, null deletes, anything else replaces. */
export function mergePatch(target: Json, patch: Json): Json {
  if (!isObject(patch)) return structuredClone(patch);
  const out: JsonObject = isObject(target) ? structuredClone(target) : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete out[key];
    else out[key] = mergePatch(out[key], value);
  }
  return out;
}

/**
 * Strategic merge as kubectl sends it: maps merge, lists with a merge key merge item by
 * item, other lists are replaced; `$patch: replace|delete` and `null` are honoured and
 * the `$setElementOrder`/`$retainKeys` hints are accepted and ignored.
 */
export function strategicMerge(target: Json, patch: JsonObject): Json {
  if (patch.$patch === 'replace') return withoutDirectives(patch);
  const out: JsonObject = isObject(target) ? structuredClone(target) : {};
  for (const [key, value] of Object.entries(patch)) {
    if (key.startsWith('$')) continue;
    if (value === null) {
      delete out[key];
    } else if (isObject(value) && value.$patch === 'delete') {
      delete out[key];
    } else if (isObject(value)) {
      out[key] = strategicMerge(out[key], value);
    } else if (Array.isArray(value) && MERGE_KEYS[key]) {
      out[key] = mergeList(out[key], value, MERGE_KEYS[key] as string, key);
    } else {
      out[key] = structuredClone(value);
    }
  }
  return out;
}

function mergeList(target: Json, patch: Json[], mergeKey: string, field: string): Json[] {
  if (patch.some((item) => isObject(item) && item.$patch === 'replace')) {
    return patch.filter((item) => !(isObject(item) && item.$patch === 'replace'));
  }
  const out: Json[] = Array.isArray(target) ? structuredClone(target) : [];
  for (const item of patch) {
    if (!isObject(item) || !(mergeKey in item)) {
      throw badRequest(
        `map: ${JSON.stringify(item)} does not contain declared merge key: ${mergeKey} ` +
          `(in ${field})`,
      );
    }
    const index = out.findIndex((o) => isObject(o) && o[mergeKey] === item[mergeKey]);
    if (item.$patch === 'delete') {
      if (index !== -1) out.splice(index, 1);
    } else if (index === -1) {
      out.push(withoutDirectives(item));
    } else {
      out[index] = strategicMerge(out[index], item);
    }
  }
  return out;
}

function withoutDirectives(value: JsonObject): JsonObject {
  const out: JsonObject = {};
  for (const [key, v] of Object.entries(value)) {
    if (!key.startsWith('$')) out[key] = structuredClone(v);
  }
  return out;
}

/** RFC 6902. A malformed patch is a 400; one that cannot apply (a failed test) a 422. */
function applyJsonPatch(target: JsonObject, patch: Json): JsonObject {
  if (!Array.isArray(patch)) {
    throw badRequest('json: cannot unmarshal object into Go value of type jsonpatch.Patch');
  }
  try {
    return jsonPatch.applyPatch(structuredClone(target), patch as Operation[], true, false)
      .newDocument;
  } catch (err) {
    const e = err as { name?: string; message?: string; operation?: { path?: string } };
    const name = e.name ?? '';
    if (!UNAPPLIABLE.has(name)) {
      throw badRequest(`invalid JSON patch: ${(e.message ?? String(err)).split('\n')[0]}`);
    }
    const why =
      name === 'TEST_OPERATION_FAILED'
        ? `testing value ${e.operation?.path ?? ''} failed: test failed`
        : `${(e.message ?? '').split('\n')[0]}: ${e.operation?.path ?? ''}`;
    throw new KubeError(
      422,
      'Invalid',
      `the server rejected our request due to an error in our request: ${why}`,
    );
  }
}

/** fast-json-patch's names for a well-formed operation that does not fit the object. */
const UNAPPLIABLE = new Set([
  'TEST_OPERATION_FAILED',
  'OPERATION_PATH_UNRESOLVABLE',
  'OPERATION_FROM_UNRESOLVABLE',
  'OPERATION_PATH_CANNOT_ADD',
  'OPERATION_PATH_ILLEGAL_ARRAY_INDEX',
  'OPERATION_VALUE_OUT_OF_BOUNDS',
]);
