-- Shared conversations: a read-only link to a snapshot of a conversation, taken when it was
-- shared (later messages are not in it), until the owner stops sharing. The link's token is 256
-- random bits; only its SHA-256 is stored, so a leaked table reveals no link. The snapshot holds
-- the conversation's title and rendered messages only (roles, text, tool names): no ids, no
-- email, no documents.

CREATE TABLE conversation_shares (
    id              uuid PRIMARY KEY,
    user_id         uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    conversation_id uuid NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    token_hash      bytea NOT NULL UNIQUE,
    snapshot        jsonb NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    revoked_at      timestamptz
);
CREATE INDEX conversation_shares_conversation ON conversation_shares (conversation_id);
CREATE INDEX conversation_shares_user ON conversation_shares (user_id);
ALTER TABLE conversation_shares ENABLE ROW LEVEL SECURITY;
CREATE POLICY conversation_shares_own_rows ON conversation_shares
    USING (user_id = app_user_id()) WITH CHECK (user_id = app_user_id());
GRANT SELECT, INSERT, UPDATE ON conversation_shares TO jarvis_app;

-- The one anonymous read: the snapshot of a live share with this token hash, or NULL. Nothing
-- else of the row (nor of any other table) is reachable through it.
CREATE FUNCTION share_snapshot(p_token_hash bytea)
    RETURNS jsonb
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp
    AS $$ SELECT snapshot FROM conversation_shares WHERE token_hash = p_token_hash AND revoked_at IS NULL $$;
REVOKE ALL ON FUNCTION share_snapshot(bytea) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION share_snapshot(bytea) TO jarvis_app;
