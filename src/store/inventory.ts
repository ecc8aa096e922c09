import type { Kysely } from 'kysely';
import type { ActionSummary } from '../domain/action.ts';
import { conflict } from '../domain/errors.ts';
import type { FindingSummary } from '../domain/finding.ts';
import {
  DEFAULT_SCAN_SETTINGS,
  type ResourceSummary,
  type ScanRun,
  type ScanSettings,
  type ScanStatus,
  type ScanSummary,
  type ScanTrigger,
  type ScanUnitProgress,
  type StoredResource,
} from '../inventory/runs.ts';
import type { DiscoveredResource } from '../inventory/types.ts';
import { FINDING_SUMMARY_COLUMNS, toFindingSummary } from './finding-rows.ts';
import { resolveGoneFindings } from './gone-findings.ts';
import type { ResourceRow, ScanRunRow } from './inventory-rows.ts';
import {
  containsText,
  cursorKey,
  decodeCursor,
  encodeCursor,
  keysetPage,
  MAX_PAGE,
  pageLimit,
  pageOf,
} from './list.ts';
import { SUMMARY_COLUMNS, toSummary } from './rows.ts';
import type { Database } from './schema.ts';
import { type Group, read, write } from './settings.ts';
import type { Page } from './store.ts';
import { newId } from './ids.ts';

export interface ResourceQuery {
  provider?: string[];
  account?: string[];
  region?: string[];
  type?: string[];
  /** Case-insensitive substring of the id or name. */
  text?: string;
  /** Include resources no longer found; false unless set. */
  includeGone?: boolean;
  limit?: number;
  cursor?: string;
}

export interface ScanRunQuery {
  limit?: number;
  cursor?: string;
}

/** The resources one scan read, and which scopes it read completely. */
export interface InventoryUpdate {
  scanId: string;
  /**
   * When the scan began: what a complete scope last saw before then and does not list now
   * is gone. `now` unless given.
   */
  startedAt?: string;
  now: Date;
  /** Each resource with the scope (unit key) that listed it. */
  resources: { scope: string; resource: DiscoveredResource }[];
  /** Scopes read without any failure: their resources not seen now are gone. */
  completeScopes: string[];
}

export interface InventoryStore {
  /**
   * Starts a scan run. With `slot` (a scheduled scan's due time) the run is created only
   * if no run holds that slot yet; null when another replica took it first. One scan runs
   * at a time per database: while one runs, this throws a conflict whose `details.scanId`
   * names it.
   */
  startScan(input: {
    trigger: ScanTrigger;
    actor: string;
    now: Date;
    units: ScanUnitProgress[];
    slot?: string;
  }): Promise<ScanRun | null>;
  /**
   * Saves a running scan's progress and renews its heartbeat. False when the scan is no
   * longer running (another replica failed it as left by a stopped server).
   */
  updateScanUnits(id: string, units: ScanUnitProgress[], now: Date): Promise<boolean>;
  /**
   * Fails the scans still `running` whose heartbeat is older than `staleBefore`: the
   * server running them stopped. Returns how many.
   */
  abandonStaleScans(staleBefore: Date, now: Date): Promise<number>;
  finishScan(
    id: string,
    input: {
      status: Exclude<ScanStatus, 'running'>;
      now: Date;
      summary: ScanSummary | null;
      error?: string | null;
    },
  ): Promise<ScanRun>;
  getScan(id: string): Promise<ScanRun | undefined>;
  listScans(query: ScanRunQuery): Promise<Page<ScanRun>>;
  /** The newest slot a scheduled scan has claimed, or null when none has. */
  lastScheduledSlot(): Promise<string | null>;
  /** Upserts what a scan read and marks gone what complete scopes no longer list. */
  updateInventory(
    update: InventoryUpdate,
  ): Promise<{ added: number; updated: number; gone: number }>;
  getResource(id: string): Promise<StoredResource | undefined>;
  listResources(query: ResourceQuery): Promise<Page<ResourceSummary>>;
  /** The stored findings and the actions about one resource, newest first. */
  resourceLinks(id: string): Promise<{ findings: FindingSummary[]; actions: ActionSummary[] }>;
  getScanSettings(): Promise<ScanSettings>;
  updateScanSettings(
    patch: Partial<ScanSettings>,
    input: { actor: string; now: Date },
  ): Promise<ScanSettings>;
}

const SCAN: Group<ScanSettings> = { prefix: 'scan.', defaults: DEFAULT_SCAN_SETTINGS };

/** Rows per insert: well under both engines' bound-parameter limits. */
const CHUNK = 200;

const toRun = (row: ScanRunRow): ScanRun => ({
  id: row.id,
  trigger: row.trigger as ScanTrigger,
  actor: row.actor,
  status: row.status as ScanStatus,
  startedAt: row.started_at,
  finishedAt: row.finished_at,
  units: JSON.parse(row.units) as ScanUnitProgress[],
  summary: row.summary ? (JSON.parse(row.summary) as ScanSummary) : null,
  error: row.error,
});

