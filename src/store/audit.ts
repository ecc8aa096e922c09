import type { Kysely, Selectable } from 'kysely';
import { invalidInput } from '../domain/errors.ts';
import { eventHash, GENESIS_HASH } from './audit-hash.ts';
import type { Database, EventRow } from './schema.ts';
import type { Page } from './store.ts';

/** One audit log entry with its place in the chain, as the console and the export show it. */
export interface AuditEntry {
  seq: number;
  id: number;
  actionId: string | null;
  at: string;
  actor: string;
  type: string;
  from: string | null;
  to: string | null;
  comment: string | null;
  data: unknown;
  prevHash: string;
  hash: string;
}

export interface AuditQuery {
  actionId?: string;
  actor?: string;
  type?: string[];
  /** ISO-8601; entries at or after it. */
  since?: string;
  /** ISO-8601; entries strictly before it. */
  until?: string;
  /** `desc` (newest first) by default. */
  order?: 'asc' | 'desc';
  /** 1 to 1000. */
  limit?: number;
  /** From a previous page's `nextCursor`. */
  cursor?: string;
}

export type AuditProblemKind = 'edited' | 'deleted' | 'inserted';

export interface AuditVerifyResult {
  ok: boolean;
  /** Entries checked. */
  entries: number;
  /** The head the database records: the last entry appended. */
  head: { seq: number; hash: string };
  /** The first problem along the chain; null when it verifies. */
  problem: {
    kind: AuditProblemKind;
    /** The chain position where the chain breaks. */
    seq: number | null;
    /** The event id involved, when one exists. */
    eventId: number | null;
    message: string;
  } | null;
}

export interface AuditStore {
  /** A page of the audit log, filtered; entries in chain order. */
  auditLog(query: AuditQuery): Promise<Page<AuditEntry>>;
  /** Walks the whole chain from its first entry and reports the first break. */
  verifyAudit(): Promise<AuditVerifyResult>;
}

export const MAX_AUDIT_PAGE = 1000;
const VERIFY_BATCH = 2000;

export function auditStore(db: Kysely<Database>): AuditStore {
  return {
    auditLog: (query) => auditLog(db, query),
    verifyAudit: () => verifyAudit(db),
  };
}

async function auditLog(db: Kysely<Database>, query: AuditQuery): Promise<Page<AuditEntry>> {
  const limit = query.limit ?? 100;
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_AUDIT_PAGE) {
    throw invalidInput(`limit must be a whole number from 1 to ${MAX_AUDIT_PAGE}, got ${limit}`);
  }
  const order = query.order ?? 'desc';
  let q = db.selectFrom('events').selectAll().where('seq', 'is not', null);
  if (query.actionId) q = q.where('action_id', '=', query.actionId);
  if (query.actor) q = q.where('actor', '=', query.actor);
  if (query.type?.length) q = q.where('type', 'in', query.type);
  const since = query.since ? isoTime('since', query.since) : undefined;
  const until = query.until ? isoTime('until', query.until) : undefined;
  if (since && until && since >= until) {
    // An empty range is a mistake (swapped bounds), not a question whose answer is nothing.
    throw invalidInput(
      `since (${query.since}) must be earlier than until (${query.until}); until is exclusive`,
      { filter: 'since' },
    );
  }
  if (since) q = q.where('at', '>=', since);
  if (until) q = q.where('at', '<', until);
  if (query.cursor) {
    const after = decodeCursor(query.cursor);
    q = q.where('seq', order === 'desc' ? '<' : '>', after);
  }
  const rows = await q
    .orderBy('seq', order)
    .limit(limit + 1)
    .execute();
  const items = rows.slice(0, limit).map(toEntry);
  const more = rows.length > limit;
  return { items, nextCursor: more ? String(items[items.length - 1]!.seq) : null };
}

/**
 * Checks every entry in chain order: positions run 1, 2, 3 without a gap (a gap is a
 * deleted entry), each entry's hash is the hash of its own fields (else it was edited),
 * each entry names the previous entry's hash (else the previous one was replaced), and
 * the chain ends at the head (else entries were deleted from the end or added past it).
 * An event with no place in the chain was inserted around the product.
 */
