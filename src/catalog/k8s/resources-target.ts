import { isDeepStrictEqual } from 'node:util';
import type { FixOptions } from '../../domain/fix-options.ts';
import { parseQuantity } from './quantity.ts';
import type { ContainerResources } from './workload.ts';

type Resources = Record<string, unknown>;
type Quantities = Record<string, unknown>;

const NAMES = ['cpu', 'memory'] as const;

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** True when the container has CPU and memory requests and limits. */
export function hasAllResources(resources: Resources | null): boolean {
  const requests = isRecord(resources?.requests) ? resources.requests : {};
  const limits = isRecord(resources?.limits) ? resources.limits : {};
  return NAMES.every((n) => present(requests[n]) && present(limits[n]));
}

const present = (v: unknown) => (typeof v === 'string' && v !== '') || typeof v === 'number';

export interface TargetResources {
  resources: Resources;
  /** Where a configured default was not used as is, and why, for the plan. */
  notes: string[];
}

/**
 * The container's resources with every missing CPU and memory request and limit taken
 * from the options, keeping whatever is already set. A default is bent only to keep the
 * object valid: a request above the container's own limit becomes the limit, a limit
 * below its own request becomes the request.
 */
export function targetResources(
  container: ContainerResources,
  options: FixOptions,
): TargetResources {
  const current = container.resources ?? {};
  const requests: Quantities = { ...(isRecord(current.requests) ? current.requests : {}) };
  const limits: Quantities = { ...(isRecord(current.limits) ? current.limits : {}) };
  const notes: string[] = [];
  const defaults = {
    cpu: { request: options.k8sCpuRequest, limit: options.k8sCpuLimit },
    memory: { request: options.k8sMemoryRequest, limit: options.k8sMemoryLimit },
  };
  for (const name of NAMES) {
    const who = `${container.init ? 'init container' : 'container'} ${container.name}`;
    if (!present(requests[name])) {
      const limit = limits[name];
      const below = present(limit) && less(limit, defaults[name].request);
      requests[name] = below ? limit : defaults[name].request;
      if (below) {
        notes.push(
          `${who}: ${name} request set to ${String(limit)}, its limit, instead of the default ` +
            `${defaults[name].request}, because a request may not exceed the limit`,
        );
      }
    }
    if (!present(limits[name])) {
      const request = requests[name];
      const above = less(defaults[name].limit, request);
      limits[name] = above ? request : defaults[name].limit;
      if (above) {
        notes.push(
          `${who}: ${name} limit set to ${String(request)}, its request, instead of the default ` +
            `${defaults[name].limit}, because a limit may not be below the request`,
        );
      }
    }
  }
  return { resources: { ...current, requests, limits }, notes };
}

function less(a: unknown, b: unknown): boolean {
  const x = parseQuantity(a);
  const y = parseQuantity(b);
  return x !== null && y !== null && x < y;
}

/**
 * Resources as the API server means them: absent, `{}` and empty maps are the same, and
 * quantities compare by value (`1000m` is `1`), since servers rewrite them canonically.
 */
export function sameResources(a: Resources | null, b: Resources | null): boolean {
  return isDeepStrictEqual(canonical(a), canonical(b));
}

function canonical(resources: Resources | null): Resources {
  const out: Resources = {};
  for (const [key, value] of Object.entries(resources ?? {})) {
    if (isRecord(value)) {
      if (Object.keys(value).length === 0) continue;
      const values: Record<string, unknown> = {};
      for (const [name, q] of Object.entries(value)) values[name] = parseQuantity(q) ?? q;
      out[key] = values;
    } else if (Array.isArray(value) && value.length === 0) {
      continue;
    } else if (value !== undefined && value !== null) out[key] = value;
  }
  return out;
}
