import { type Kysely, sql, type Transaction } from 'kysely';
import { conflict, notFound } from '../domain/errors.ts';
import type { Role } from '../domain/status.ts';
import { isUniqueViolation } from './actions.ts';
import { appendEvent } from './events.ts';
import { dataText } from './rows.ts';
import type { Database } from './schema.ts';
import type { UserRow } from './user-rows.ts';
import { newId } from './ids.ts';

/** A person who signs in to the console; never carries the password hash. */
export interface User {
  id: string;
  username: string;
  displayName: string;
  role: Role;
  /** True while the password is a one-time password that must be changed first. */
  mustChangePassword: boolean;
  disabledAt: string | null;
  disabledBy: string | null;
  createdAt: string;
  createdBy: string;
  lastLoginAt: string | null;
}

export interface NewUser {
  username: string;
  displayName: string;
  role: Role;
  passwordHash: string;
  mustChangePassword: boolean;
}

/** A live sign-in session and its user, as the request that presents it sees them. */
export interface SessionRecord {
  user: User;
  createdAt: string;
  lastSeenAt: string;
  /** The absolute expiry; the idle expiry is reckoned from `lastSeenAt`. */
  expiresAt: string;
  revokedAt: string | null;
}

type Audit = { actor: string; now: Date };

/**
 * Users, their sign-in sessions and the failed sign-ins the rate limit counts. Password
 * hashing happens in the caller: the store only ever sees hashes, and session ids only as
 * their SHA-256.
 */
export interface UserStore {
  /** `conflict` when the username is taken. Audited. */
  createUser(input: NewUser, audit: Audit): Promise<User>;
  /** Every user, oldest first. */
  listUsers(): Promise<User[]>;
  countUsers(): Promise<number>;
  /** The user and its password hash, for a sign-in; undefined when unknown. */
  userCredentials(username: string): Promise<{ user: User; passwordHash: string } | undefined>;
  /**
   * Disables (ending its sessions) or enables a user. Audited. `conflict` when nothing
   * would change or when it would leave no enabled admin.
   */
  setUserDisabled(username: string, disabled: boolean, audit: Audit): Promise<User>;
  /**
   * Stores a new password hash and ends the user's sessions, except the one that changed
   * its own password, which lives on under a new id (`rotateSession`: old and new id hash).
   * Audited, without the hash.
   */
  setPassword(
    username: string,
    input: {
      passwordHash: string;
      mustChangePassword: boolean;
      rotateSession?: { from: string; to: string };
    },
    audit: Audit,
  ): Promise<User>;

  /** Records a successful sign-in: the session and the user's last sign-in time. Audited. */
  createSession(input: {
    idHash: string;
    userId: string;
    now: Date;
    expiresAt: Date;
  }): Promise<void>;
  findSession(idHash: string): Promise<SessionRecord | undefined>;
  /** Marks the session used now, which pushes its idle expiry back. */
  touchSession(idHash: string, now: Date): Promise<void>;
  /** Ends a session (sign-out). Audited. False when it had already ended. */
  revokeSession(idHash: string, audit: Audit): Promise<boolean>;

  /**
   * Counts a sign-in attempt before its password is checked, so concurrent guesses cannot
   * all pass one check: atomically, either some key already holds `max` attempts since
   * `since` (nothing is recorded; `waitMs` says when its oldest leaves the window), or one
   * row per key is recorded under `attempt` and `waitMs` is 0. Forgets older rows.
   */
  claimLoginAttempt(input: {
    keys: { key: string; max: number }[];
    attempt: string;
    now: Date;
    since: Date;
    windowMs: number;
  }): Promise<{ waitMs: number }>;
  /** Takes back the rows of an attempt that turned out right. */
  releaseLoginAttempt(attempt: string): Promise<void>;
}

const toUser = (row: UserRow): User => ({
  id: row.id,
  username: row.username,
  displayName: row.display_name,
  role: row.role as Role,
  mustChangePassword: Number(row.must_change_password) === 1,
  disabledAt: row.disabled_at,
  disabledBy: row.disabled_by,
  createdAt: row.created_at,
  createdBy: row.created_by,
  lastLoginAt: row.last_login_at,
});

const unknownUser = (username: string) =>
  notFound(`no user named "${username}"; \`infraudit users list\` shows them`);

const taken = (username: string) =>
  conflict(
    `a user named "${username}" already exists (names stay taken, because the audit trail ` +
      'names people by them); choose another username',
    { username },
  );

