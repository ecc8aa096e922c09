import { isDeepStrictEqual } from 'node:util';
import type { Kysely, Transaction } from 'kysely';
import { type CheckSettings, DEFAULT_CHECK_SETTINGS } from '../checks/settings.ts';
import { invalidInput, notFound } from '../domain/errors.ts';
import type { Baseline, BaselineReason } from '../drift/detect.ts';
import {
  actionResourceIds,
  type BaselineState,
  followActions,
  type SettledAction,
} from '../drift/follow.ts';
import type { DiscoveredResource } from '../inventory/types.ts';
import type { BaselineRow } from './baseline-rows.ts';
import type { ResourceRow } from './inventory-rows.ts';
import { appendEvent } from './events.ts';
import { dataText } from './rows.ts';
import type { Database } from './schema.ts';
import { type Group, read, write } from './settings.ts';
import { newId } from './ids.ts';

export interface BaselineQuery {
  resourceId?: string;
  type?: string;
  account?: string;
  /** Only the active versions (the default), or every version. */
  allVersions?: boolean;
  /** 1 to 1000; 100 when absent. */
  limit?: number;
  offset?: number;
}

export interface CaptureOptions {
  actor: string;
  now: Date;
  reason: Exclude<BaselineReason, 'discovered'>;
  /** Refuse resources that have no baseline yet: a promotion needs one to replace. */
  existingOnly?: boolean;
}

export interface BaselineStore {
  /**
   * A scan's step, in one transaction: captures version 1 for each resource that has no
   * baseline yet, a new version for each that an action completed or rolled back on since its
   * baseline, and returns the active baseline of every resource given. `captured` counts both.
   */
  ensureBaselines(
    resources: DiscoveredResource[],
    opts: { actor: string; now: Date },
  ): Promise<{ baselines: Baseline[]; captured: number }>;
  /**
   * Makes each resource's given configuration its new active baseline (the old versions stay
   * as history), in one transaction: all are recorded or none. Audited as one event. With
   * `existingOnly`, a resource that has no baseline yet is `not_found` and nothing changes.
   */
  captureBaselines(resources: DiscoveredResource[], opts: CaptureOptions): Promise<Baseline[]>;
  /**
   * The resources a capture is about, as the inventory holds them: the named ones, or every
   * resource still present. An unknown or gone resource is `not_found`; with `existingOnly`,
   * so is a resource that has no baseline yet (nothing to promote). Changes nothing.
   */
  baselineTargets(
    target: { resourceIds?: string[]; all?: boolean },
    opts?: { existingOnly?: boolean },
  ): Promise<DiscoveredResource[]>;
  listBaselines(query: BaselineQuery): Promise<{ items: Baseline[]; total: number }>;
  getBaseline(id: string): Promise<Baseline | undefined>;
  /** The active baselines of these resources; resources without one are left out. */
  activeBaselines(resourceIds: string[]): Promise<Baseline[]>;

  getCheckSettings(): Promise<CheckSettings>;
  updateCheckSettings(
    patch: Partial<CheckSettings>,
    input: { actor: string; now: Date },
  ): Promise<CheckSettings>;
}

const CHECKS: Group<CheckSettings> = { prefix: 'checks.', defaults: DEFAULT_CHECK_SETTINGS };

/** Rows per statement, under SQLite's limit on bound variables. */
const CHUNK = 500;
const MAX_LIST = 1000;

type Db = Kysely<Database> | Transaction<Database>;

export function toBaseline(row: BaselineRow): Baseline {
  return {
    id: row.id,
    resourceId: row.resource_id,
    provider: row.resource_provider as Baseline['provider'],
    account: row.resource_account,
    region: row.resource_region,
    type: row.resource_type,
    name: row.resource_name,
    version: Number(row.version),
    config: JSON.parse(row.config),
    tags: JSON.parse(row.tags),
    capturedAt: row.captured_at,
    capturedBy: row.captured_by,
    reason: row.reason as BaselineReason,
    active: row.active_key !== null,
  };
}

function rowOf(
  resource: DiscoveredResource,
  version: number,
  opts: { actor: string; now: Date; reason: BaselineReason },
): BaselineRow {
  return {
    id: newId(),
    resource_id: resource.id,
    resource_provider: resource.provider,
    resource_account: resource.account,
    resource_region: resource.region,
    resource_type: resource.type,
    resource_name: resource.name,
    version,
    config: JSON.stringify(resource.config),
    tags: JSON.stringify(resource.tags ?? {}),
    captured_at: opts.now.toISOString(),
    captured_by: opts.actor,
    reason: opts.reason,
    active_key: resource.id,
  };
}

function chunks<T>(list: T[]): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < list.length; i += CHUNK) out.push(list.slice(i, i + CHUNK));
  return out;
}

