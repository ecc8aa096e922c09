import { apiVersionOf, RESOURCES, type ResourceInfo } from './resources.ts';

/** What `/version` reports: a current Kubernetes minor. */
export const VERSION_INFO = {
  major: '1',
  minor: '31',
  gitVersion: 'v1.31.0-sandbox',
  gitCommit: '0000000000000000000000000000000000000000',
  gitTreeState: 'clean',
  buildDate: '2024-08-13T00:00:00Z',
  goVersion: 'go1.22.5',
  compiler: 'gc',
  platform: 'linux/amd64',
};

/** `/api`: the core group's versions. */
export function coreVersions(serverAddress: string) {
  return {
    kind: 'APIVersions',
    versions: ['v1'],
    serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress }],
  };
}

const appsGroup = {
  name: 'apps',
  versions: [{ groupVersion: 'apps/v1', version: 'v1' }],
  preferredVersion: { groupVersion: 'apps/v1', version: 'v1' },
};

/** `/apis`: the named groups. */
export function groupList() {
  return { kind: 'APIGroupList', apiVersion: 'v1', groups: [appsGroup] };
}

/** `/apis/apps`. */
export function group() {
  return { kind: 'APIGroup', apiVersion: 'v1', ...appsGroup };
}

/** `/api/v1` or `/apis/apps/v1`: the resources of one group version. */
export function resourceList(groupName: '' | 'apps') {
  const served = RESOURCES.filter((r) => r.group === groupName);
  return {
    kind: 'APIResourceList',
    apiVersion: 'v1',
    groupVersion: groupName ? 'apps/v1' : 'v1',
    resources: served.map(describe),
  };
}

function describe(res: ResourceInfo) {
  return {
    name: res.plural,
    singularName: res.singular,
    namespaced: res.namespaced,
    kind: res.kind,
    verbs: res.verbs,
    shortNames: res.shortNames,
    storageVersionHash: Buffer.from(apiVersionOf(res) + res.kind)
      .toString('base64')
      .slice(0, 11),
  };
}

/** `/openapi/v3`: where each group version's document would be (none is served). */
export function openApiIndex() {
  return {
    paths: {
      'api/v1': { serverRelativeURL: '/openapi/v3/api/v1' },
      'apis/apps/v1': { serverRelativeURL: '/openapi/v3/apis/apps/v1' },
    },
  };
}
