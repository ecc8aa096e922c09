import { createHash } from 'node:crypto';
import type { EventRow } from './schema.ts';

/** The `prev_hash` of the first entry of the audit chain. */
export const GENESIS_HASH = '0'.repeat(64);

/** The fields of an audit event the chain seals; `seq` is text when PostgreSQL reads it. */
export type ChainedFields = Omit<EventRow, 'id' | 'seq' | 'hash'> & { seq: number | string };

/**
 * SHA-256 over a canonical serialization of an event: a JSON array in a fixed field order,
 * so neither key order nor the engine's number types can change the digest. PostgreSQL
 * returns `seq` as text (int8), SQLite as a number; both hash as the number.
 *
 * The digest is of the text as stored, not as given: both drivers write a lone UTF-16
 * surrogate as U+FFFD, so each field is made well-formed the same way before hashing.
 * Otherwise an event appended with such text would read back as edited.
 */
export function eventHash(event: ChainedFields): string {
  const canonical = JSON.stringify([
    Number(event.seq),
    stored(event.action_id),
    stored(event.at),
    stored(event.actor),
    stored(event.type),
    stored(event.from_status),
    stored(event.to_status),
    stored(event.comment),
    stored(event.data),
    event.prev_hash,
  ]);
  return createHash('sha256').update(canonical).digest('hex');
}

function stored(text: string | null): string | null {
  return text === null ? null : text.toWellFormed();
}
