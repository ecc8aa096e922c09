import type { Kysely } from 'kysely';
import { type Migration, Migrator } from 'kysely/migration';
import * as initial from './migrations/001-initial.ts';
import * as multiStep from './migrations/002-multi-step-fixes.ts';
import * as tokenNames from './migrations/003-token-names-cursor-key.ts';
import * as findings from './migrations/004-findings.ts';
import * as inventory from './migrations/005-inventory.ts';
import * as baselines from './migrations/006-baselines.ts';
import * as alerts from './migrations/007-alerts.ts';
import * as users from './migrations/008-users.ts';
import * as guardRails from './migrations/009-guard-rails.ts';
import * as replicas from './migrations/010-replicas.ts';
import * as oneRunningScan from './migrations/011-one-running-scan.ts';
import * as findingResolution from './migrations/012-finding-resolution.ts';
import * as tokenOwner from './migrations/013-token-owner.ts';
import * as replicaPresence from './migrations/014-replica-presence.ts';
import * as partialResolutionIndex from './migrations/015-partial-resolution-index.ts';
import * as kubeContextKeys from './migrations/016-kube-context-finding-keys.ts';

type Engine = 'sqlite' | 'postgres';
type Step = { up(db: Kysely<any>, engine: Engine): Promise<void> };

/** Migrations in order. A new one is a new file and a new line here; never edit a shipped one. */
const STEPS: Record<string, Step> = {
  '001-initial': initial,
  '002-multi-step-fixes': multiStep,
  '003-token-names-cursor-key': tokenNames,
  '004-findings': findings,
  '005-inventory': inventory,
  '006-baselines': baselines,
  '007-alerts': alerts,
  '008-users': users,
  '009-guard-rails': guardRails,
  '010-replicas': replicas,
  '011-one-running-scan': oneRunningScan,
  '012-finding-resolution': findingResolution,
  '013-token-owner': tokenOwner,
  '014-replica-presence': replicaPresence,
  '015-partial-resolution-index': partialResolutionIndex,
  '016-kube-context-finding-keys': kubeContextKeys,
};

/** The migrations this code knows, in order: a database serves once all of them have run. */
export function migrationNames(): string[] {
  return Object.keys(STEPS);
}

export async function migrate(db: Kysely<any>, engine: Engine): Promise<void> {
  const migrations: Record<string, Migration> = {};
  for (const [name, step] of Object.entries(STEPS)) {
    migrations[name] = { up: (trx) => step.up(trx, engine) };
  }
  const migrator = new Migrator({
    db,
    provider: { getMigrations: async () => migrations },
    migrationTableName: 'schema_migrations',
    migrationLockTableName: 'schema_migrations_lock',
  });
  const { error, results } = await migrator.migrateToLatest();
  if (error) {
    const failed = results?.find((r) => r.status === 'Error')?.migrationName ?? 'unknown';
    throw new Error(`database migration ${failed} failed; the database was left unchanged`, {
      cause: error,
    });
  }
}
