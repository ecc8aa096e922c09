/** A query-protocol parameter tree: strings at the leaves, 1-based lists as arrays. */
export type QueryValue = string | QueryValue[] | { [key: string]: QueryValue };
export type QueryParams = { [key: string]: QueryValue };

/**
 * Reads an AWS query-protocol body (`Action=...&Version=...&A.1.B=...`) into a tree.
 * Numbered segments become list positions; the `member` wrapper IAM, RDS and STS put
 * around list items is dropped so every service reads the same shape.
 */
export function parseForm(body: string): { action: string; params: QueryParams } {
  const form = new URLSearchParams(body);
  const root: QueryParams = {};
  for (const [key, value] of form) {
    if (key === 'Action' || key === 'Version') continue;
    const path = key.split('.').filter((segment) => segment !== 'member');
    let node: Record<string, QueryValue> | QueryValue[] = root;
    path.forEach((segment, i) => {
      const last = i === path.length - 1;
      const index = /^\d+$/.test(segment) ? Number(segment) - 1 : segment;
      const nextIsIndex = !last && /^\d+$/.test(path[i + 1] as string);
      const container = node as Record<string | number, QueryValue>;
      if (last) {
        container[index] = value;
        return;
      }
      container[index] ??= nextIsIndex ? [] : {};
      node = container[index] as Record<string, QueryValue> | QueryValue[];
    });
  }
  compact(root);
  return { action: form.get('Action') ?? '', params: root };
}

/** Lists numbered from 1 leave a hole at 0 when a caller skips numbers; close the gaps. */
function compact(node: QueryValue): QueryValue {
  if (Array.isArray(node)) {
    const dense = node.filter((v) => v !== undefined).map(compact);
    node.length = 0;
    node.push(...dense);
  } else if (typeof node === 'object') {
    for (const key of Object.keys(node)) compact(node[key] as QueryValue);
  }
  return node;
}

/** Typed reads of a parameter tree, with the service's own error on a bad value. */
export interface ParamReader {
  str(name: string): string | undefined;
  required(name: string): string;
  int(name: string): number | undefined;
  bool(name: string): boolean | undefined;
  list(name: string): QueryValue[];
  strings(name: string): string[];
  obj(name: string): QueryParams | undefined;
}

export function reader(params: QueryParams, invalid: (message: string) => Error): ParamReader {
  const get = (name: string) => params[name];
  const str = (name: string) => {
    const v = get(name);
    if (v === undefined) return undefined;
    if (typeof v !== 'string') throw invalid(`${name} must be a single value`);
    return v;
  };
  return {
    str,
    required(name) {
      const v = str(name);
      if (v === undefined || v === '')
        throw invalid(`The request must contain the parameter ${name}`);
      return v;
    },
    int(name) {
      const v = str(name);
      if (v === undefined) return undefined;
      if (!/^-?\d+$/.test(v)) throw invalid(`Invalid value '${v}' for ${name}: not an integer`);
      return Number(v);
    },
    bool(name) {
      const v = str(name);
      if (v === undefined) return undefined;
      if (v !== 'true' && v !== 'false')
        throw invalid(`Invalid value '${v}' for ${name}: not a boolean`);
      return v === 'true';
    },
    list(name) {
      const v = get(name);
      if (v === undefined) return [];
      if (!Array.isArray(v)) throw invalid(`${name} must be a list`);
      return v;
    },
    strings(name) {
      return this.list(name).map((v) => {
        if (typeof v !== 'string') throw invalid(`${name} must be a list of values`);
        return v;
      });
    },
    obj(name) {
      const v = get(name);
      if (v === undefined) return undefined;
      if (typeof v !== 'object' || Array.isArray(v)) throw invalid(`${name} must be a structure`);
      return v;
    },
  };
}
