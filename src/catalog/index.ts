import { enableTerminationProtection } from './ec2/enable-termination-protection.ts';
import { revokeOpenIngress } from './ec2/revoke-open-ingress.ts';
import type { Fix } from './fix.ts';
import { deactivateUnusedAccessKey } from './iam/deactivate-unused-access-key.ts';
import { rotateAccessKey } from './iam/rotate-access-key.ts';
import { enforcePodSecurity } from './k8s/enforce-pod-security.ts';
import { setResourceLimits } from './k8s/set-resource-limits.ts';
import { enableAutomatedBackups } from './rds/enable-automated-backups.ts';
import { enableMultiAz } from './rds/enable-multi-az.ts';
import { enableStorageEncryption } from './rds/enable-storage-encryption.ts';
import { blockPublicAccess } from './s3/block-public-access.ts';
import { enableDefaultEncryption } from './s3/enable-default-encryption.ts';
import { enableVersioning } from './s3/enable-versioning.ts';

/** Every fix the product offers. Adding one is one module and one line here. */
const FIXES: readonly Fix[] = [
  enableDefaultEncryption,
  blockPublicAccess,
  enableVersioning,
  rotateAccessKey,
  deactivateUnusedAccessKey,
  revokeOpenIngress,
  enableTerminationProtection,
  setResourceLimits,
  enforcePodSecurity,
  enableMultiAz,
  enableAutomatedBackups,
  enableStorageEncryption,
];

export interface Catalog {
  get(type: string): Fix | undefined;
  all(): readonly Fix[];
}

export function createCatalog(fixes: readonly Fix[] = FIXES): Catalog {
  const byType = new Map<string, Fix>();
  for (const fix of fixes) {
    if (byType.has(fix.type)) {
      throw new Error(`two fixes share the type "${fix.type}"; each catalog type must be unique`);
    }
    byType.set(fix.type, fix);
  }
  const all = Object.freeze([...fixes]);
  return {
    get: (type) => byType.get(type),
    all: () => all,
  };
}