const SUMMARY_FIELDS = [
  'id',
  'provider',
  'account',
  'region',
  'type',
  'name',
  'tags',
  'first_seen',
  'last_seen',
  'gone_at',
] as const;

const toResourceSummary = (
  row: Pick<ResourceRow, (typeof SUMMARY_FIELDS)[number]>,
): ResourceSummary => ({
  id: row.id,
  provider: row.provider as ResourceSummary['provider'],
  account: row.account,
  region: row.region,
  type: row.type,
  name: row.name,
  tags: JSON.parse(row.tags) as Record<string, string>,
  firstSeen: row.first_seen,
  lastSeen: row.last_seen,
  goneAt: row.gone_at,
});

export function inventoryStore(db: Kysely<Database>): InventoryStore {
  return {
    async startScan(input) {
      const row: ScanRunRow = {
        id: newId(),
        trigger: input.trigger,
        actor: input.actor,
        status: 'running',
        slot: input.slot ?? null,
        started_at: input.now.toISOString(),
        heartbeat_at: input.now.toISOString(),
        finished_at: null,
        units: JSON.stringify(input.units),
        summary: null,
        error: null,
      };
      // Refused by a unique index, not a prior check, so two replicas cannot both start one:
      // the slot's (one scheduled scan per slot) or the running scan's (one at a time).
      for (let attempt = 0; attempt < 3; attempt++) {
        const inserted = await db
          .insertInto('scan_runs')
          .values(row)
          .onConflict((oc) => oc.doNothing())
          .executeTakeFirst();
        if (Number(inserted.numInsertedOrUpdatedRows ?? 0) === 1) return toRun(row);
        if (input.slot) {
          const slot = await db
            .selectFrom('scan_runs')
            .select('id')
            .where('slot', '=', input.slot)
            .executeTakeFirst();
          if (slot) return null;
        }
        const running = await db
          .selectFrom('scan_runs')
          .selectAll()
          .where('status', '=', 'running')
          .executeTakeFirst();
        if (running) {
          throw conflict(
            `scan ${running.id} is already running (started ${running.started_at} by ` +
              `${running.actor}); one scan runs at a time: follow it with GET /scans/${running.id}`,
            { scanId: running.id },
          );
        }
        // The scan in the way finished in between: try again.
      }
      throw conflict('the scan could not be started: scans kept starting and ending around it');
    },

    async updateScanUnits(id, units, now) {
      const result = await db
        .updateTable('scan_runs')
        .set({ units: JSON.stringify(units), heartbeat_at: now.toISOString() })
        .where('id', '=', id)
        .where('status', '=', 'running')
        .executeTakeFirst();
      return Number(result.numUpdatedRows ?? 0) === 1;
    },

    async abandonStaleScans(staleBefore, now) {
      const stale = staleBefore.toISOString();
      const result = await db
        .updateTable('scan_runs')
        .set({
          status: 'failed',
          finished_at: now.toISOString(),
          error: `abandoned: the server running it stopped (no progress since before ${stale})`,
        })
        .where('status', '=', 'running')
        .where('heartbeat_at', '<', stale)
        .executeTakeFirst();
      return Number(result.numUpdatedRows ?? 0);
    },

    async finishScan(id, input) {
      const row = await db
        .updateTable('scan_runs')
        .set({
          status: input.status,
          finished_at: input.now.toISOString(),
          summary: input.summary ? JSON.stringify(input.summary) : null,
          error: input.error ?? null,
        })
        .where('id', '=', id)
        .where('status', '=', 'running')
        .returningAll()
        .executeTakeFirst();
      if (!row) throw conflict(`scan ${id} is not running`);
      return toRun(row);
    },

    async getScan(id) {
      const row = await db
        .selectFrom('scan_runs')
        .selectAll()
        .where('id', '=', id)
        .executeTakeFirst();
      return row ? toRun(row) : undefined;
    },

    async listScans(query) {
      const limit = pageLimit(query.limit);
      const page = await keysetPage(db, db.selectFrom('scan_runs').selectAll(), {
        scope: 'scans',
        column: 'started_at',
        valueType: 'string',
        order: 'desc',
        limit,
        cursor: query.cursor,
      });
      return { items: page.items.map(toRun), nextCursor: page.nextCursor };
    },

    async lastScheduledSlot() {
      const row = await db
        .selectFrom('scan_runs')
        .select('slot')
        .where('slot', 'is not', null)
        .orderBy('slot', 'desc')
        .limit(1)
        .executeTakeFirst();
      return row?.slot ?? null;
    },

    updateInventory: (update) => updateInventory(db, update),

    async getResource(id) {
      const row = await db
        .selectFrom('resources')
        .selectAll()
        .where('id', '=', id)
        .executeTakeFirst();
      if (!row) return undefined;
      return {
        ...toResourceSummary(row),
        config: JSON.parse(row.config) as Record<string, unknown>,
        lastScanId: row.last_scan_id,
      };
    },

    async listResources(query) {
      const limit = pageLimit(query.limit);
      let q = db.selectFrom('resources').select(SUMMARY_FIELDS);
      if (query.provider?.length) q = q.where('provider', 'in', query.provider);
      if (query.account?.length) q = q.where('account', 'in', query.account);
      if (query.region?.length) q = q.where('region', 'in', query.region);
      if (query.type?.length) q = q.where('type', 'in', query.type);
      if (!query.includeGone) q = q.where('gone_at', 'is', null);
      if (query.text?.trim()) q = q.where(containsText(query.text, ['id', 'name']));
      const key = await cursorKey(db);
      if (query.cursor) {
        const [, id] = decodeCursor(key, query.cursor, 'resources', 'string');
        q = q.where('id', '>', id);
      }
      const rows = await q
        .orderBy('id', 'asc')
        .limit(limit + 1)
        .execute();
      const page = pageOf(rows, limit, (last) => encodeCursor(key, 'resources', last.id, last.id));
      return { items: page.items.map(toResourceSummary), nextCursor: page.nextCursor };
    },

    async resourceLinks(id) {
      const [findings, actions] = await Promise.all([
        db
          .selectFrom('findings')
          .select(FINDING_SUMMARY_COLUMNS)
          .where('resource_id', '=', id)
          .orderBy('last_seen', 'desc')
          .limit(MAX_PAGE)
          .execute(),
        db
          .selectFrom('actions')
          .select(SUMMARY_COLUMNS)
          .where('resource_id', '=', id)
          .orderBy('created_at', 'desc')
          .limit(MAX_PAGE)
          .execute(),
      ]);
      return { findings: findings.map(toFindingSummary), actions: actions.map(toSummary) };
    },

    getScanSettings: () => read(db, SCAN),
    updateScanSettings: (patch, input) => write(db, SCAN, patch, input),
  };
}

