-- Admin: who is an admin, disabled accounts, a log of every admin action, and the narrow
-- functions through which `/admin` looks across users.
--
-- Isolation holds for admins too: the application still runs as jarvis_app under row-level
-- security, and the only ways an admin's request sees other users' rows are the `admin_*`
-- functions below. Each is SECURITY DEFINER (it runs as the schema owner, whom RLS does not bind)
-- with its search_path pinned, answers one question, and first checks that the user the
-- transaction acts for (`app.user_id`, set by jarvis_backend::db::for_user from the verified
-- session) is an admin whose account is not disabled; anyone else gets error 42501
-- (insufficient_privilege) and no row. Each function that changes something writes its
-- `admin_audit` row in the same transaction.
--
-- The role is granted and revoked only from the command line (`jarvis-server admin grant
-- <email>`), connected as the schema owner: the application role cannot read or write `admins`
-- or `admin_audit` at all.

CREATE TABLE admins (
    user_id    uuid PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    granted_at timestamptz NOT NULL DEFAULT now()
);
ALTER TABLE admins ENABLE ROW LEVEL SECURITY;
CREATE POLICY admins_own_row ON admins USING (user_id = app_user_id()) WITH CHECK (false);
-- The migrations' default privileges gave jarvis_app every table; not this one.
REVOKE ALL ON admins FROM jarvis_app;

-- A disabled account cannot log in (jarvis_backend::accounts checks it after the password) and
-- its sessions were ended when it was disabled.
ALTER TABLE users ADD COLUMN disabled_at timestamptz;

