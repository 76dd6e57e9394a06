-- Accounts: users, sessions and their refresh tokens, e-mail link tokens, login throttling.
--
-- Tenant isolation, second line: the application connects as jarvis_app, which owns nothing,
-- is no superuser and cannot bypass row-level security. Every table holding a user's data has
-- RLS enabled with a policy keyed to the per-transaction setting app.user_id (set by
-- jarvis_backend::db::user_transaction). A query that forgets its WHERE user_id still sees only
-- the current user's rows, and with no user set it sees none.

DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'jarvis_app') THEN
        CREATE ROLE jarvis_app NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS;
    END IF;
END
$$;

GRANT USAGE ON SCHEMA public TO jarvis_app;
-- Tables created by later migrations are usable by the application too (each must still enable
-- RLS; a test checks that every table with a user_id column does).
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO jarvis_app;

-- The user on whose behalf the current transaction runs, or NULL.
CREATE FUNCTION app_user_id() RETURNS uuid
    LANGUAGE sql STABLE
    AS $$ SELECT NULLIF(current_setting('app.user_id', true), '')::uuid $$;

CREATE TABLE users (
    id                uuid PRIMARY KEY,
    email             citext NOT NULL UNIQUE,
    password_hash     text NOT NULL,
    display_name      text NOT NULL,
    email_verified_at timestamptz,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now()
);
ALTER TABLE users ENABLE ROW LEVEL SECURITY;
CREATE POLICY users_own_row ON users
    USING (id = app_user_id()) WITH CHECK (id = app_user_id());

-- One row per log-in (a device).
CREATE TABLE sessions (
    id           uuid PRIMARY KEY,
    user_id      uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    user_agent   text NOT NULL DEFAULT '',
    ip           text,
    created_at   timestamptz NOT NULL DEFAULT now(),
    last_seen_at timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL,
    revoked_at   timestamptz
);
CREATE INDEX sessions_user_id ON sessions (user_id);
ALTER TABLE sessions ENABLE ROW LEVEL SECURITY;
CREATE POLICY sessions_own_rows ON sessions
    USING (user_id = app_user_id()) WITH CHECK (user_id = app_user_id());

-- The chain of refresh tokens of a session; only the newest is unrotated.
CREATE TABLE refresh_tokens (
    token_hash bytea PRIMARY KEY,
    session_id uuid NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    user_id    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now(),
    rotated_at timestamptz
);
CREATE INDEX refresh_tokens_session_id ON refresh_tokens (session_id);
CREATE INDEX refresh_tokens_user_id ON refresh_tokens (user_id);
ALTER TABLE refresh_tokens ENABLE ROW LEVEL SECURITY;
CREATE POLICY refresh_tokens_own_rows ON refresh_tokens
    USING (user_id = app_user_id()) WITH CHECK (user_id = app_user_id());

-- Single-use, expiring tokens sent by e-mail.
CREATE TABLE email_tokens (
    token_hash bytea PRIMARY KEY,
    user_id    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    purpose    text NOT NULL CHECK (purpose IN ('verify_email', 'reset_password')),
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    used_at    timestamptz
);
CREATE INDEX email_tokens_user_id ON email_tokens (user_id);
ALTER TABLE email_tokens ENABLE ROW LEVEL SECURITY;
CREATE POLICY email_tokens_own_rows ON email_tokens
    USING (user_id = app_user_id()) WITH CHECK (user_id = app_user_id());

-- Failed log-ins per key (a hashed account address, or a client address). Holds no user's data.
CREATE TABLE login_throttle (
    key             text PRIMARY KEY,
    failures        integer NOT NULL,
    last_failure_at timestamptz NOT NULL,
    locked_until    timestamptz
);

GRANT SELECT, INSERT, UPDATE, DELETE ON users, sessions, refresh_tokens, email_tokens, login_throttle TO jarvis_app;

-- The only ways to look across users, each answering one question before a user is known.
-- SECURITY DEFINER runs them as the tables' owner (whom RLS does not bind); search_path is pinned
-- so that nothing the caller creates can be substituted.

-- Log-in and password reset: the account with this address, if any.
CREATE FUNCTION auth_account_by_email(p_email citext)
    RETURNS TABLE (user_id uuid, password_hash text)
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp
    AS $$ SELECT id, password_hash FROM users WHERE email = p_email $$;

-- Refresh: whose refresh token this is, if anyone's.
CREATE FUNCTION auth_refresh_token_owner(p_token_hash bytea)
    RETURNS uuid
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp
    AS $$ SELECT user_id FROM refresh_tokens WHERE token_hash = p_token_hash $$;

-- E-mail links: marks a live token of this purpose used and returns its user, or NULL when the
-- token is unknown, expired, already used or meant for something else.
CREATE FUNCTION auth_consume_email_token(p_token_hash bytea, p_purpose text)
    RETURNS uuid
    LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp
    AS $$
        UPDATE email_tokens SET used_at = now()
         WHERE token_hash = p_token_hash AND purpose = p_purpose
           AND used_at IS NULL AND expires_at > now()
        RETURNING user_id
    $$;

REVOKE ALL ON FUNCTION auth_account_by_email(citext), auth_refresh_token_owner(bytea),
    auth_consume_email_token(bytea, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION auth_account_by_email(citext), auth_refresh_token_owner(bytea),
    auth_consume_email_token(bytea, text), app_user_id() TO jarvis_app;