async function updateInventory(
  db: Kysely<Database>,
  update: InventoryUpdate,
): Promise<{ added: number; updated: number; gone: number }> {
  const now = update.now.toISOString();
  // One resource can be listed twice within a scan (never by two scopes in practice);
  // the last reading wins.
  const byId = new Map(update.resources.map((r) => [r.resource.id, r]));
  const rows: ResourceRow[] = [...byId.values()].map(({ scope, resource }) => ({
    id: resource.id,
    provider: resource.provider,
    account: resource.account,
    region: resource.region,
    type: resource.type,
    name: resource.name,
    scope,
    tags: JSON.stringify(resource.tags),
    config: JSON.stringify(resource.config),
    first_seen: now,
    last_seen: now,
    gone_at: null,
    last_scan_id: update.scanId,
  }));
  return db.transaction().execute(async (trx) => {
    let added = 0;
    for (let i = 0; i < rows.length; i += CHUNK) {
      const chunk = rows.slice(i, i + CHUNK);
      const known = await trx
        .selectFrom('resources')
        .select('id')
        .where(
          'id',
          'in',
          chunk.map((r) => r.id),
        )
        .execute();
      added += chunk.length - known.length;
      await trx
        .insertInto('resources')
        .values(chunk)
        .onConflict((oc) =>
          oc.column('id').doUpdateSet((eb) => ({
            provider: eb.ref('excluded.provider'),
            account: eb.ref('excluded.account'),
            region: eb.ref('excluded.region'),
            type: eb.ref('excluded.type'),
            name: eb.ref('excluded.name'),
            scope: eb.ref('excluded.scope'),
            tags: eb.ref('excluded.tags'),
            config: eb.ref('excluded.config'),
            last_seen: eb.ref('excluded.last_seen'),
            gone_at: null,
            last_scan_id: eb.ref('excluded.last_scan_id'),
          })),
        )
        .execute();
    }
    const goneIds: string[] = [];
    for (const scope of update.completeScopes) {
      const found = await trx
        .selectFrom('resources')
        .select('id')
        .where('scope', '=', scope)
        // Not "not seen by this scan": a scan running alongside may have seen it since.
        .where('last_seen', '<', update.startedAt ?? now)
        .where('gone_at', 'is', null)
        .execute();
      const ids = found.map((r) => r.id);
      for (let i = 0; i < ids.length; i += CHUNK) {
        await trx
          .updateTable('resources')
          .set({ gone_at: now })
          .where('id', 'in', ids.slice(i, i + CHUNK))
          .execute();
      }
      goneIds.push(...ids);
    }
    await resolveGoneFindings(trx, goneIds, { actor: 'system', now: update.now });
    return { added, updated: rows.length - added, gone: goneIds.length };
  });
}

/** Every InventoryStore method, for the SQLite worker's forwarding table. */
export const INVENTORY_STORE_METHODS = {
  startScan: true,
  updateScanUnits: true,
  abandonStaleScans: true,
  finishScan: true,
  getScan: true,
  listScans: true,
  lastScheduledSlot: true,
  updateInventory: true,
  getResource: true,
  listResources: true,
  resourceLinks: true,
  getScanSettings: true,
  updateScanSettings: true,
} as const satisfies Record<keyof InventoryStore, true>;
