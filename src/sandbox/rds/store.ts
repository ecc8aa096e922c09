import { SandboxInputError } from '../api-error.ts';
import type { StateDocument } from '../types.ts';
import {
  type AwsRecord,
  arn,
  DEFAULT_SETTINGS,
  isIdentifier,
  type RdsRegion,
  type RdsSettings,
  type Transition,
} from './model.ts';
import { applyPending, pendingOf } from './pending.ts';

/** The saved form of one region's RDS, under `accounts[id].regions[region].rds`. */
export interface RdsRegionDocument {
  settings?: Partial<RdsSettings>;
  DBInstances?: AwsRecord[];
  DBSnapshots?: AwsRecord[];
  DBClusters?: AwsRecord[];
  transitions?: Transition[];
}

const KINDS = [
  { field: 'DBInstances', id: 'DBInstanceIdentifier', arnKind: 'db', arnField: 'DBInstanceArn' },
  {
    field: 'DBSnapshots',
    id: 'DBSnapshotIdentifier',
    arnKind: 'snapshot',
    arnField: 'DBSnapshotArn',
  },
  { field: 'DBClusters', id: 'DBClusterIdentifier', arnKind: 'cluster', arnField: 'DBClusterArn' },
] as const;

/** Fields whose values must be true or false when a record states them. */
const BOOLEANS = ['MultiAZ', 'StorageEncrypted', 'Encrypted', 'DeletionProtection'];
/** Fields whose values must be whole numbers when a record states them. */
const NUMBERS = ['BackupRetentionPeriod', 'AllocatedStorage'];

/** Every account and region's RDS resources. */
export class RdsStore {
  #regions = new Map<string, RdsRegion>();

  region(account: string, region: string): RdsRegion {
    const key = `${account}/${region}`;
    let found = this.#regions.get(key);
    if (!found) {
      found = emptyRegion({ ...DEFAULT_SETTINGS });
      this.#regions.set(key, found);
    }
    return found;
  }

