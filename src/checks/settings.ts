import { invalidInput } from '../domain/errors.ts';

/**
 * What the built-in checks judge by. Stored with the other settings (keys `checks.*`),
 * changed through `PUT /settings/checks` and `infraudit settings checks set`.
 */
export interface CheckSettings {
  /** TCP ports that must not be open to 0.0.0.0/0 or ::/0. */
  sensitivePorts: number[];
  /** An active access key older than this many days is due for rotation. */
  keyRotationDays: number;
  /** An active access key unused (or never used) for this many days should be deactivated. */
  keyUnusedDays: number;
  /** Namespaces the pod security label check leaves alone (the cluster's own). */
  podSecurityExemptNamespaces: string[];
}

/**
 * SSH, RDP, Telnet, FTP, SMB/NetBIOS, mail, VNC, and the common databases, caches, queues
 * and search engines: the ports scanners' open-ingress checks name.
 */
export const DEFAULT_SENSITIVE_PORTS: readonly number[] = Object.freeze([
  20, 21, 22, 23, 25, 110, 135, 139, 143, 445, 1433, 1434, 1521, 2483, 2484, 3306, 3389, 5432, 5601,
  5900, 6379, 7199, 8888, 9042, 9092, 9160, 9200, 9300, 11211, 27017, 27018,
]);

export const DEFAULT_CHECK_SETTINGS: CheckSettings = Object.freeze({
  sensitivePorts: [...DEFAULT_SENSITIVE_PORTS],
  keyRotationDays: 90,
  keyUnusedDays: 90,
  podSecurityExemptNamespaces: ['kube-system', 'kube-public', 'kube-node-lease'],
}) as CheckSettings;

export const CHECK_DAYS_MAX = 3650;

const days = (v: unknown) =>
  Number.isInteger(v) && (v as number) >= 1 && (v as number) <= CHECK_DAYS_MAX
    ? null
    : `a whole number of days from 1 to ${CHECK_DAYS_MAX}`;

const NAMESPACE = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

const CHECKS: Record<keyof CheckSettings, (value: unknown) => string | null> = {
  sensitivePorts: (v) =>
    Array.isArray(v) &&
    v.length > 0 &&
    v.every((p) => Number.isInteger(p) && p >= 1 && p <= 65535) &&
    new Set(v).size === v.length
      ? null
      : 'a non-empty list of distinct port numbers from 1 to 65535',
  keyRotationDays: days,
  keyUnusedDays: days,
  podSecurityExemptNamespaces: (v) =>
    Array.isArray(v) &&
    v.every((n) => typeof n === 'string' && NAMESPACE.test(n)) &&
    new Set(v).size === v.length
      ? null
      : 'a list of distinct Kubernetes namespace names',
};

export const CHECK_SETTING_KEYS = Object.keys(CHECKS) as (keyof CheckSettings)[];

/** What is wrong with one setting's value, as "must be ..." would end; null when it is fine. */
export function checkSettingProblem(key: keyof CheckSettings, value: unknown): string | null {
  return CHECKS[key](value);
}

/** Validates a partial change; anything wrong refuses the whole patch. */
export function parseCheckSettingsPatch(input: unknown): Partial<CheckSettings> {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw invalidInput('check settings must be a JSON object');
  }
  const patch: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(input)) {
    const check = CHECKS[key as keyof CheckSettings];
    if (!check) {
      throw invalidInput(
        `unknown check setting "${key}"; known settings are ${CHECK_SETTING_KEYS.join(', ')}`,
      );
    }
    const problem = check(value);
    if (problem) {
      throw invalidInput(
        `check setting "${key}" must be ${problem}, got ${JSON.stringify(value)}`,
        { setting: key },
      );
    }
    patch[key] = value;
  }
  if (Object.keys(patch).length === 0) throw invalidInput('no check settings given to change');
  return patch as Partial<CheckSettings>;
}
