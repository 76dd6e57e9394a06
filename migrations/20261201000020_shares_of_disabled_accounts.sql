-- A disabled account's shared links stop working: an operator who disables an account (abuse,
-- phishing text published through shares on our origin) takes its links down with it, and
-- enabling it again brings back those not revoked meanwhile. Only the anonymous read changes.

CREATE OR REPLACE FUNCTION share_snapshot(p_token_hash bytea)
    RETURNS jsonb
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp
    AS $$
        SELECT s.snapshot
        FROM conversation_shares s
        JOIN users u ON u.id = s.user_id AND u.disabled_at IS NULL
        WHERE s.token_hash = p_token_hash AND s.revoked_at IS NULL
    $$;
