import type { Kysely } from 'kysely';
import { type Migration, Migrator } from 'kysely/migration';
import * as initial from './migrations/001-initial.ts';
import * as multiStep from './migrations/002-multi-step-fixes.ts';
import * as tokenNames from './migrations/003-token-names-cursor-key.ts';

type Engine = 'sqlite' | 'postgres';
type Step = { up(db: Kysely<any>, engine: Engine): Promise<void> };

/** Migrations in order. A new one is a new file and a new line here; never edit a shipped one. */
const STEPS: Record<string, Step> = {
  '001-initial': initial,
  '002-multi-step-fixes': multiStep,
  '003-token-names-cursor-key': tokenNames,
};

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
