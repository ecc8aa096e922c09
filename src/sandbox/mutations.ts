import type { Mutation } from './types.ts';

/** Every change the sandbox applied, in order; kept in memory only. */
export class MutationLog {
  #entries: Mutation[] = [];
  #seq = 0;

  record(change: Omit<Mutation, 'seq' | 'at'>, at: Date): Mutation {
    this.#seq += 1;
    const entry: Mutation = { seq: this.#seq, at: at.toISOString(), ...change };
    this.#entries.push(entry);
    return entry;
  }

  /** Entries with a sequence number above `since`. */
  list(since = 0): Mutation[] {
    if (since <= 0) return this.#entries.slice();
    return this.#entries.filter((m) => m.seq > since);
  }

  /** Forgets the entries; numbering carries on so a reader's `since` stays valid. */
  clear(): void {
    this.#entries = [];
  }
}