async function active(db: Db, resourceIds: string[]): Promise<Baseline[]> {
  const out: Baseline[] = [];
  for (const ids of chunks([...new Set(resourceIds)])) {
    const rows = await db
      .selectFrom('baselines')
      .selectAll()
      .where('active_key', 'in', ids)
      .execute();
    out.push(...rows.map(toBaseline));
  }
  return out;
}

/** One resource per id: a list naming a resource twice would make two baselines of one state. */
function unique(resources: DiscoveredResource[]): DiscoveredResource[] {
  const byId = new Map<string, DiscoveredResource>();
  for (const r of resources) {
    if (typeof r?.id !== 'string' || r.id === '') {
      throw invalidInput('every resource of a baseline needs its id');
    }
    byId.set(r.id, r);
  }
  return [...byId.values()];
}

async function ensureBaselines(
  db: Kysely<Database>,
  resources: DiscoveredResource[],
  opts: { actor: string; now: Date },
): Promise<{ baselines: Baseline[]; captured: number }> {
  const list = unique(resources);
  const ids = list.map((r) => r.id);
  return db.transaction().execute(async (trx) => {
    const current = new Map((await active(trx, ids)).map((b) => [b.resourceId, b]));
    // A first baseline records a full reading, never a guess for what a read missed.
    const missing = list.filter((r) => !current.has(r.id) && !r.unread?.length);
    // A resource that lost its active baseline keeps its history: the new one numbers on.
    const versions = await latestVersions(
      trx,
      missing.map((r) => r.id),
    );
    const rows = missing.map((r) =>
      rowOf(r, (versions.get(r.id) ?? 0) + 1, { ...opts, reason: 'discovered' }),
    );
    for (const batch of chunks(rows)) {
      // A concurrent scan may have captured the same resource first; its baseline stands.
      await trx
        .insertInto('baselines')
        .values(batch)
        .onConflict((oc) => oc.doNothing())
        .execute();
    }
    if (rows.length > 0) {
      await appendEvent(trx, {
        action_id: null,
        at: opts.now.toISOString(),
        actor: opts.actor,
        type: 'baseline',
        comment: 'discovered',
        data: dataText({ count: rows.length, resourceIds: rows.map((r) => r.resource_id) }),
      });
    }
    // A change the product made itself was approved and audited: what it changed is the new
    // reference, and only what it left alone can still drift.
    const settled = await settledSince(trx, list, current);
    await addStatesBeforeFixes(trx, settled, current);
    const followed = list.flatMap((r) => {
      const actions = settled.get(r.id);
      const baseline = current.get(r.id);
      if (!actions || !baseline) return [];
      const next = followActions(baseline, r, actions);
      // Rollbacks alone move the baseline only where a baseline had recorded their fix.
      const unchanged =
        isDeepStrictEqual(next.config, baseline.config) &&
        isDeepStrictEqual(next.tags, baseline.tags);
      if (unchanged && actions.every((a) => a.status === 'rolled_back')) return [];
      return [{ ...r, ...next }];
    });
    if (followed.length > 0) {
      await capture(trx, followed, { ...opts, reason: 'remediated' }, (id) => ({
        after: settled.get(id)?.map((a) => ({ actionId: a.id, status: a.status })),
      }));
    }
    return { baselines: await active(trx, ids), captured: rows.length + followed.length };
  });
}

/** Statuses in which an action has changed its resource for good (or put it back). */
const SETTLED = ['completed', 'rolled_back'];

/**
 * For each resource with a baseline, the actions that completed or were rolled back on it
 * after that baseline was captured, oldest first.
 */
async function settledSince(
  db: Db,
  resources: DiscoveredResource[],
  current: Map<string, Baseline>,
): Promise<Map<string, Settled[]>> {
  const byActionResource = new Map<string, string[]>();
  for (const resource of resources) {
    if (!current.has(resource.id)) continue;
    for (const id of actionResourceIds(resource)) {
      byActionResource.set(id, [...(byActionResource.get(id) ?? []), resource.id]);
    }
  }
  const found = new Map<string, (Settled & { at: string })[]>();
  for (const ids of chunks([...byActionResource.keys()])) {
    const rows = await db
      .selectFrom('actions')
      .select(['id', 'type', 'status', 'resource_id', 'updated_at', 'completed_at'])
      .where('resource_id', 'in', ids)
      .where('status', 'in', SETTLED)
      .execute();
    for (const row of rows) {
      for (const resourceId of byActionResource.get(row.resource_id) ?? []) {
        if (row.updated_at <= (current.get(resourceId)?.capturedAt ?? '')) continue;
        const action = {
          id: row.id,
          type: row.type,
          status: row.status,
          at: row.updated_at,
          completedAt: row.completed_at,
        };
        found.set(resourceId, [...(found.get(resourceId) ?? []), action]);
      }
    }
  }
  return new Map(
    [...found].map(([id, actions]) => [
      id,
      actions
        .sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0))
        .map(({ at: _at, ...action }) => action),
    ]),
  );
}

