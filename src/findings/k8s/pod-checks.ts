/**
 * What a manifest's pod template is checked for: missing CPU and memory requests and
 * limits, and the Pod Security Standards checks that matter most (baseline and
 * restricted), named by their PSA check ids.
 */

type Json = Record<string, unknown>;

export interface PodCheck {
  id: string;
  /** What a failure is, e.g. `CPU requests are not set`. */
  title: string;
  /** What a pass is, e.g. `CPU requests are set`. */
  ok: string;
  /** `resources`, `PSS baseline` or `PSS restricted`. */
  group: 'resources' | 'PSS baseline' | 'PSS restricted';
  severity: 'low' | 'medium' | 'high';
  /** The containers (or `pod`) at fault; empty when the check passes. */
  failing(spec: Json, containers: Container[]): string[];
}

export interface Container extends Json {
  name: string;
  init: boolean;
}

const obj = (v: unknown): Json =>
  typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Json) : {};
const strings = (v: unknown): string[] =>
  Array.isArray(v) ? v.filter((s): s is string => typeof s === 'string') : [];
const sc = (c: Json) => obj(c.securityContext);
const names = (cs: Container[], bad: (c: Container) => boolean) =>
  cs.filter(bad).map((c) => c.name);

const BASELINE_CAPABILITIES = new Set([
  'AUDIT_WRITE',
  'CHOWN',
  'DAC_OVERRIDE',
  'FOWNER',
  'FSETID',
  'KILL',
  'MKNOD',
  'NET_BIND_SERVICE',
  'SETFCAP',
  'SETGID',
  'SETPCAP',
  'SETUID',
  'SYS_CHROOT',
]);

function missing(part: 'requests' | 'limits', name: 'cpu' | 'memory') {
  return (_: Json, cs: Container[]) =>
    names(cs, (c) => {
      const value = obj(obj(c.resources)[part])[name];
      return !((typeof value === 'string' && value !== '') || typeof value === 'number');
    });
}

export const POD_CHECKS: readonly PodCheck[] = [
  {
    id: 'cpuRequestsMissing',
    ok: 'CPU requests are set',
    title: 'CPU requests are not set',
    group: 'resources',
    severity: 'medium',
    failing: missing('requests', 'cpu'),
  },
  {
    id: 'memoryRequestsMissing',
    ok: 'Memory requests are set',
    title: 'Memory requests are not set',
    group: 'resources',
    severity: 'medium',
    failing: missing('requests', 'memory'),
  },
  {
    id: 'cpuLimitsMissing',
    ok: 'CPU limits are set',
    title: 'CPU limits are not set',
    group: 'resources',
    severity: 'medium',
    failing: missing('limits', 'cpu'),
  },
  {
    id: 'memoryLimitsMissing',
    ok: 'Memory limits are set',
    title: 'Memory limits are not set',
    group: 'resources',
    severity: 'medium',
    failing: missing('limits', 'memory'),
  },
  {
    id: 'hostNamespaces',
    ok: 'Pod uses its own network, PID and IPC namespaces',
    title: 'Pod shares the host network, PID or IPC namespace',
    group: 'PSS baseline',
    severity: 'high',
    failing: (spec) =>
      ['hostNetwork', 'hostPID', 'hostIPC'].some((k) => spec[k] === true) ? ['pod'] : [],
  },
  {
    id: 'privileged',
    ok: 'No container runs privileged',
    title: 'Container runs privileged',
    group: 'PSS baseline',
    severity: 'high',
    failing: (_, cs) => names(cs, (c) => sc(c).privileged === true),
  },
  {
    id: 'capabilities',
    ok: 'No container adds capabilities beyond the baseline set',
    title: 'Container adds capabilities beyond the baseline set',
    group: 'PSS baseline',
    severity: 'high',
    failing: (_, cs) =>
      names(cs, (c) =>
        strings(obj(sc(c).capabilities).add).some((cap) => !BASELINE_CAPABILITIES.has(cap)),
      ),
  },
  {
    id: 'hostPathVolumes',
    ok: 'No hostPath volumes',
    title: 'Pod mounts a hostPath volume',
    group: 'PSS baseline',
    severity: 'high',
    failing: (spec) =>
      (Array.isArray(spec.volumes) ? spec.volumes : [])
        .map(obj)
        .filter((v) => v.hostPath)
        .map((v) => `volume ${String(v.name)}`),
  },
  {
    id: 'hostPorts',
    ok: 'No host ports',
    title: 'Container uses a host port',
    group: 'PSS baseline',
    severity: 'medium',
    failing: (_, cs) =>
      names(cs, (c) =>
        (Array.isArray(c.ports) ? c.ports : []).some((p) => Number(obj(p).hostPort ?? 0) !== 0),
      ),
  },
  {
    id: 'allowPrivilegeEscalation',
    ok: 'Every container sets allowPrivilegeEscalation to false',
    title: 'Container does not set allowPrivilegeEscalation to false',
    group: 'PSS restricted',
    severity: 'medium',
    failing: (_, cs) => names(cs, (c) => sc(c).allowPrivilegeEscalation !== false),
  },
  {
    id: 'runAsNonRoot',
    ok: 'Every container runs as non-root',
    title: 'Container may run as root (runAsNonRoot is not true)',
    group: 'PSS restricted',
    severity: 'medium',
    failing: (spec, cs) => {
      const pod = obj(spec.securityContext).runAsNonRoot;
      if (pod === false) return ['pod'];
      return names(
        cs,
        (c) => sc(c).runAsNonRoot === false || (sc(c).runAsNonRoot !== true && pod !== true),
      );
    },
  },
  {
    id: 'runAsUser',
    ok: 'No container sets runAsUser to 0',
    title: 'Pod or container sets runAsUser to 0 (root)',
    group: 'PSS restricted',
    severity: 'medium',
    failing: (spec, cs) => [
      ...(obj(spec.securityContext).runAsUser === 0 ? ['pod'] : []),
      ...names(cs, (c) => sc(c).runAsUser === 0),
    ],
  },
  {
    id: 'seccompProfile',
    ok: 'A RuntimeDefault or Localhost seccomp profile is set',
    title: 'No RuntimeDefault or Localhost seccomp profile',
    group: 'PSS restricted',
    severity: 'low',
    failing: (spec, cs) => {
      const type = (v: Json) => obj(v.seccompProfile).type;
      const ok = (t: unknown) => t === 'RuntimeDefault' || t === 'Localhost';
      const pod = type(obj(spec.securityContext));
      if (pod !== undefined && !ok(pod)) return ['pod'];
      return names(cs, (c) => (type(sc(c)) === undefined ? pod === undefined : !ok(type(sc(c)))));
    },
  },
];

/** The pod spec's containers and init containers, each with its name and kind. */
export function containersOf(spec: Json): Container[] {
  const list = (field: string, init: boolean) =>
    (Array.isArray(spec[field]) ? spec[field] : []).map((c) => ({ ...obj(c), init }) as Container);
  return [...list('initContainers', true), ...list('containers', false)];
}
