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
  const parts = value.split(',').map((p) => p.trim()).filter(Boolean);
  const ports = parts.map(Number);
  if (ports.length === 0 || ports.some((p) => !Number.isInteger(p) || p < 0 || p > 65535)) {
    throw new InvalidArgumentError(`expected comma-separated ports from 0 to 65535, got "${value}".`);
  }
  return ports;
}
