import { SandboxInputError } from './api-error.ts';
import type { ActiveFault, FaultKind, FaultSpec } from './types.ts';

const KINDS: readonly FaultKind[] = ['latency', 'throttle', 'error'];

/** What the faults decided for one call. */
export interface FaultDraw {
  latencyMs: number;
  /** The throttle or error fault that fired, if any. */
  failure: FailingFault | null;
}

export type FailingFault = ActiveFault & { kind: 'throttle' | 'error' };

const NONE: FaultDraw = Object.freeze({ latencyMs: 0, failure: null });

/**
 * The faults in force. Latency faults add up; of the failing faults the first one
 * added that fires wins. A fault with a count is dropped once spent.
 */
export class FaultTable {
  #faults: ActiveFault[] = [];
  #nextId = 1;
  readonly #random: () => number;

  constructor(random: () => number) {
    this.#random = random;
  }

  add(spec: FaultSpec): ActiveFault {
    return this.addAll([spec])[0] as ActiveFault;
  }

  /** Adds every fault or, when one is invalid, none. */
  addAll(specs: readonly FaultSpec[]): ActiveFault[] {
    const parsed = specs.map((spec, i) => parseFault(spec, this.#nextId + i));
    this.#nextId += parsed.length;
    this.#faults.push(...parsed);
    return parsed.map((f) => ({ ...f }));
  }

  list(): ActiveFault[] {
    return this.#faults.map((f) => ({ ...f }));
  }

  clear(): void {
    this.#faults = [];
  }

  draw(service: string, operation: string): FaultDraw {
    if (this.#faults.length === 0) return NONE;
    let latencyMs = 0;
    let failure: FailingFault | null = null;
    for (const fault of this.#faults) {
      if (fault.service !== '*' && fault.service !== service) continue;
      if (fault.operation !== '*' && fault.operation !== operation) continue;
      if (fault.kind !== 'latency' && failure) continue;
      if (!this.#fires(fault)) continue;
      if (fault.kind === 'latency') latencyMs += fault.ms;
      else failure = { ...fault, kind: fault.kind };
    }
    this.#faults = this.#faults.filter((f) => f.remaining !== 0);
    return { latencyMs, failure };
  }

  #fires(fault: ActiveFault): boolean {
    if (fault.remaining !== null) {
      fault.remaining -= 1;
      return true;
    }
    return this.#random() < (fault.probability ?? 0);
  }
}

function parseFault(spec: FaultSpec, id: number): ActiveFault {
  if (typeof spec !== 'object' || spec === null) {
    throw new SandboxInputError(`a fault must be an object, got ${JSON.stringify(spec)}`);
  }
  const { kind, operation, service = '*', ms, count, probability, when = 'before' } = spec;
  if (!KINDS.includes(kind)) {
    throw new SandboxInputError(
      `fault kind must be one of ${KINDS.join(', ')}, got ${JSON.stringify(kind)}`,
    );
  }
  if (typeof operation !== 'string' || operation === '') {
    throw new SandboxInputError(
      `fault operation must name an operation (e.g. PutBucketEncryption) or be "*", ` +
        `got ${JSON.stringify(operation)}`,
    );
  }
  if (typeof service !== 'string' || service === '') {
    throw new SandboxInputError(
      `fault service must be a name or "*", got ${JSON.stringify(service)}`,
    );
  }
  if (kind === 'latency' && !(Number.isFinite(ms) && (ms as number) >= 0)) {
    throw new SandboxInputError(`a latency fault needs ms >= 0, got ${JSON.stringify(ms)}`);
  }
  if (when !== 'before' && when !== 'after') {
    throw new SandboxInputError(
      `fault "when" must be before or after, got ${JSON.stringify(when)}`,
    );
  }
  if (when === 'after' && kind === 'latency') {
    throw new SandboxInputError('"when: after" applies to throttle and error faults only');
  }
  if (count !== undefined && probability !== undefined) {
    throw new SandboxInputError('give a fault either count or probability, not both');
  }
  if (count !== undefined && !(Number.isInteger(count) && count > 0)) {
    throw new SandboxInputError(`fault count must be a whole number above 0, got ${count}`);
  }
  const chance = probability ?? null;
  if (chance !== null && !(typeof chance === 'number' && chance >= 0 && chance <= 1)) {
    throw new SandboxInputError(`fault probability must be from 0 to 1, got ${probability}`);
  }
  return {
    id,
    service,
    operation,
    kind,
    ms: kind === 'latency' ? (ms as number) : 0,
    remaining: chance === null ? (count ?? 1) : null,
    probability: chance,
    when,
  };
}

/** A small seeded generator (mulberry32) so probabilistic faults can be replayed. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