-- Every admin action: who did it (NULL actor_id: the command line), what, to what, when.
CREATE TABLE admin_audit (
    id       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    actor_id uuid REFERENCES users (id) ON DELETE SET NULL,
    -- The admin's address at the time (it outlives the account), or 'command line'.
    actor    text NOT NULL,
    action   text NOT NULL,
    target   text NOT NULL,
    details  jsonb NOT NULL DEFAULT '{}',
    at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX admin_audit_at ON admin_audit (at DESC);
REVOKE ALL ON admin_audit FROM jarvis_app;

-- When each instance of the run engine last renewed its lease (its group commit and its reaper
-- upsert the row; this stamps every renewal without changing their functions).
ALTER TABLE instances ADD COLUMN last_seen_at timestamptz NOT NULL DEFAULT now();
CREATE FUNCTION instances_stamp_seen() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    NEW.last_seen_at := now();
    RETURN NEW;
END
$$;
CREATE TRIGGER instances_stamp_seen BEFORE UPDATE ON instances
    FOR EACH ROW EXECUTE FUNCTION instances_stamp_seen();

-- No session starts for a disabled account, even one whose log-in passed its check just before
-- the account was disabled: the row lock waits for a disabling transaction to finish, then sees
-- its result.
CREATE FUNCTION sessions_refuse_disabled() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp
    AS $$
BEGIN
    PERFORM 1 FROM users WHERE id = NEW.user_id AND disabled_at IS NOT NULL FOR SHARE;
    IF FOUND THEN
        RAISE EXCEPTION 'account % is disabled', NEW.user_id USING ERRCODE = '42501';
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER sessions_refuse_disabled BEFORE INSERT ON sessions
    FOR EACH ROW EXECUTE FUNCTION sessions_refuse_disabled();

-- Whether the user the transaction acts for is an admin (and not disabled).
CREATE FUNCTION admin_is_admin() RETURNS boolean
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp
    AS $$
        SELECT EXISTS (SELECT 1 FROM admins a JOIN users u ON u.id = a.user_id
                        WHERE a.user_id = app_user_id() AND u.disabled_at IS NULL)
    $$;

-- The admin the transaction acts for, or error 42501. Called first by every function below;
-- not granted to the application (it has admin_is_admin).
CREATE FUNCTION admin_require() RETURNS uuid
    LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public, pg_temp
    AS $$
BEGIN
    IF NOT admin_is_admin() THEN
        RAISE EXCEPTION 'not an admin' USING ERRCODE = '42501';
    END IF;
    RETURN app_user_id();
END
$$;

-- Records one admin action of the admin the transaction acts for.
CREATE FUNCTION admin_record(p_action text, p_target text, p_details jsonb) RETURNS void
    LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp
    AS $$
        INSERT INTO admin_audit (actor_id, actor, action, target, details)
        SELECT u.id, u.email::text, p_action, p_target, p_details FROM users u WHERE u.id = admin_require()
    $$;

-- Users whose address contains `p_search` (all when empty), newest first, at most `p_limit`
-- (≤ 200): their plan's source (the plan ids of their live subscriptions, newest first, and the
-- newest subscription's status) and their usage this month (UTC).
CREATE FUNCTION admin_users(p_search text, p_limit integer)
    RETURNS TABLE (
        user_id uuid,
        email text,
        display_name text,
        created_at timestamptz,
        email_verified boolean,
        disabled_at timestamptz,
        is_admin boolean,
        live_plan_ids text[],
        subscription_status text,
        messages_this_month bigint,
        tokens_this_month bigint,
        cost_micros_this_month bigint
    )
    LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public, pg_temp
    AS $$
DECLARE
    pattern text := '%' || replace(replace(replace(coalesce(p_search, ''), '\', '\\'), '%', '\%'), '_', '\_') || '%';
    month_start timestamptz := date_trunc('month', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC';
BEGIN
    PERFORM admin_require();
    RETURN QUERY
        SELECT u.id, u.email::text, u.display_name, u.created_at, u.email_verified_at IS NOT NULL,
               u.disabled_at,
               EXISTS (SELECT 1 FROM admins a WHERE a.user_id = u.id),
               coalesce((SELECT array_agg(s.plan_id ORDER BY s.updated_at DESC) FROM subscriptions s
                          WHERE s.user_id = u.id AND s.plan_id IS NOT NULL AND s.ended_at IS NULL
                            AND s.status IN ('active', 'trialing', 'past_due')), '{}'),
               (SELECT s.status FROM subscriptions s WHERE s.user_id = u.id ORDER BY s.updated_at DESC LIMIT 1),
               coalesce(m.messages, 0), coalesce(m.tokens, 0), coalesce(m.cost, 0)
          FROM users u
          LEFT JOIN LATERAL (
              SELECT count(*)::bigint AS messages,
                     sum(r.input_tokens + r.output_tokens + r.cache_read_tokens + r.cache_write_tokens)::bigint AS tokens,
                     sum(r.cost_micros)::bigint AS cost
                FROM usage_records r WHERE r.user_id = u.id AND r.started_at >= month_start
          ) m ON true
         WHERE u.email::text ILIKE pattern
         ORDER BY u.created_at DESC, u.id
         LIMIT least(greatest(p_limit, 1), 200);
END
$$;

-- Disables (ending every session of theirs at once: the sessions trigger closes their sockets on
-- every instance) or enables an account. An admin cannot disable themselves. Returns the
-- account's address and how many sessions ended; no row for an unknown account.
CREATE FUNCTION admin_set_disabled(p_user uuid, p_disabled boolean)
    RETURNS TABLE (email text, sessions_ended integer)
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp
    AS $$
DECLARE
    caller uuid := admin_require();
    address text;
    ended integer := 0;
BEGIN
    IF p_disabled AND p_user = caller THEN
        RAISE EXCEPTION 'an admin cannot disable their own account' USING ERRCODE = '22023';
    END IF;
    UPDATE users SET disabled_at = CASE WHEN p_disabled THEN coalesce(disabled_at, now()) END
     WHERE id = p_user
    RETURNING users.email::text INTO address;
    IF address IS NULL THEN
        RETURN;
    END IF;
    IF p_disabled THEN
        UPDATE sessions SET revoked_at = now() WHERE user_id = p_user AND revoked_at IS NULL;
        GET DIAGNOSTICS ended = ROW_COUNT;
    END IF;
    PERFORM admin_record(CASE WHEN p_disabled THEN 'user.disable' ELSE 'user.enable' END, address,
                         jsonb_build_object('user_id', p_user, 'sessions_ended', ended));
    RETURN QUERY SELECT address, ended;
END
$$;

-- Stripe events set aside: the billing worker gave up on them after its retries (they stay
-- unprocessed, due never, with their last error). Newest first, at most 200.
CREATE FUNCTION admin_stripe_events_set_aside()
    RETURNS TABLE (id text, event_type text, received_at timestamptz, attempts integer, last_error text)
    LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public, pg_temp
    AS $$
BEGIN
    PERFORM admin_require();
    RETURN QUERY
        SELECT e.id, e.event_type, e.received_at, e.attempts, e.last_error FROM stripe_events e
         WHERE e.processed_at IS NULL AND e.next_attempt_at = 'infinity'
         ORDER BY e.received_at DESC, e.id
         LIMIT 200;
END
$$;

-- Makes a set-aside event due now, for the billing worker's handler to apply once more (a
-- failure sets it aside again, with the new error). `false` when no such event is set aside.
CREATE FUNCTION admin_replay_stripe_event(p_id text) RETURNS boolean
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp
    AS $$
DECLARE
    previous_attempts integer;
BEGIN
    PERFORM admin_require();
    UPDATE stripe_events SET next_attempt_at = now()
     WHERE stripe_events.id = p_id AND processed_at IS NULL AND next_attempt_at = 'infinity'
    RETURNING attempts INTO previous_attempts;
    IF previous_attempts IS NULL THEN
        RETURN false;
    END IF;
    PERFORM admin_record('stripe_event.replay', p_id, jsonb_build_object('attempts', previous_attempts));
    RETURN true;
END
$$;

-- How one stored Stripe event stands: applied, set aside, or waiting. No row for an unknown id.
-- The row lock waits for a worker applying the event right now (it holds the row until it has
-- recorded the outcome), so the answer is that outcome.
CREATE FUNCTION admin_stripe_event_state(p_id text)
    RETURNS TABLE (processed boolean, set_aside boolean, attempts integer, last_error text)
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp
    AS $$
BEGIN
    PERFORM admin_require();
    RETURN QUERY
        SELECT e.processed_at IS NOT NULL, e.processed_at IS NULL AND e.next_attempt_at = 'infinity',
               e.attempts, e.last_error
          FROM stripe_events e WHERE e.id = p_id
           FOR SHARE;
END
$$;

-- Runs that failed in the last `p_days` days, by failure code: how many, of how many users, the
-- latest when.
CREATE FUNCTION admin_failed_runs(p_days integer)
    RETURNS TABLE (error_code text, runs bigint, users bigint, last_failed_at timestamptz)
    LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public, pg_temp
    AS $$
BEGIN
    PERFORM admin_require();
    RETURN QUERY
        SELECT coalesce(r.error_code, 'unknown'), count(*)::bigint, count(DISTINCT r.user_id)::bigint,
               max(coalesce(r.finished_at, r.started_at))
          FROM runs r
         WHERE r.status = 'failed' AND r.started_at >= now() - make_interval(days => greatest(p_days, 1))
         GROUP BY 1
         ORDER BY 2 DESC, 1;
END
$$;

-- The run engine's instances: when each started, last renewed its lease, and until when the lease
-- holds (live or expired), with how many runs it owns that are still running.
CREATE FUNCTION admin_instances()
    RETURNS TABLE (id uuid, started_at timestamptz, last_seen_at timestamptz, lease_until timestamptz,
                   live boolean, running_runs bigint)
    LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public, pg_temp
    AS $$
BEGIN
    PERFORM admin_require();
    RETURN QUERY
        SELECT i.id, i.started_at, i.last_seen_at, i.lease_until, i.lease_until > now(),
               (SELECT count(*) FROM runs r WHERE r.owner = i.id AND r.status = 'running')::bigint
          FROM instances i
         ORDER BY i.lease_until > now() DESC, i.last_seen_at DESC;
END
$$;

-- The latest admin actions, newest first, at most `p_limit` (≤ 200).
CREATE FUNCTION admin_audit_log(p_limit integer)
    RETURNS TABLE (at timestamptz, actor_id uuid, actor text, action text, target text, details jsonb)
    LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public, pg_temp
    AS $$
BEGIN
    PERFORM admin_require();
    RETURN QUERY
        SELECT a.at, a.actor_id, a.actor, a.action, a.target, a.details FROM admin_audit a
         ORDER BY a.at DESC, a.id DESC
         LIMIT least(greatest(p_limit, 1), 200);
END
$$;

REVOKE ALL ON FUNCTION
    admin_is_admin(), admin_require(), admin_record(text, text, jsonb),
    admin_users(text, integer), admin_set_disabled(uuid, boolean),
    admin_stripe_events_set_aside(), admin_replay_stripe_event(text), admin_stripe_event_state(text),
    admin_failed_runs(integer), admin_instances(), admin_audit_log(integer)
FROM PUBLIC;
GRANT EXECUTE ON FUNCTION
    admin_is_admin(),
    admin_users(text, integer), admin_set_disabled(uuid, boolean),
    admin_stripe_events_set_aside(), admin_replay_stripe_event(text), admin_stripe_event_state(text),
    admin_failed_runs(integer), admin_instances(), admin_audit_log(integer)
TO jarvis_app;
