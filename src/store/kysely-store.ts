import { alertStore } from './alerts.ts';
import type { Kysely } from 'kysely';
import * as actions from './actions.ts';
import { auditStore } from './audit.ts';
import { idempotencyStore } from './idempotency.ts';
import * as claims from './claims.ts';
import { replicaStore } from './replicas.ts';
import * as finalize from './finalize.ts';
import { listActions } from './list.ts';
import * as progress from './progress.ts';
import type { Database } from './schema.ts';
import * as settings from './settings.ts';
import type { Store } from './store.ts';
import * as tokens from './tokens.ts';
import { userStore } from './users.ts';
import { findingStore } from './findings.ts';
import { inventoryStore } from './inventory.ts';
import { baselineStore } from './baselines.ts';
import { request, transition } from './transition.ts';

/** The store over a Kysely instance; the same code serves SQLite and PostgreSQL. */
export function kyselyStore(
  db: Kysely<Database>,
  engine: 'sqlite' | 'postgres',
  /** Encrypts alert channel secrets at rest; undefined for tools that never touch them. */
  secretKey: Buffer | undefined,
): Store {
  return {
    ...findingStore(db),
    ...inventoryStore(db),
    ...alertStore(db, secretKey),
    ...baselineStore(db),
    ...auditStore(db),
    ...idempotencyStore(db),
    ...userStore(db, engine),
    ...replicaStore(db),
    engine,
    close: () => db.destroy(),
    createAction: (input, opts) => actions.createAction(db, input, opts),
    createActions: (inputs, opts) => actions.createActions(db, inputs, opts),
    getAction: (id) => actions.getAction(db, id),
    listActions: (query) => listActions(db, query),
    countByStatus: () => actions.countByStatus(db),
    events: (id) => actions.events(db, id),
    transition: (id, op, input) => transition(db, id, op, input),
    request: (id, op, input) => request(db, id, op, input),
    comment: (id, input) => actions.comment(db, id, input),
    updatePlan: (id, plan, now) => actions.updatePlan(db, id, plan, now),
    saveSnapshot: (id, snapshot, owner) => actions.saveSnapshot(db, id, snapshot, owner),
    unplanned: (limit) => claims.unplanned(db, limit),
    claim: (owner, opts) => claims.claim(db, engine, owner, opts),
    stranded: (now) => claims.stranded(db, now),
    takeOver: (id, version, owner, now, leaseMs) =>
      claims.takeOver(db, id, version, owner, now, leaseMs),
    renewLease: (id, owner, now, leaseMs) => claims.renewLease(db, id, owner, now, leaseMs),
    saveProgress: (id, value, owner) => progress.saveProgress(db, id, value, owner),
    saveSealedSecret: (id, secret, owner) => progress.saveSealedSecret(db, id, secret, owner),
    takeSealedSecret: (id, input) => progress.takeSealedSecret(db, id, input),
    finalizable: (types, now, limit) => finalize.finalizable(db, types, now, limit),
    markFinalized: (id, version, input) => finalize.markFinalized(db, id, version, input),
    getSettings: () => settings.getSettings(db),
    updateSettings: (patch, input) => settings.updateSettings(db, patch, input),
    getFixOptions: () => settings.getFixOptions(db),
    updateFixOptions: (patch, input) => settings.updateFixOptions(db, patch, input),
    createToken: (input) => tokens.createToken(db, input),
    findToken: (token) => tokens.findToken(db, token),
    lookupToken: (token) => tokens.lookupToken(db, token),
    countTokens: () => tokens.countTokens(db),
    listTokens: () => tokens.listTokens(db),
    revokeToken: (id, input) => tokens.revokeToken(db, engine, id, input),
  };
}
