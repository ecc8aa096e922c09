import type { ResourceRef, SourceRef } from '../domain/action.ts';
import { AppError, invalidInput } from '../domain/errors.ts';
import { checkResource } from '../domain/resource.ts';
import type { Severity } from '../domain/status.ts';
import type { Catalog } from '../catalog/index.ts';
import type { Fix } from '../catalog/fix.ts';
import { planFor } from '../engine/plan.ts';
import type { NewAction } from '../store/store.ts';

/** The fix of `type`, or an `unsupported` error naming the fixes that exist. */
export function fixFor(catalog: Catalog, type: string): Fix {
  const fix = catalog.get(type);
  if (!fix) {
    const known = catalog
      .all()
      .map((f: Fix) => f.type)
      .join(', ');
    throw new AppError('unsupported', `no fix "${type}" in the catalog; known fixes: ${known}`, {
      type,
    });
  }
  return fix;
}

/** What the store needs to record a new action for `resource`, before any live read. */
export function newAction(
  fix: Fix,
  resource: ResourceRef,
  source: SourceRef,
  severity: Severity,
  params: Record<string, unknown> = {},
): NewAction {
  if (resource.type !== fix.resourceType && !fix.alsoAccepts?.includes(resource.type)) {
    throw invalidInput(
      `fix "${fix.type}" acts on ${fix.resourceType} resources, but resource ` +
        `"${resource.id}" is ${resource.type}; pick a fix for that resource type`,
      { type: fix.type, resourceType: resource.type },
    );
  }
  resource = checkResource(resource);
  return {
    type: fix.type,
    title: fix.title(resource, params),
    resource,
    source,
    severity,
    risk: fix.risk,
    params,
    plan: planFor(fix, resource, null, null),
  };
}
