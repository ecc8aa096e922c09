import type { DriftType } from '../domain/finding.ts';
import type { Severity } from '../domain/status.ts';
import { classify, DEFAULT_DRIFT_SETTINGS, type DriftSettings } from './rules.ts';

/** One difference between a baseline and the live configuration. */
export interface DriftChange {
  /**
   * Where it is: dotted keys, with array elements named by their identity in brackets, e.g.
   * `ingress[tcp 22 0.0.0.0/0]`, `containers[app].resources.limits.cpu`, `tags.env`.
   */
  path: string;
  /** The baseline's value; null when the live configuration added it. */
  before: unknown;
  /** The live value; null when it was removed. */
  after: unknown;
  driftType: DriftType;
  severity: Severity;
}

/** A difference before it is classified. */
export interface RawChange {
  path: string;
  /** The key the change is at, or the array holding an added or removed element. */
  segments: string[];
  before: unknown;
  after: unknown;
}

/**
 * Keys whose values change without the configuration changing: read times, last-use dates,
 * internal ids, operational state. Ignored at any depth, for every type.
 */
const IGNORED_KEYS = new Set([
  'created',
  'launchTime',
  'lastUsed',
  'lastUsedService',
  'lastUsedRegion',
  'passwordLastUsed',
  'uid',
  'resourceVersion',
  'generation',
  'observedGeneration',
  'creationTimestamp',
  'managedFields',
]);

/** Per type, top-level keys that move on their own (a stopped instance, a database being modified). */
const IGNORED_BY_TYPE: Record<string, readonly string[]> = {
  AwsEc2Instance: ['state', 'privateIpAddress', 'publicIpAddress'],
  AwsRdsDbInstance: ['status'],
  KubernetesNamespace: ['phase'],
};

/**
 * Per type, top-level keys discovery leaves null when it could not read them: null on either
 * side is "unknown", not a change, so a failed read never shows as drift.
 */
const UNREADABLE_AS_NULL: Record<string, readonly string[]> = {
  AwsS3Bucket: ['acl', 'policyStatus'],
  AwsEc2Instance: ['disableApiTermination'],
  AwsIamUser: ['attachedPolicies', 'inlinePolicies'],
};

/** Annotations controllers and kubectl rewrite on their own. */
const IGNORED_ANNOTATIONS = new Set([
  'deployment.kubernetes.io/revision',
  'kubectl.kubernetes.io/last-applied-configuration',
  'kubectl.kubernetes.io/restartedAt',
]);

type Identity = (element: unknown) => string;

const field = (element: unknown, key: string): unknown =>
  typeof element === 'object' && element !== null
    ? (element as Record<string, unknown>)[key]
    : undefined;

/** A security group rule is its protocol, port range and source; its description is content. */
const ruleIdentity: Identity = (rule) => {
  const from = field(rule, 'fromPort');
  const to = field(rule, 'toPort');
  const ports = from == null ? 'all' : from === to ? `${from}` : `${from}-${to}`;
  const source =
    field(rule, 'cidrIpv4') ??
    field(rule, 'cidrIpv6') ??
    field(rule, 'prefixListId') ??
    field(rule, 'groupId');
  return `${field(rule, 'protocol')} ${ports} ${source}`;
};

/** How the elements of each named array are matched, so reordering is no drift. */
const IDENTITIES: Record<string, Identity> = {
  ingress: ruleIdentity,
  egress: ruleIdentity,
  containers: (c) => `${field(c, 'init') === true ? 'init:' : ''}${field(c, 'name')}`,
  rules: (r) => String(field(r, 'sseAlgorithm')),
  grants: (g) => `${field(g, 'granteeType')} ${field(g, 'grantee')} ${field(g, 'permission')}`,
  accessKeys: (k) => String(field(k, 'accessKeyId')),
  attachedPolicies: (p) => String(field(p, 'policyArn')),
  securityGroups: (g) => String(field(g, 'groupId')),
};

