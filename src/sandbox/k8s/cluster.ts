import { createHash, randomUUID } from 'node:crypto';
import { apiVersionOf, type ResourceInfo } from './resources.ts';

export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}

export interface ObjectMeta {
  name: string;
  namespace?: string;
  uid: string;
  resourceVersion: string;
  generation?: number;
  creationTimestamp: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences?: OwnerReference[];
  [key: string]: unknown;
}

/** A stored object, in the API's own JSON form. */
export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
  spec?: Record<string, unknown>;
  status?: Record<string, unknown>;
  [key: string]: unknown;
}

/**
 * One cluster's objects and its resourceVersion counter. Every stored write takes the
 * next resourceVersion, as etcd's revision does. Reads hand out copies.
 */
export class Cluster {
  readonly name: string;
  tokens: string[];
  nodes: string[];
  #revision: number;
  #objects = new Map<string, Map<string, KubeObject>>();

  constructor(name: string, opts: { tokens?: string[]; nodes?: string[]; revision?: number }) {
    this.name = name;
    this.tokens = opts.tokens ?? [];
    this.nodes = opts.nodes ?? ['sandbox-node-1', 'sandbox-node-2'];
    this.#revision = opts.revision ?? 1;
  }

  get revision(): number {
    return this.#revision;
  }

  get(res: ResourceInfo, namespace: string, name: string): KubeObject | undefined {
    const found = this.#bucket(res).get(key(res, namespace, name));
    return found ? structuredClone(found) : undefined;
  }

  has(res: ResourceInfo, namespace: string, name: string): boolean {
    return this.#bucket(res).has(key(res, namespace, name));
  }

  /** Objects of a kind, in one namespace or all, sorted by namespace and name. */
  list(res: ResourceInfo, namespace?: string): KubeObject[] {
    const all = [...this.#bucket(res).values()].filter(
      (o) => namespace === undefined || o.metadata.namespace === namespace,
    );
    return all.sort(byNamespaceAndName).map((o) => structuredClone(o));
  }

  /** Stores the object under a new resourceVersion and returns the stored copy. */
  put(res: ResourceInfo, object: KubeObject): KubeObject {
    this.#revision += 1;
    const stored = structuredClone(object);
    stored.metadata.resourceVersion = String(this.#revision);
    const ns = stored.metadata.namespace ?? '';
    this.#bucket(res).set(key(res, ns, stored.metadata.name), stored);
    return structuredClone(stored);
  }

  /** Stores an object as loaded, keeping its resourceVersion. */
  restore(res: ResourceInfo, object: KubeObject): void {
    const ns = object.metadata.namespace ?? '';
    this.#bucket(res).set(key(res, ns, object.metadata.name), structuredClone(object));
    this.#revision = Math.max(this.#revision, Number(object.metadata.resourceVersion) || 0);
  }

  delete(res: ResourceInfo, namespace: string, name: string): void {
    this.#revision += 1;
    this.#bucket(res).delete(key(res, namespace, name));
  }

  #bucket(res: ResourceInfo): Map<string, KubeObject> {
    let bucket = this.#objects.get(res.plural);
    if (!bucket) {
      bucket = new Map();
      this.#objects.set(res.plural, bucket);
    }
    return bucket;
  }
}

function key(res: ResourceInfo, namespace: string, name: string): string {
  return res.namespaced ? `${namespace}/${name}` : name;
}

function byNamespaceAndName(a: KubeObject, b: KubeObject): number {
  const left = `${a.metadata.namespace ?? ''}/${a.metadata.name}`;
  const right = `${b.metadata.namespace ?? ''}/${b.metadata.name}`;
  return left < right ? -1 : left > right ? 1 : 0;
}

/** `2024-05-01T10:00:00Z`: Kubernetes timestamps have whole seconds. */
export function timestamp(at: Date): string {
  return `${at.toISOString().slice(0, 19)}Z`;
}

/** A uid for an object that arrived without one: stable for the same name, so reloads agree. */
export function stableUid(seed: string): string {
  const h = createHash('sha256').update(seed).digest('hex');
  return uuidFrom(h);
}

/** A hex digest laid out as a version 4 uuid. */
export function uuidFrom(h: string): string {
  const part = (from: number, to: number) => h.slice(from, to);
  return `${part(0, 8)}-${part(8, 12)}-4${part(13, 16)}-a${part(17, 20)}-${part(20, 32)}`;
}

export const newUid = (): string => randomUUID();

/** A fresh object of a kind with the fields every object has. */
export function objectFrame(res: ResourceInfo, meta: Partial<ObjectMeta>): KubeObject {
  return {
    apiVersion: apiVersionOf(res),
    kind: res.kind,
    metadata: meta as ObjectMeta,
  };
}
