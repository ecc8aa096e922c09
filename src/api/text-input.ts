import type { FastifyRequest } from 'fastify';
import { invalidInput } from '../domain/errors.ts';
import { describeTextProblem, findUnstorableText } from '../domain/text.ts';

/**
 * Deepest JSON body any route takes. No request needs more than a handful of levels; far
 * deeper text would overflow the stack of whatever walks it next (validation, hashing,
 * messages), so it is refused before it is parsed.
 */
export const MAX_JSON_DEPTH = 512;

/** Whether JSON text nests arrays and objects deeper than `max`; one pass, no parsing. */
export function nestsDeeperThan(text: string, max: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i += 1;
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) {
      inString = true;
    } else if (c === 0x5b || c === 0x7b) {
      depth += 1;
      if (depth > max) return true;
    } else if (c === 0x5d || c === 0x7d) {
      depth -= 1;
    }
  }
  return false;
}

export function tooDeep() {
  return invalidInput(
    `the JSON body nests deeper than ${MAX_JSON_DEPTH} levels of arrays and objects; ` +
      'no route takes anything that deep',
    { where: 'body', maxDepth: MAX_JSON_DEPTH },
  );
}

// The router's query and parameter objects have a prototype of their own; their fields
// are copied out so that they are walked like parsed JSON.
const PARTS = [
  ['querystring', (r: FastifyRequest) => ({ ...(r.query as object) })],
  ['params', (r: FastifyRequest) => ({ ...(r.params as object) })],
  // An upload arrives as text or a stream; its importer names the finding at fault.
  ['body', (r: FastifyRequest) => (typeof r.body === 'string' ? undefined : r.body)],
] as const;

/**
 * Refuses, on every route and before any route sees it, a query parameter, path parameter
 * or JSON body string that holds NUL or a lone surrogate, naming where it is.
 */
export async function refuseUnstorableText(request: FastifyRequest): Promise<void> {
  for (const [where, part] of PARTS) {
    const found = findUnstorableText(part(request));
    if (!found) continue;
    const subject = found.path ? `${where}.${found.path}` : where;
    const what = found.inKey ? `${subject} is a field name that` : subject;
    throw invalidInput(`${what} ${describeTextProblem(found.problem)}`, {
      where,
      ...(found.path ? { field: found.path } : {}),
      problem: found.problem,
    });
  }
}