  /** Ends the transitions that are due: statuses settle, deletions complete. */
  tick(now: Date): void {
    for (const region of this.#regions.values()) settle(region, now);
  }

  load(doc: StateDocument, now: Date): void {
    const next = new Map<string, RdsRegion>();
    for (const [account, acct] of Object.entries(doc.accounts)) {
      for (const [name, reg] of Object.entries(acct.regions ?? {})) {
        if (reg.rds === undefined) continue;
        const where = `accounts.${account}.regions.${name}.rds`;
        const region = parseRegion(reg.rds, where, account, name);
        // Changes already pending when loaded count from the load.
        for (const [id, instance] of region.instances) {
          if (Object.keys(pendingOf(instance)).length > 0) {
            region.pendingSince.set(id, now.toISOString());
          }
        }
        next.set(`${account}/${name}`, region);
      }
    }
    this.#regions = next;
  }

  save(doc: StateDocument): void {
    for (const [key, region] of this.#regions) {
      const empty =
        region.instances.size + region.snapshots.size + region.clusters.size === 0 &&
        region.settings.transitionMs === DEFAULT_SETTINGS.transitionMs &&
        region.settings.maintenanceAfterMs === DEFAULT_SETTINGS.maintenanceAfterMs;
      if (empty) continue;
      const [account, name] = key.split('/') as [string, string];
      const acct = (doc.accounts[account] ??= { regions: {} });
      const reg = (acct.regions[name] ??= {});
      const saved: RdsRegionDocument = {
        settings: { ...region.settings },
        DBInstances: [...region.instances.values()].map((r) => structuredClone(r)),
        DBSnapshots: [...region.snapshots.values()].map((r) => structuredClone(r)),
        DBClusters: [...region.clusters.values()].map((r) => structuredClone(r)),
        transitions: region.transitions.map((t) => ({ ...t })),
      };
      reg.rds = saved;
    }
  }
}

function emptyRegion(settings: RdsSettings): RdsRegion {
  return {
    settings,
    instances: new Map(),
    snapshots: new Map(),
    clusters: new Map(),
    transitions: [],
    pendingSince: new Map(),
  };
}

function settle(region: RdsRegion, now: Date): void {
  const due = region.transitions.filter((t) => Date.parse(t.at) <= now.getTime());
  if (due.length > 0) {
    region.transitions = region.transitions.filter((t) => !due.includes(t));
    for (const t of due) finish(region, t);
  }
  const after = region.settings.maintenanceAfterMs;
  if (after === null) return;
  for (const [id, since] of region.pendingSince) {
    if (Date.parse(since) + after > now.getTime()) continue;
    const instance = region.instances.get(id);
    region.pendingSince.delete(id);
    if (instance) applyPending(instance);
  }
}

function finish(region: RdsRegion, t: Transition): void {
  const records =
    t.kind === 'instance'
      ? region.instances
      : t.kind === 'snapshot'
        ? region.snapshots
        : region.clusters;
  const record = records.get(t.id);
  if (!record) return;
  if (t.remove) {
    records.delete(t.id);
    return;
  }
  if (t.applyPending) {
    applyPending(record);
    region.pendingSince.delete(t.id);
  }
  const field = t.kind === 'instance' ? 'DBInstanceStatus' : 'Status';
  record[field] = t.status;
}

function parseRegion(raw: unknown, where: string, account: string, name: string): RdsRegion {
  if (!isObject(raw)) throw new SandboxInputError(`${where} must be an object`);
  const region = emptyRegion(parseSettings(raw.settings, `${where}.settings`));
  const maps = {
    DBInstances: region.instances,
    DBSnapshots: region.snapshots,
    DBClusters: region.clusters,
  };
  for (const kind of KINDS) {
    const items = raw[kind.field] ?? [];
    if (!Array.isArray(items)) {
      throw new SandboxInputError(`${where}.${kind.field} must be a list of ${kind.field} records`);
    }
    items.forEach((item: unknown, i: number) => {
      const at = `${where}.${kind.field}[${i}]`;
      const record = parseRecord(item, at, kind.id);
      const id = (record[kind.id] as string).toLowerCase();
      if (maps[kind.field].has(id)) {
        throw new SandboxInputError(`${at}: ${kind.id} "${id}" is listed twice; keep one`);
      }
      record[kind.id] = id;
      // ARNs follow where the record is loaded, so a raw response fits any account.
      record[kind.arnField] = arn(kind.arnKind, name, account, id);
      maps[kind.field].set(id, record);
    });
  }
  addMissingClusters(region, account, name);
  region.transitions = parseTransitions(raw.transitions, `${where}.transitions`);
  return region;
}

function parseSettings(raw: unknown, where: string): RdsSettings {
  if (raw === undefined) return { ...DEFAULT_SETTINGS };
  if (!isObject(raw)) throw new SandboxInputError(`${where} must be an object`);
  const transitionMs = raw.transitionMs ?? DEFAULT_SETTINGS.transitionMs;
  if (!Number.isInteger(transitionMs) || (transitionMs as number) < 0) {
    throw new SandboxInputError(
      `${where}.transitionMs must be a whole number of milliseconds, ` +
        `got ${JSON.stringify(transitionMs)}`,
    );
  }
  const after = raw.maintenanceAfterMs ?? null;
  if (after !== null && (!Number.isInteger(after) || (after as number) < 0)) {
    throw new SandboxInputError(
      `${where}.maintenanceAfterMs must be null or a whole number of milliseconds, ` +
        `got ${JSON.stringify(after)}`,
    );
  }
  return { transitionMs: transitionMs as number, maintenanceAfterMs: after as number | null };
}

function parseRecord(raw: unknown, where: string, idField: string): AwsRecord {
  if (!isObject(raw)) throw new SandboxInputError(`${where} must be an object`);
  const id = raw[idField];
  const max = idField === 'DBSnapshotIdentifier' ? 255 : 63;
  if (typeof id !== 'string' || !isIdentifier(id, max)) {
    throw new SandboxInputError(
      `${where}.${idField} must be an RDS identifier (a letter, then letters, digits and ` +
        `single hyphens), got ${JSON.stringify(id)}`,
    );
  }
  for (const field of BOOLEANS) {
    if (raw[field] !== undefined && typeof raw[field] !== 'boolean') {
      throw new SandboxInputError(
        `${where}.${field} must be true or false, got ${JSON.stringify(raw[field])}`,
      );
    }
  }
  for (const field of NUMBERS) {
    if (raw[field] !== undefined && !Number.isInteger(raw[field])) {
      throw new SandboxInputError(
        `${where}.${field} must be a whole number, got ${JSON.stringify(raw[field])}`,
      );
    }
  }
  return structuredClone(raw);
}

/** Aurora members loaded without their cluster get a minimal one, for DescribeDBClusters. */
function addMissingClusters(region: RdsRegion, account: string, name: string): void {
  for (const instance of region.instances.values()) {
    const clusterId = instance.DBClusterIdentifier;
    if (typeof clusterId !== 'string') continue;
    const id = clusterId.toLowerCase();
    instance.DBClusterIdentifier = id;
    if (region.clusters.has(id)) continue;
    region.clusters.set(id, {
      DBClusterIdentifier: id,
      Status: 'available',
      Engine: instance.Engine,
      BackupRetentionPeriod: instance.BackupRetentionPeriod ?? 1,
      StorageEncrypted: instance.StorageEncrypted ?? false,
      ...(typeof instance.KmsKeyId === 'string' ? { KmsKeyId: instance.KmsKeyId } : {}),
      DBClusterArn: arn('cluster', name, account, id),
    });
  }
}

function parseTransitions(raw: unknown, where: string): Transition[] {
  if (raw === undefined) return [];
  if (!Array.isArray(raw)) throw new SandboxInputError(`${where} must be a list`);
  return raw.map((t: unknown, i) => {
    const at = `${where}[${i}]`;
    const ok =
      isObject(t) &&
      (t.kind === 'instance' || t.kind === 'snapshot' || t.kind === 'cluster') &&
      typeof t.id === 'string' &&
      typeof t.at === 'string' &&
      !Number.isNaN(Date.parse(t.at)) &&
      typeof t.status === 'string';
    if (!ok) {
      throw new SandboxInputError(
        `${at} must be { kind: instance|snapshot|cluster, id, at: ISO time, status }`,
      );
    }
    return { ...(t as unknown as Transition) };
  });
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