export function userStore(db: Kysely<Database>, engine: 'sqlite' | 'postgres'): UserStore {
  const one = (username: string, trx: Kysely<Database> = db) =>
    trx.selectFrom('users').selectAll().where('username', '=', username).executeTakeFirst();

  return {
    async createUser(input, audit) {
      const at = audit.now.toISOString();
      const row: UserRow = {
        id: newId(),
        username: input.username,
        display_name: input.displayName,
        role: input.role,
        password_hash: input.passwordHash,
        must_change_password: input.mustChangePassword ? 1 : 0,
        disabled_at: null,
        disabled_by: null,
        created_at: at,
        created_by: audit.actor,
        last_login_at: null,
        password_changed_at: at,
      };
      try {
        await db.transaction().execute(async (trx) => {
          if (await one(input.username, trx)) throw taken(input.username);
          await trx.insertInto('users').values(row).execute();
          await auditUser(trx, row, 'user created', audit, { role: row.role });
        });
      } catch (error) {
        if (isUniqueViolation(error)) throw taken(input.username);
        throw error;
      }
      return toUser(row);
    },

    async listUsers() {
      const rows = await db
        .selectFrom('users')
        .selectAll()
        .orderBy('created_at')
        .orderBy('id')
        .execute();
      return rows.map(toUser);
    },

    async countUsers() {
      const row = await db
        .selectFrom('users')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .executeTakeFirstOrThrow();
      return Number(row.n);
    },

    async userCredentials(username) {
      const row = await one(username);
      return row ? { user: toUser(row), passwordHash: row.password_hash } : undefined;
    },

    setUserDisabled(username, disabled, audit) {
      return db.transaction().execute(async (trx) => {
        // Locking the enabled admins first means two admins disabling each other at once
        // cannot both succeed and leave nobody to sign in as admin.
        let admins = trx
          .selectFrom('users')
          .select('id')
          .where('role', '=', 'admin')
          .where('disabled_at', 'is', null);
        if (engine === 'postgres') admins = admins.forUpdate();
        const activeAdmins = await admins.execute();

        const row = await one(username, trx);
        if (!row) throw unknownUser(username);
        if (disabled === (row.disabled_at !== null)) {
          throw conflict(`user "${username}" is already ${disabled ? 'disabled' : 'enabled'}`, {
            username,
          });
        }
        if (disabled && row.role === 'admin' && activeAdmins.length <= 1) {
          throw conflict(
            `user "${username}" is the last enabled admin; without one nobody could sign in ` +
              'to approve or manage users. Create or enable another admin first',
            { username, role: 'admin' },
          );
        }
        const at = audit.now.toISOString();
        const changed = {
          ...row,
          disabled_at: disabled ? at : null,
          disabled_by: disabled ? audit.actor : null,
        };
        await trx
          .updateTable('users')
          .set({ disabled_at: changed.disabled_at, disabled_by: changed.disabled_by })
          .where('id', '=', row.id)
          .execute();
        if (disabled) await endSessions(trx, row.id, at);
        await auditUser(trx, row, disabled ? 'user disabled' : 'user enabled', audit);
        return toUser(changed);
      });
    },

    setPassword(username, input, audit) {
      return db.transaction().execute(async (trx) => {
        const row = await one(username, trx);
        if (!row) throw unknownUser(username);
        const at = audit.now.toISOString();
        await trx
          .updateTable('users')
          .set({
            password_hash: input.passwordHash,
            must_change_password: input.mustChangePassword ? 1 : 0,
            password_changed_at: at,
          })
          .where('id', '=', row.id)
          .execute();
        const keep = input.rotateSession;
        if (keep) {
          await trx
            .updateTable('user_sessions')
            .set({ id_hash: keep.to, last_seen_at: at })
            .where('id_hash', '=', keep.from)
            .where('user_id', '=', row.id)
            .execute();
        }
        await endSessions(trx, row.id, at, keep?.to);
        const what = audit.actor === `user:${username}` ? 'password changed' : 'password reset';
        await auditUser(trx, row, what, audit);
        return toUser({ ...row, must_change_password: input.mustChangePassword ? 1 : 0 });
      });
    },

    async createSession(input) {
      const at = input.now.toISOString();
      await db.transaction().execute(async (trx) => {
        // Sessions past their absolute expiry can never be used again; each sign-in sweeps
        // them, so the table holds only the sessions that may still be alive.
        await trx.deleteFrom('user_sessions').where('expires_at', '<', at).execute();
        await trx
          .insertInto('user_sessions')
          .values({
            id_hash: input.idHash,
            user_id: input.userId,
            created_at: at,
            last_seen_at: at,
            expires_at: input.expiresAt.toISOString(),
            revoked_at: null,
          })
          .execute();
        await trx
          .updateTable('users')
          .set({ last_login_at: at })
          .where('id', '=', input.userId)
          .execute();
        const row = await trx
          .selectFrom('users')
          .selectAll()
          .where('id', '=', input.userId)
          .executeTakeFirstOrThrow();
        await auditUser(trx, row, 'signed in', { actor: `user:${row.username}`, now: input.now });
      });
    },

    async findSession(idHash) {
      const row = await db
        .selectFrom('user_sessions as s')
        .innerJoin('users as u', 'u.id', 's.user_id')
        .selectAll('u')
        .select([
          's.created_at as session_created_at',
          's.last_seen_at',
          's.expires_at',
          's.revoked_at',
        ])
        .where('s.id_hash', '=', idHash)
        .executeTakeFirst();
      if (!row) return undefined;
      return {
        user: toUser(row),
        createdAt: row.session_created_at,
        lastSeenAt: row.last_seen_at,
        expiresAt: row.expires_at,
        revokedAt: row.revoked_at,
      };
    },

    async touchSession(idHash, now) {
      await db
        .updateTable('user_sessions')
        .set({ last_seen_at: now.toISOString() })
        .where('id_hash', '=', idHash)
        .where('revoked_at', 'is', null)
        .execute();
    },

    revokeSession(idHash, audit) {
      return db.transaction().execute(async (trx) => {
        const ended = await trx
          .updateTable('user_sessions')
          .set({ revoked_at: audit.now.toISOString() })
          .where('id_hash', '=', idHash)
          .where('revoked_at', 'is', null)
          .returning('user_id')
          .executeTakeFirst();
        if (!ended) return false;
        const row = await trx
          .selectFrom('users')
          .selectAll()
          .where('id', '=', ended.user_id)
          .executeTakeFirstOrThrow();
        await auditUser(trx, row, 'signed out', audit);
        return true;
      });
    },

    claimLoginAttempt({ keys, attempt, now, since, windowMs }) {
      return db.transaction().execute(async (trx) => {
        // One lock per key, taken in a fixed order, makes count-and-record one step for
        // every replica; the SQLite store runs one call at a time anyway.
        if (engine === 'postgres') {
          for (const { key } of [...keys].sort((a, b) => a.key.localeCompare(b.key))) {
            await sql`select pg_advisory_xact_lock(hashtext(${`login:${key}`}))`.execute(trx);
          }
        }
        await trx.deleteFrom('login_failures').where('at', '<', since.toISOString()).execute();
        let waitMs = 0;
        for (const { key, max } of keys) {
          const row = await trx
            .selectFrom('login_failures')
            .select((eb) => [
              eb.fn.countAll<number>().as('n'),
              eb.fn.min<string>('at').as('oldest'),
            ])
            .where('key', '=', key)
            .executeTakeFirstOrThrow();
          if (Number(row.n) >= max && row.oldest) {
            waitMs = Math.max(waitMs, Date.parse(row.oldest) + windowMs - now.getTime(), 1);
          }
        }
        if (waitMs > 0) return { waitMs };
        await trx
          .insertInto('login_failures')
          .values(keys.map(({ key }) => ({ key, at: now.toISOString(), attempt })))
          .execute();
        return { waitMs: 0 };
      });
    },

    async releaseLoginAttempt(attempt) {
      await db.deleteFrom('login_failures').where('attempt', '=', attempt).execute();
    },
  };
}

async function endSessions(
  trx: Transaction<Database>,
  userId: string,
  at: string,
  keep?: string,
): Promise<void> {
  let update = trx
    .updateTable('user_sessions')
    .set({ revoked_at: at })
    .where('user_id', '=', userId)
    .where('revoked_at', 'is', null);
  if (keep) update = update.where('id_hash', '!=', keep);
  await update.execute();
}

/** User changes are audited like token changes: an event that belongs to no action. */
async function auditUser(
  trx: Transaction<Database>,
  row: UserRow,
  what: string,
  audit: Audit,
  extra: Record<string, unknown> = {},
): Promise<void> {
  await appendEvent(trx, {
    action_id: null,
    at: audit.now.toISOString(),
    actor: audit.actor,
    type: 'user',
    from_status: null,
    to_status: null,
    comment: what,
    data: dataText({ userId: row.id, username: row.username, ...extra }),
  });
}
