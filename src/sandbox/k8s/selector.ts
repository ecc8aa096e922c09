import { badRequest } from './errors.ts';

type Labels = Record<string, string>;
type Requirement = (labels: Labels) => boolean;

const KEY = String.raw`[A-Za-z0-9]([-A-Za-z0-9_./]*[A-Za-z0-9])?`;
const VALUE = String.raw`([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?`;
const EXISTS = new RegExp(`^(!)?\\s*(${KEY})$`);
const EQUALS = new RegExp(`^(${KEY})\\s*(==|=|!=)\\s*(${VALUE})$`);
const SET = new RegExp(`^(${KEY})\\s+(in|notin)\\s+\\(([^)]*)\\)$`);

/**
 * A `labelSelector` query parameter as the API server reads it: equality (`a=b`,
 * `a==b`, `a!=b`), existence (`a`, `!a`) and set (`a in (x,y)`, `a notin (x)`)
 * requirements, all of which must hold.
 */
export function parseLabelSelector(text: string): (labels: Labels | undefined) => boolean {
  const requirements = splitRequirements(text).map(parseRequirement);
  return (labels) => requirements.every((r) => r(labels ?? {}));
}

function splitRequirements(text: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let current = '';
  for (const char of text) {
    if (char === '(') depth += 1;
    if (char === ')') depth -= 1;
    if (char === ',' && depth === 0) {
      parts.push(current);
      current = '';
    } else current += char;
  }
  parts.push(current);
  return parts.map((p) => p.trim()).filter((p) => p !== '');
}

function parseRequirement(text: string): Requirement {
  const set = SET.exec(text);
  if (set) {
    const key = set[1] as string;
    const values = (set[4] ?? '').split(',').map((v) => v.trim());
    const inSet = set[3] === 'in';
    return (labels) =>
      inSet
        ? key in labels && values.includes(labels[key] as string)
        : !values.includes(labels[key] as string);
  }
  const equals = EQUALS.exec(text);
  if (equals) {
    const key = equals[1] as string;
    const value = equals[4] ?? '';
    return equals[3] === '!=' ? (l) => l[key] !== value : (l) => l[key] === value;
  }
  const exists = EXISTS.exec(text);
  if (exists) {
    const key = exists[2] as string;
    return exists[1] ? (l) => !(key in l) : (l) => key in l;
  }
  throw badRequest(`unable to parse requirement: found '${text}', expected a label selector`);
}

/** A `spec.selector` (matchLabels and matchExpressions) applied to labels. */
export function matchesSelector(selector: unknown, labels: Labels | undefined): boolean {
  if (typeof selector !== 'object' || selector === null) return false;
  const { matchLabels, matchExpressions } = selector as {
    matchLabels?: Labels;
    matchExpressions?: { key: string; operator: string; values?: string[] }[];
  };
  const have = labels ?? {};
  for (const [key, value] of Object.entries(matchLabels ?? {})) {
    if (have[key] !== value) return false;
  }
  for (const { key, operator, values = [] } of matchExpressions ?? []) {
    const present = key in have;
    if (operator === 'In' && !(present && values.includes(have[key] as string))) return false;
    if (operator === 'NotIn' && present && values.includes(have[key] as string)) return false;
    if (operator === 'Exists' && !present) return false;
    if (operator === 'DoesNotExist' && present) return false;
  }
  return true;
}
