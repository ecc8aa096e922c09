import {
  type Check,
  type Container,
  containersWord,
  list,
  names,
  obj,
  quote,
  strings,
} from './pss-helpers.ts';

const RESTRICTED_VOLUME_TYPES = new Set([
  'configMap',
  'csi',
  'downwardAPI',
  'emptyDir',
  'ephemeral',
  'persistentVolumeClaim',
  'projected',
  'secret',
]);

/**
 * The restricted level's checks, by PSA check id: reason, check, and the baseline checks
 * each one replaces.
 */
export const RESTRICTED_CHECK_TABLE: Record<string, [string, Check, string[]]> = {
  restrictedVolumes: [
    'restricted volume types',
    (spec) => {
      const bad = list(spec.volumes).filter(
        (v) => !Object.keys(v).some((k) => k !== 'name' && RESTRICTED_VOLUME_TYPES.has(k)),
      );
      if (bad.length === 0) return null;
      const types = bad.flatMap((v) => Object.keys(v).filter((k) => k !== 'name'));
      return (
        `${bad.length === 1 ? 'volume' : 'volumes'} ${quote(bad.map((v) => String(v.name)))} ` +
        `${bad.length === 1 ? 'uses' : 'use'} restricted volume ` +
        `${types.length === 1 ? 'type' : 'types'} ${quote([...new Set(types)].sort())}`
      );
    },
    ['hostPathVolumes'],
  ],
  allowPrivilegeEscalation: [
    'allowPrivilegeEscalation != false',
    (_, cs) => {
      const bad = names(cs, (c) => obj(c.securityContext).allowPrivilegeEscalation !== false);
      return bad.length
        ? `${containersWord(bad)} must set securityContext.allowPrivilegeEscalation=false`
        : null;
    },
    [],
  ],
  runAsNonRoot: [
    'runAsNonRoot != true',
    (spec, cs) => {
      const podValue = obj(spec.securityContext).runAsNonRoot;
      if (podValue === false) return 'pod must not set securityContext.runAsNonRoot=false';
      const bad = names(cs, (c) => {
        const own = obj(c.securityContext).runAsNonRoot;
        return own === false || (own !== true && podValue !== true);
      });
      return bad.length
        ? `pod or ${containersWord(bad)} must set securityContext.runAsNonRoot=true`
        : null;
    },
    [],
  ],
  runAsUser: [
    'runAsUser=0',
    (spec, cs) => {
      const bad = names(cs, (c) => obj(c.securityContext).runAsUser === 0);
      if (obj(spec.securityContext).runAsUser === 0) bad.unshift('pod');
      return bad.length ? `${bad.join(', ')} must not set runAsUser=0` : null;
    },
    [],
  ],
  seccompProfile_restricted: [
    'seccompProfile',
    (spec, cs) => {
      const type = (sc: unknown) => obj(obj(sc).seccompProfile).type;
      const allowed = (t: unknown) => t === 'RuntimeDefault' || t === 'Localhost';
      const podType = type(spec.securityContext);
      if (podType !== undefined && !allowed(podType)) {
        return (
          'pod must set securityContext.seccompProfile.type to ' + '"RuntimeDefault" or "Localhost"'
        );
      }
      const bad = names(cs, (c) => {
        const own = type(c.securityContext);
        return own === undefined ? podType === undefined : !allowed(own);
      });
      return bad.length
        ? `pod or ${containersWord(bad)} must set securityContext.seccompProfile.type to ` +
            '"RuntimeDefault" or "Localhost"'
        : null;
    },
    ['seccompProfile_baseline'],
  ],
  capabilities_restricted: [
    'unrestricted capabilities',
    (_, cs) => {
      const caps = (c: Container) => obj(obj(c.securityContext).capabilities);
      const noDrop = names(cs, (c) => !strings(caps(c).drop).includes('ALL'));
      const added = new Set<string>();
      const adding = names(cs, (c) => {
        const extra = strings(caps(c).add).filter((cap) => cap !== 'NET_BIND_SERVICE');
        for (const cap of extra) added.add(cap);
        return extra.length > 0;
      });
      const details = [];
      if (noDrop.length) {
        details.push(
          `${containersWord(noDrop)} must set securityContext.capabilities.drop=["ALL"]`,
        );
      }
      if (adding.length) {
        details.push(
          `${containersWord(adding)} must not include ${quote([...added].sort())} ` +
            'in securityContext.capabilities.add',
        );
      }
      return details.length ? details.join('; ') : null;
    },
    ['capabilities_baseline'],
  ],
};