/** Elements of other arrays: their own name or id when they have one, else their whole value. */
function defaultIdentity(element: unknown): string {
  for (const key of ['name', 'id', 'key', 'Key']) {
    const value = field(element, key);
    if (typeof value === 'string' || typeof value === 'number') return String(value);
  }
  return typeof element === 'string' ? element : stableJson(element);
}

function stableJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableJson).join(',')}]`;
  if (typeof value === 'object' && value !== null) {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${stableJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value ?? null);
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

const keyPath = (path: string, key: string) =>
  /^[A-Za-z_$][\w$]*$/.test(key)
    ? path
      ? `${path}.${key}`
      : key
    : `${path}[${JSON.stringify(key)}]`;

/**
 * Every difference between two configurations of a resource of `type`, unclassified.
 * Objects are compared key by key; arrays element by element, matched by identity; an
 * object that is absent on one side is compared with an empty one, so each of its fields
 * shows as its own change.
 */
export function rawDiff(
  type: string,
  before: Record<string, unknown>,
  after: Record<string, unknown>,
): RawChange[] {
  const out: RawChange[] = [];
  const ignoredTop = new Set(IGNORED_BY_TYPE[type] ?? []);
  for (const key of UNREADABLE_AS_NULL[type] ?? []) {
    if (before[key] == null || after[key] == null) ignoredTop.add(key);
  }
  walk(before, after, '', [], out, (key, depth) =>
    depth === 0 ? ignoredTop.has(key) || IGNORED_KEYS.has(key) : IGNORED_KEYS.has(key),
  );
  return out;
}

function walk(
  before: unknown,
  after: unknown,
  path: string,
  segments: string[],
  out: RawChange[],
  ignored: (key: string, depth: number) => boolean,
): void {
  if (isObject(before) || isObject(after)) {
    if ((isObject(before) || before == null) && (isObject(after) || after == null)) {
      const b = (before ?? {}) as Record<string, unknown>;
      const a = (after ?? {}) as Record<string, unknown>;
      const parent = segments.at(-1);
      for (const key of new Set([...Object.keys(b), ...Object.keys(a)])) {
        if (ignored(key, segments.length)) continue;
        if (parent === 'annotations' && IGNORED_ANNOTATIONS.has(key)) continue;
        walk(b[key], a[key], keyPath(path, key), [...segments, key], out, ignored);
      }
      return;
    }
  }
  if (Array.isArray(before) && Array.isArray(after)) {
    const identity = IDENTITIES[segments.at(-1) ?? ''] ?? defaultIdentity;
    const index = (list: unknown[]) => {
      const map = new Map<string, unknown>();
      for (const element of list) {
        let id = identity(element);
        // Two elements with one identity stay apart instead of hiding each other.
        for (let n = 2; map.has(id); n++) id = `${identity(element)}#${n}`;
        map.set(id, element);
      }
      return map;
    };
    const b = index(before);
    const a = index(after);
    for (const id of new Set([...b.keys(), ...a.keys()])) {
      const elementPath = `${path}[${id}]`;
      if (!b.has(id)) out.push({ path: elementPath, segments, before: null, after: a.get(id) });
      else if (!a.has(id))
        out.push({ path: elementPath, segments, before: b.get(id), after: null });
      else walk(b.get(id), a.get(id), elementPath, segments, out, ignored);
    }
    return;
  }
  if (stableJson(before) !== stableJson(after)) {
    out.push({ path, segments, before: before ?? null, after: after ?? null });
  }
}

/**
 * The drift between a resource's baseline and its live configuration: a deep,
 * attribute-aware diff with each change classified by the rules in rules.ts.
 */
export function diffConfig(
  type: string,
  before: Record<string, unknown>,
  after: Record<string, unknown>,
  settings: DriftSettings = DEFAULT_DRIFT_SETTINGS,
): DriftChange[] {
  return rawDiff(type, before, after).map((change) => {
    const { driftType, severity } = classify(type, change, settings);
    return { path: change.path, before: change.before, after: change.after, driftType, severity };
  });
}
