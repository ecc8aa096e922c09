/** Rows of the users, sessions and sign-in failure tables (migration 008). */
export interface UserRow {
  id: string;
  username: string;
  display_name: string;
  role: string;
  /** `scrypt$N$r$p$salt$hash`; see src/api/password.ts. */
  password_hash: string;
  /** 1 while the password is a one-time password. */
  must_change_password: number;
  disabled_at: string | null;
  disabled_by: string | null;
  created_at: string;
  created_by: string;
  last_login_at: string | null;
  password_changed_at: string;
}

export interface UserSessionRow {
  /** SHA-256 of the session id; the id itself lives only in the browser's cookie. */
  id_hash: string;
  user_id: string;
  created_at: string;
  last_seen_at: string;
  expires_at: string;
  revoked_at: string | null;
}

export interface LoginFailureRow {
  /** `user:<username>` or `ip:<address>`. */
  key: string;
  at: string;
  /** The sign-in attempt that counted it, so a success can take back its own rows. */
  attempt: string | null;
}
