import type { FindingResource } from '../domain/finding.ts';
import type { DiscoveredResource } from '../inventory/types.ts';

/** The resource a finding about a discovered resource names: its envelope without config. */
export function findingResource(resource: DiscoveredResource): FindingResource {
  return {
    provider: resource.provider,
    account: resource.account,
    region: resource.region,
    type: resource.type,
    id: resource.id,
    name: resource.name,
    tags: resource.tags,
  };
}
