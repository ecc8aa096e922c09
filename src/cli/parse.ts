import { InvalidArgumentError } from 'commander';

/** `true` or `false`, nothing looser: a typo must not flip a safety setting. */
export function parseBoolean(value: string): boolean {
  if (value === 'true') return true;
  if (value === 'false') return false;
  throw new InvalidArgumentError(`expected true or false, got "${value}".`);
}

export function parsePositiveInt(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < 1) {
    throw new InvalidArgumentError(`expected a whole number of at least 1, got "${value}".`);
  }
  return n;
}

export function parsePort(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || n > 65535) {
    throw new InvalidArgumentError(`expected a port from 0 to 65535, got "${value}".`);
  }
  return n;
}

/** `80,443`: whole numbers from 0 to 65535. */
export function parsePortList(value: string): number[] {
  const parts = value.split(',').map((p) => p.trim());
  const ports = parts.map((p) => (/^\d+$/.test(p) ? Number(p) : NaN));
  if (ports.some((p) => !Number.isInteger(p) || p < 0 || p > 65535)) {
    throw new InvalidArgumentError(
      `expected comma-separated ports from 0 to 65535, got "${value}".`,
    );
  }
  return ports;
}

/** A whole number from `min` to `max`, for options whose range the CLI knows. */
export function parseIntInRange(min: number, max: number): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < min || n > max) {
      throw new InvalidArgumentError(
        `expected a whole number from ${min} to ${max}, got "${value}".`,
      );
    }
    return n;
  };
}

/** Comma-separated values, each one of `allowed`; the value is passed on as given. */
export function parseListOf(allowed: readonly string[]): (value: string) => string {
  return (value) => {
    const items = value
      .split(',')
      .map((item) => item.trim())
      .filter(Boolean);
    const unknown = items.find((item) => !allowed.includes(item));
    if (items.length === 0 || unknown !== undefined) {
      const what = unknown === undefined ? 'no value' : `"${unknown}"`;
      throw new InvalidArgumentError(
        `expected comma-separated values from ${allowed.join(', ')}, got ${what}.`,
      );
    }
    return items.join(',');
  };
}

/** Text that must match `pattern`; `what` says in words what that is. */
export function parseMatching(pattern: RegExp, what: string): (value: string) => string {
  return (value) => {
    if (!pattern.test(value)) throw new InvalidArgumentError(`expected ${what}, got "${value}".`);
    return value;
  };
}