async function verifyAudit(db: Kysely<Database>): Promise<AuditVerifyResult> {
  const headRow = await db
    .selectFrom('audit_chain')
    .select(['seq', 'hash'])
    .where('id', '=', 1)
    .executeTakeFirstOrThrow();
  const head = { seq: Number(headRow.seq), hash: headRow.hash };
  let entries = 0;
  const result = (problem: AuditVerifyResult['problem']): AuditVerifyResult => ({
    ok: problem === null,
    entries,
    head,
    problem,
  });

  const stray = await db
    .selectFrom('events')
    .select('id')
    .where((eb) => eb.or([eb('seq', 'is', null), eb('hash', 'is', null)]))
    .orderBy('id')
    .executeTakeFirst();
  if (stray) {
    return result({
      kind: 'inserted',
      seq: null,
      eventId: Number(stray.id),
      message: `event ${stray.id} has no place in the audit chain: it was inserted directly`,
    });
  }

  let prev = { seq: 0, hash: GENESIS_HASH, id: null as number | null };
  for (;;) {
    const rows = await db
      .selectFrom('events')
      .selectAll()
      .where('seq', '>', prev.seq)
      .orderBy('seq')
      .limit(VERIFY_BATCH)
      .execute();
    for (const row of rows) {
      const seq = Number(row.seq);
      const id = Number(row.id);
      if (seq !== prev.seq + 1) {
        const missing = seq - prev.seq - 1;
        return result({
          kind: 'deleted',
          seq: prev.seq + 1,
          eventId: null,
          message:
            `${missing === 1 ? `entry ${prev.seq + 1} is` : `entries ${prev.seq + 1} to ${seq - 1} are`} ` +
            `missing between entry ${prev.seq} and entry ${seq} (event ${id}): deleted`,
        });
      }
      if (row.prev_hash !== prev.hash) {
        return result({
          kind: 'edited',
          seq: prev.seq,
          eventId: prev.id,
          message:
            `entry ${prev.seq} (event ${prev.id}) is not the entry that entry ${seq} ` +
            `(event ${id}) was chained to: it was edited and rehashed, or replaced`,
        });
      }
      if (eventHash(row) !== row.hash) {
        return result({
          kind: 'edited',
          seq,
          eventId: id,
          message: `entry ${seq} (event ${id}) does not match its hash: it was edited`,
        });
      }
      entries += 1;
      prev = { seq, hash: row.hash, id };
    }
    if (rows.length < VERIFY_BATCH) break;
  }

  if (prev.seq < head.seq) {
    return result({
      kind: 'deleted',
      seq: prev.seq + 1,
      eventId: null,
      message: `entries ${prev.seq + 1} to ${head.seq} are missing at the end of the chain: deleted`,
    });
  }
  if (prev.seq > head.seq || prev.hash !== head.hash) {
    return result({
      kind: prev.seq > head.seq ? 'inserted' : 'edited',
      seq: prev.seq > head.seq ? head.seq + 1 : prev.seq,
      eventId: prev.id,
      message:
        prev.seq > head.seq
          ? `entries ${head.seq + 1} to ${prev.seq} lie past the chain's head: inserted`
          : `entry ${prev.seq} (event ${prev.id}) is not the head the database recorded: edited`,
    });
  }
  return result(null);
}

function toEntry(row: Selectable<EventRow>): AuditEntry {
  return {
    seq: Number(row.seq),
    id: Number(row.id),
    actionId: row.action_id,
    at: row.at,
    actor: row.actor,
    type: row.type,
    from: row.from_status,
    to: row.to_status,
    comment: row.comment,
    data: parseData(row.data),
    prevHash: row.prev_hash,
    hash: row.hash,
  };
}

// An entry edited around the product may hold anything; it is shown as stored.
function parseData(text: string | null): unknown {
  if (text === null) return null;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

function isoTime(name: string, value: string): string {
  const time = new Date(value);
  if (!/^\d{4}-\d{2}-\d{2}/.test(value) || Number.isNaN(time.getTime())) {
    throw invalidInput(
      `${name} must be an ISO-8601 time such as 2026-01-31T12:00:00Z, got "${value}"`,
    );
  }
  return time.toISOString();
}

function decodeCursor(cursor: string): number {
  if (!/^[1-9]\d{0,15}$/.test(cursor)) {
    throw invalidInput(
      `cursor "${cursor}" is not one this server gave out; start from the first page`,
    );
  }
  return Number(cursor);
}
