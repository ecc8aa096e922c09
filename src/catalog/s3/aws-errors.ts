/** The S3 error codes the fixes act on, as S3 and the SDK name them. */
export const S3_ERROR = {
  noSuchBucket: 'NoSuchBucket',
  noEncryption: 'ServerSideEncryptionConfigurationNotFoundError',
  noPublicAccessBlock: 'NoSuchPublicAccessBlockConfiguration',
} as const;

/** True when `err` is the SDK's error for the given AWS error code. */
export function hasAwsCode(err: unknown, code: string): boolean {
  if (typeof err !== 'object' || err === null) return false;
  const e = err as { name?: unknown; Code?: unknown };
  return e.name === code || e.Code === code;
}

/**
 * Runs a read whose "not configured" answer is an error (S3 answers 404 for a missing
 * configuration) and turns that one error into null. Every other error, NoSuchBucket
 * included, reaches the caller as the SDK raised it.
 */
export async function nullWhenMissing<T>(code: string, read: () => Promise<T>): Promise<T | null> {
  try {
    return await read();
  } catch (err) {
    if (hasAwsCode(err, code)) return null;
    throw err;
  }
}
