import { Ajv } from 'ajv';
import type { FastifySchemaCompiler } from 'fastify';

/*
 * Two validators: query strings and path parameters arrive as text, so numbers there
 * are coerced; JSON bodies are taken exactly as sent, so `"true"` is not a boolean.
 * Neither drops unknown fields: a schema with `additionalProperties: false` refuses them.
 */
const common = {
  allErrors: false,
  removeAdditional: false,
  useDefaults: true,
  verbose: true,
  strict: false,
} as const;

const textAjv = new Ajv({ ...common, coerceTypes: 'array' });
const bodyAjv = new Ajv({ ...common, coerceTypes: false });

export const validatorCompiler: FastifySchemaCompiler<object> = ({ schema, httpPart }) => {
  const ajv = httpPart === 'body' ? bodyAjv : textAjv;
  return ajv.compile(schema);
};
