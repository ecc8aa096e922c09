import type { StoredResource } from './runs.ts';
import { mapBounded } from './reads.ts';
import type { DiscoveredResource } from './types.ts';

/** Inventory reads in flight at once while filling in what a scan could not read. */
const LOOKUP_CONCURRENCY = 8;

/**
 * The resource with each attribute an optional read missed taken from its last known
 * reading, so a failed read changes neither the inventory (tags an exclusion matches keep
 * matching), nor a check's judgement, nor drift. What has no last known value stays unread.
 */
export function withLastKnown(
  resource: DiscoveredResource,
  known: Pick<StoredResource, 'tags' | 'config'> | undefined,
): DiscoveredResource {
  if (!resource.unread?.length) return resource;
  const config = { ...resource.config };
  let tags = resource.tags;
  const unread: string[] = [];
  for (const attribute of resource.unread) {
    if (known && attribute === 'tags') tags = { ...known.tags };
    else if (known && attribute in known.config && known.config[attribute] != null) {
      config[attribute] = known.config[attribute];
    } else unread.push(attribute);
  }
  const { unread: _missed, ...rest } = resource;
  return { ...rest, tags, config, ...(unread.length > 0 ? { unread } : {}) };
}

/** Fills in, from the inventory, what each resource's optional reads missed. */
export async function keepLastKnown(
  inventory: { getResource(id: string): Promise<StoredResource | undefined> },
  resources: DiscoveredResource[],
): Promise<DiscoveredResource[]> {
  return mapBounded(resources, LOOKUP_CONCURRENCY, async (resource) =>
    resource.unread?.length
      ? withLastKnown(resource, await inventory.getResource(resource.id))
      : resource,
  );
}
