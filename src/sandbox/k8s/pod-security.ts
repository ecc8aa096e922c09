/**
 * The Pod Security Standards as Pod Security Admission applies them, for the checks a
 * sandbox workload can trip. Every version is evaluated with the latest rules.
 */

import {
  type Check,
  containersOf,
  containersWord,
  type Json,
  list,
  names,
  obj,
  quote,
  strings,
} from './pss-helpers.ts';
import { RESTRICTED_CHECK_TABLE } from './pss-restricted.ts';

export type Level = 'privileged' | 'baseline' | 'restricted';
export const LEVELS: readonly Level[] = ['privileged', 'baseline', 'restricted'];

export interface Violation {
  /** PSA's check id; violations are reported sorted by it, as PSA does. */
  id: string;
  /** The short reason in PSA's words, e.g. `host namespaces`. */
  reason: string;
  /** What exactly, e.g. `container "app" must not set securityContext.privileged=true`. */
  detail: string;
}

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
const SAFE_SYSCTLS = new Set([
  'kernel.shm_rmid_forced',
  'net.ipv4.ip_local_port_range',
  'net.ipv4.ip_unprivileged_port_start',
  'net.ipv4.tcp_syncookies',
  'net.ipv4.ping_group_range',
  'net.ipv4.ip_local_reserved_ports',
  'net.ipv4.tcp_keepalive_time',
  'net.ipv4.tcp_fin_timeout',
  'net.ipv4.tcp_keepalive_intvl',
  'net.ipv4.tcp_keepalive_probes',
]);
const BASELINE: Record<string, [string, Check]> = {
  hostNamespaces: [
    'host namespaces',
    (spec) => {
      const on = ['hostNetwork', 'hostPID', 'hostIPC'].filter((k) => spec[k] === true);
      return on.length ? on.map((k) => `${k}=true`).join(', ') : null;
    },
  ],
  privileged: [
    'privileged',
    (_, cs) => {
      const bad = names(cs, (c) => obj(c.securityContext).privileged === true);
      return bad.length
        ? `${containersWord(bad)} must not set securityContext.privileged=true`
        : null;
    },
  ],
  capabilities_baseline: [
    'non-default capabilities',
    (_, cs) => {
      const added = new Set<string>();
      const bad = names(cs, (c) => {
        const extra = strings(obj(obj(c.securityContext).capabilities).add).filter(
          (cap) => !BASELINE_CAPABILITIES.has(cap),
        );
        for (const cap of extra) added.add(cap);
        return extra.length > 0;
      });
      return bad.length
        ? `${containersWord(bad)} must not include ${quote([...added].sort())} in ` +
            'securityContext.capabilities.add'
        : null;
    },
  ],
  hostPathVolumes: [
    'hostPath volumes',
    (spec) => {
      const bad = list(spec.volumes)
        .filter((v) => v.hostPath)
        .map((v) => String(v.name));
      return bad.length ? `${bad.length === 1 ? 'volume' : 'volumes'} ${quote(bad)}` : null;
    },
  ],
  hostPorts: [
    'hostPort',
    (_, cs) => {
      const ports: number[] = [];
      const bad = names(cs, (c) => {
        const used = (c.ports ?? []).map((p) => p.hostPort ?? 0).filter((p) => p !== 0);
        ports.push(...used);
        return used.length > 0;
      });
      return bad.length
        ? `${containersWord(bad)} ${bad.length === 1 ? 'uses' : 'use'} ` +
            `${ports.length === 1 ? 'hostPort' : 'hostPorts'} ${ports.join(', ')}`
        : null;
    },
  ],
  procMount: [
    'procMount',
    (_, cs) => {
      const bad = names(cs, (c) => {
        const mount = obj(c.securityContext).procMount;
        return mount !== undefined && mount !== 'Default';
      });
      return bad.length ? `${containersWord(bad)} must not set securityContext.procMount` : null;
    },
  ],
  seccompProfile_baseline: [
    'seccompProfile',
    (spec, cs) => {
      const unconfined = (sc: unknown) => obj(obj(sc).seccompProfile).type === 'Unconfined';
      const bad = names(cs, (c) => unconfined(c.securityContext));
      if (unconfined(spec.securityContext)) bad.unshift('pod');
      return bad.length
        ? `${bad.join(', ')} must not set securityContext.seccompProfile.type ` + 'to "Unconfined"'
        : null;
    },
  ],
  sysctls: [
    'forbidden sysctls',
    (spec) => {
      const bad = list(obj(spec.securityContext).sysctls)
        .map((s) => String(s.name))
        .filter((n) => !SAFE_SYSCTLS.has(n));
      return bad.length ? bad.join(', ') : null;
    },
  ],
};

interface CheckDef {
  id: string;
  reason: string;
  check: Check;
  /** Baseline checks a stricter restricted check replaces. */
  overrides: string[];
}

const BASELINE_CHECKS: CheckDef[] = Object.entries(BASELINE).map(([id, [reason, check]]) => ({
  id,
  reason,
  check,
  overrides: [],
}));
const RESTRICTED_CHECKS: CheckDef[] = Object.entries(RESTRICTED_CHECK_TABLE).map(
  ([id, [reason, check, overrides]]) => ({ id, reason, check, overrides }),
);

/** The checks a pod spec fails at `level`, sorted by check id as PSA reports them. */
export function evaluatePodSpec(level: Level, spec: Json): Violation[] {
  if (level === 'privileged') return [];
  const active =
    level === 'restricted' ? [...BASELINE_CHECKS, ...RESTRICTED_CHECKS] : BASELINE_CHECKS;
  const overridden = new Set(active.flatMap((c) => c.overrides));
  const containers = containersOf(spec);
  const out: Violation[] = [];
  for (const { id, reason, check } of active) {
    if (overridden.has(id)) continue;
    const detail = check(spec, containers);
    if (detail !== null) out.push({ id, reason, detail });
  }
  return out.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

/** `host namespaces, privileged`: what PSA names in its warnings. */
export function forbiddenReason(violations: Violation[]): string {
  return violations.map((v) => v.reason).join(', ');
}

/** `privileged (container "a" must not ...); ...`: what PSA says when it refuses a pod. */
export function forbiddenDetail(violations: Violation[]): string {
  return violations.map((v) => `${v.reason} (${v.detail})`).join('; ');
}
