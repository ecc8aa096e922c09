import { isDeepStrictEqual } from 'node:util';
import type { KubeObject } from './cluster.ts';
import { forbiddenField, invalidValue, required, type StatusCause } from './errors.ts';
import { parseQuantity } from './quantity.ts';
import { NAMESPACES, PODS, type ResourceInfo } from './resources.ts';
import { matchesSelector } from './selector.ts';

type Json = Record<string, unknown>;

const SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

const obj = (v: unknown): Json =>
  typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Json) : {};

/** What the API server's validation says about an object it is asked to store. */
export function validateObject(
  res: ResourceInfo,
  object: KubeObject,
  old?: KubeObject,
): StatusCause[] {
  const causes: StatusCause[] = [...validateMeta(res, object)];
  if (res === NAMESPACES) return causes;
  const spec = obj(object.spec);
  if (res === PODS) {
    causes.push(...validatePodSpec(spec, 'spec'));
    if (old) causes.push(...podUpdateProblems(obj(old.spec), spec));
    return causes;
  }
  if (spec.selector === undefined) causes.push(required('spec.selector'));
  const template = obj(spec.template);
  if (spec.template === undefined) {
    causes.push(required('spec.template'));
    return causes;
  }
  const labels = obj(obj(template.metadata).labels) as Record<string, string>;
  if (spec.selector !== undefined && !matchesSelector(spec.selector, labels)) {
    causes.push(
      invalidValue(
        'spec.template.metadata.labels',
        labels,
        '`selector` does not match template `labels`',
      ),
    );
  }
  if (
    spec.replicas !== undefined &&
    !(Number.isInteger(spec.replicas) && (spec.replicas as number) >= 0)
  ) {
    causes.push(invalidValue('spec.replicas', spec.replicas, 'must be greater than or equal to 0'));
  }
  causes.push(...validatePodSpec(obj(template.spec), 'spec.template.spec'));
  if (old && !isDeepStrictEqual(obj(old.spec).selector, spec.selector)) {
    causes.push(invalidValue('spec.selector', spec.selector, 'field is immutable'));
  }
  return causes;
}

function validateMeta(res: ResourceInfo, object: KubeObject): StatusCause[] {
  const causes: StatusCause[] = [];
  const { name, labels } = object.metadata;
  const pattern = res === NAMESPACES ? LABEL : SUBDOMAIN;
  if (typeof name !== 'string' || name === '') causes.push(required('metadata.name'));
  else if (!pattern.test(name) || name.length > (res === NAMESPACES ? 63 : 253)) {
    causes.push(
      invalidValue(
        'metadata.name',
        name,
        `a lowercase RFC 1123 ${res === NAMESPACES ? 'label' : 'subdomain'} must consist of ` +
          "lower case alphanumeric characters, '-'" +
          (res === NAMESPACES ? '' : " or '.'") +
          ', and must start and end with an alphanumeric character',
      ),
    );
  }
  for (const [key, value] of Object.entries(labels ?? {})) {
    if (typeof value !== 'string' || value.length > 63 || !LABEL_VALUE.test(value)) {
      causes.push(
        invalidValue(
          `metadata.labels`,
          value,
          "a valid label must be an empty string or consist of alphanumeric characters, '-', " +
            "'_' or '.', and must start and end with an alphanumeric character",
        ),
      );
    }
    if (key === '')
      causes.push(invalidValue('metadata.labels', key, 'name part must be non-empty'));
  }
  return causes;
}

function validatePodSpec(spec: Json, at: string): StatusCause[] {
  const causes: StatusCause[] = [];
  const containers = spec.containers;
  if (!Array.isArray(containers) || containers.length === 0) {
    causes.push(required(`${at}.containers`));
    return causes;
  }
  const seen = new Set<string>();
  for (const field of ['initContainers', 'containers']) {
    const list = spec[field];
    if (!Array.isArray(list)) continue;
    list.forEach((raw, i) => {
      const c = obj(raw);
      const path = `${at}.${field}[${i}]`;
      if (typeof c.name !== 'string' || c.name === '') causes.push(required(`${path}.name`));
      else if (!LABEL.test(c.name)) {
        causes.push(invalidValue(`${path}.name`, c.name, 'a lowercase RFC 1123 label is required'));
      } else if (seen.has(c.name)) {
        causes.push({
          reason: 'FieldValueDuplicate',
          message: `Duplicate value: "${c.name}"`,
          field: `${path}.name`,
        });
      } else seen.add(c.name);
      if (typeof c.image !== 'string' || c.image === '') causes.push(required(`${path}.image`));
      causes.push(...validateResources(obj(c.resources), `${path}.resources`));
    });
  }
  return causes;
}

function validateResources(resources: Json, at: string): StatusCause[] {
  const causes: StatusCause[] = [];
  const parsed: Record<string, Record<string, number>> = { requests: {}, limits: {} };
  for (const part of ['requests', 'limits'] as const) {
    for (const [name, value] of Object.entries(obj(resources[part]))) {
      const amount = typeof value === 'string' ? parseQuantity(value) : null;
      if (amount === null || amount < 0) {
        causes.push(
          invalidValue(
            `${at}.${part}[${name}]`,
            value,
            'quantities must match the regular expression ' +
              "'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'",
          ),
        );
      } else (parsed[part] as Record<string, number>)[name] = amount;
    }
  }
  for (const [name, request] of Object.entries(parsed.requests as Record<string, number>)) {
    const limit = (parsed.limits as Record<string, number>)[name];
    if (limit !== undefined && request > limit) {
      causes.push(
        invalidValue(
          `${at}.requests`,
          obj(resources.requests)[name],
          `must be less than or equal to ${name} limit of ${String(obj(resources.limits)[name])}`,
        ),
      );
    }
  }
  return causes;
}

/** Pods are immutable but for a few fields; images are the ones anyone changes. */
function podUpdateProblems(before: Json, after: Json): StatusCause[] {
  const strip = (spec: Json) => {
    const copy = structuredClone(spec);
    for (const field of ['containers', 'initContainers']) {
      for (const c of Array.isArray(copy[field]) ? copy[field] : []) delete obj(c).image;
    }
    delete copy.activeDeadlineSeconds;
    return copy;
  };
  if (isDeepStrictEqual(strip(before), strip(after))) return [];
  return [
    forbiddenField(
      'spec',
      'pod updates may not change fields other than `spec.containers[*].image`, ' +
        '`spec.initContainers[*].image`, `spec.activeDeadlineSeconds`, `spec.tolerations` ' +
        '(only additions to existing tolerations) or `spec.terminationGracePeriodSeconds`',
    ),
  ];
}
