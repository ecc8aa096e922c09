const KEY_ID = /^(mrk-[0-9a-f]{32}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/;
const KEY_ARN = /^arn:aws[\w-]*:kms:[a-z0-9-]+:\d{12}:key\/.+$/;

/**
 * Whether an encrypted resource uses the key the operator configured. RDS reports the
 * key's ARN whatever form it was given in: a key ARN must match exactly and a key id must
 * end it. An alias is resolved by KMS, which this product does not call, so for an alias
 * the check is that the instance uses the very key RDS encrypted the copied snapshot with
 * when it was asked for that alias (`viaAlias`).
 */
export function usesKey(wanted: string, actual: string | null, viaAlias: string | null): boolean {
  if (actual === null) return false;
  if (KEY_ARN.test(wanted)) return actual === wanted;
  if (KEY_ID.test(wanted)) return actual.endsWith(`:key/${wanted}`);
  return viaAlias !== null && actual === viaAlias;
}

/** True for an alias name or alias ARN, which only KMS can resolve. */
export function isAlias(key: string): boolean {
  return !KEY_ARN.test(key) && !KEY_ID.test(key);
}
