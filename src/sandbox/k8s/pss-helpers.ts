/** What the Pod Security Standards checks share: reading a pod spec and naming containers. */

export type Json = Record<string, unknown>;

export interface Container extends Json {
  name?: string;
  securityContext?: Json | null;
  ports?: { hostPort?: number }[];
}

export type Check = (spec: Json, containers: Container[]) => string | null;

export const obj = (v: unknown): Json => (typeof v === 'object' && v !== null ? (v as Json) : {});
export const list = (v: unknown): Json[] => (Array.isArray(v) ? v.map(obj) : []);
export const quote = (names: string[]) => names.map((n) => `"${n}"`).join(', ');
export const containersWord = (names: string[]) =>
  `${names.length === 1 ? 'container' : 'containers'} ${quote(names)}`;

export function containersOf(spec: Json): Container[] {
  return [
    ...list(spec.initContainers),
    ...list(spec.containers),
    ...list(spec.ephemeralContainers),
  ] as Container[];
}

export function names(containers: Container[], bad: (c: Container) => boolean): string[] {
  return containers.filter(bad).map((c) => String(c.name ?? ''));
}

export function strings(v: unknown): string[] {
  return Array.isArray(v) ? v.filter((s): s is string => typeof s === 'string') : [];
}