/**
 * For each rolled-back action, the baseline its resource had before the fix, when only
 * baselines the product moved itself (`remediated`) were taken since the fix completed:
 * one of them recorded what the rollback undid. A baseline a person captured or promoted
 * since stands as they chose it, and an action that never completed changed no baseline.
 */
async function addStatesBeforeFixes(
  db: Db,
  settled: Map<string, Settled[]>,
  current: Map<string, Baseline>,
): Promise<void> {
  const ids = [...settled]
    .filter(([, actions]) => actions.some((a) => a.status === 'rolled_back' && a.completedAt))
    .map(([id]) => id);
  if (ids.length === 0) return;
  const history = new Map<string, HistoryRow[]>();
  for (const batch of chunks(ids)) {
    const rows = await db
      .selectFrom('baselines')
      .select(['resource_id', 'version', 'captured_at', 'reason', 'config', 'tags'])
      .where('resource_id', 'in', batch)
      .execute();
    for (const row of rows) {
      history.set(row.resource_id, [...(history.get(row.resource_id) ?? []), row]);
    }
  }
  for (const id of ids) {
    const versions = (history.get(id) ?? []).sort((a, b) => Number(a.version) - Number(b.version));
    const active = current.get(id);
    for (const action of settled.get(id) ?? []) {
      if (action.status !== 'rolled_back' || !action.completedAt) continue;
      const completedAt = action.completedAt;
      const since = versions.findIndex((v) => v.captured_at > completedAt);
      const before = since === -1 ? versions.at(-1) : versions[since - 1];
      if (!before || since === -1 || Number(before.version) === active?.version) continue;
      if (versions.slice(since).some((v) => v.reason !== 'remediated')) continue;
      action.before = stateOf(before);
    }
  }
}

/** A settled action and when its fix completed (null if it never did). */
type Settled = SettledAction & { completedAt: string | null };
type HistoryRow = Pick<BaselineRow, 'resource_id' | 'version' | 'captured_at' | 'reason'> &
  Pick<BaselineRow, 'config' | 'tags'>;

function stateOf(row: Pick<BaselineRow, 'config' | 'tags'>): BaselineState {
  return { config: JSON.parse(row.config), tags: JSON.parse(row.tags) };
}

async function latestVersions(db: Db, resourceIds: string[]): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const ids of chunks(resourceIds)) {
    const rows = await db
      .selectFrom('baselines')
      .select(['resource_id'])
      .select((eb) => eb.fn.max('version').as('version'))
      .where('resource_id', 'in', ids)
      .groupBy('resource_id')
      .execute();
    for (const row of rows) out.set(row.resource_id, Number(row.version));
  }
  return out;
}

async function captureBaselines(
  db: Kysely<Database>,
  resources: DiscoveredResource[],
  opts: CaptureOptions,
): Promise<Baseline[]> {
  return db.transaction().execute(async (trx) => {
    // The live read ran outside any transaction, so a promotion's baseline is checked again.
    const ids = resources.map((r) => r.id);
    if (opts.existingOnly) await refuseWithoutBaseline(trx, ids);
    return capture(trx, resources, opts);
  });
}

/** A promotion replaces a baseline: one that has none is refused, naming each such resource. */
async function refuseWithoutBaseline(db: Db, ids: string[]): Promise<void> {
  const have = new Set((await active(db, ids)).map((b) => b.resourceId));
  const none = [...new Set(ids)].filter((id) => !have.has(id));
  if (none.length > 0) {
    throw notFound(
      `no baseline to promote for ${none.map((id) => `"${id}"`).join(', ')}; ` +
        'create one with `baseline create`',
    );
  }
}

async function baselineTargets(
  db: Kysely<Database>,
  target: { resourceIds?: string[]; all?: boolean },
  opts: { existingOnly?: boolean } = {},
): Promise<DiscoveredResource[]> {
  const ids = target.resourceIds ?? [];
  if (Boolean(target.all) === ids.length > 0) {
    throw invalidInput('name the resources to capture or ask for all of them, one or the other');
  }
  let rows: ResourceRow[] = [];
  if (target.all) {
    rows = await db.selectFrom('resources').selectAll().where('gone_at', 'is', null).execute();
    if (rows.length === 0) {
      throw notFound('the inventory holds no resources yet; run a scan first');
    }
  } else {
    for (const batch of chunks([...new Set(ids)])) {
      rows.push(
        ...(await db
          .selectFrom('resources')
          .selectAll()
          .where('id', 'in', batch)
          .where('gone_at', 'is', null)
          .execute()),
      );
    }
    const found = new Set(rows.map((r) => r.id));
    const missing = ids.filter((id) => !found.has(id));
    if (missing.length > 0) {
      throw notFound(
        `no resource ${missing.map((id) => `"${id}"`).join(', ')} in the inventory; ` +
          'run a scan, then give the id as `resources list` shows it',
      );
    }
  }
  const resources = rows.map(fromInventory);
  if (opts.existingOnly)
    await refuseWithoutBaseline(
      db,
      resources.map((r) => r.id),
    );
  return resources;
}

function fromInventory(row: ResourceRow): DiscoveredResource {
  return {
    provider: row.provider as DiscoveredResource['provider'],
    account: row.account,
    region: row.region,
    type: row.type,
    id: row.id,
    name: row.name,
    tags: JSON.parse(row.tags),
    config: JSON.parse(row.config),
  };
}

async function capture(
  trx: Transaction<Database>,
  resources: DiscoveredResource[],
  opts: CaptureOptions,
  more: (resourceId: string) => Record<string, unknown> = () => ({}),
): Promise<Baseline[]> {
  const list = unique(resources);
  if (list.length === 0) throw invalidInput('no resources given to capture a baseline of');
  const ids = list.map((r) => r.id);
  const previous = new Map((await active(trx, ids)).map((b) => [b.resourceId, b]));
  const versions = await latestVersions(trx, ids);
  for (const batch of chunks(ids)) {
    await trx
      .updateTable('baselines')
      .set({ active_key: null })
      .where('active_key', 'in', batch)
      .execute();
  }
  const rows = list.map((r) =>
    rowOf(r, (versions.get(r.id) ?? 0) + 1, {
      actor: opts.actor,
      now: opts.now,
      reason: opts.reason,
    }),
  );
  for (const batch of chunks(rows)) await trx.insertInto('baselines').values(batch).execute();
  // One event for the whole capture: `--all` over a large inventory stays one audit entry.
  await appendEvent(trx, {
    action_id: null,
    at: opts.now.toISOString(),
    actor: opts.actor,
    type: 'baseline',
    comment: opts.reason,
    data: dataText({
      count: rows.length,
      baselines: rows.map((row) => ({
        baselineId: row.id,
        resourceId: row.resource_id,
        version: row.version,
        previousVersion: previous.get(row.resource_id)?.version ?? null,
        ...more(row.resource_id),
      })),
    }),
  });
  return rows.map(toBaseline);
}

async function listBaselines(
  db: Kysely<Database>,
  query: BaselineQuery,
): Promise<{ items: Baseline[]; total: number }> {
  const limit = query.limit ?? 100;
  const offset = query.offset ?? 0;
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIST) {
    throw invalidInput(`limit must be a whole number from 1 to ${MAX_LIST}, got ${limit}`);
  }
  if (!Number.isInteger(offset) || offset < 0) {
    throw invalidInput(`offset must be a whole number from 0, got ${offset}`);
  }
  let base = db.selectFrom('baselines');
  if (query.resourceId !== undefined) base = base.where('resource_id', '=', query.resourceId);
  if (query.type !== undefined) base = base.where('resource_type', '=', query.type);
  if (query.account !== undefined) base = base.where('resource_account', '=', query.account);
  if (!query.allVersions) base = base.where('active_key', 'is not', null);
  const [rows, count] = await Promise.all([
    base
      .selectAll()
      .orderBy('resource_id')
      .orderBy('version', 'desc')
      .limit(limit)
      .offset(offset)
      .execute(),
    base.select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow(),
  ]);
  return { items: rows.map(toBaseline), total: Number(count.n) };
}

/** The store methods of baselines and of the checks' settings. */
export function baselineStore(db: Kysely<Database>): BaselineStore {
  return {
    ensureBaselines: (resources, opts) => ensureBaselines(db, resources, opts),
    captureBaselines: (resources, opts) => captureBaselines(db, resources, opts),
    baselineTargets: (target, opts) => baselineTargets(db, target, opts),
    listBaselines: (query) => listBaselines(db, query),
    getBaseline: async (id) => {
      const row = await db
        .selectFrom('baselines')
        .selectAll()
        .where('id', '=', id)
        .executeTakeFirst();
      return row ? toBaseline(row) : undefined;
    },
    activeBaselines: (ids) => active(db, ids),
    getCheckSettings: () => read(db, CHECKS),
    updateCheckSettings: (patch, input) => write(db, CHECKS, patch, input),
  };
}
