-- Connections: personal access tokens, with which MCP clients (Claude Desktop, Claude Code, the
-- MCP Inspector…) reach a user's workspace at /mcp, and the remote MCP servers ("connectors")
-- whose tools a user adds to the agent's.

-- A token is shown once; only its SHA-256 is kept. `read` lists, reads and searches documents;
-- `write` also saves and updates them. A revoked or expired token is refused at once.
CREATE TABLE access_tokens (
    id           uuid PRIMARY KEY,
    user_id      uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name         text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 80),
    token_hash   bytea NOT NULL UNIQUE CHECK (length(token_hash) = 32),
    scope        text NOT NULL CHECK (scope IN ('read', 'write')),
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL,
    last_used_at timestamptz,
    revoked_at   timestamptz,
    CHECK (expires_at > created_at)
);
CREATE INDEX access_tokens_user ON access_tokens (user_id, created_at DESC);
ALTER TABLE access_tokens ENABLE ROW LEVEL SECURITY;
CREATE POLICY access_tokens_own_rows ON access_tokens
    USING (user_id = app_user_id()) WITH CHECK (user_id = app_user_id());
GRANT SELECT, INSERT, UPDATE ON access_tokens TO jarvis_app;

-- An MCP request: whose live token this is (not revoked, not expired, its account not disabled),
-- with its scope; no row when none. Stamps `last_used_at` at most once a minute.
CREATE FUNCTION auth_access_token_owner(p_token_hash bytea)
    RETURNS TABLE (token_id uuid, user_id uuid, scope text)
    LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp
    AS $$
        UPDATE access_tokens SET last_used_at = now()
         WHERE token_hash = p_token_hash
           AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute');
        SELECT t.id, t.user_id, t.scope
          FROM access_tokens t JOIN users u ON u.id = t.user_id
         WHERE t.token_hash = p_token_hash
           AND t.revoked_at IS NULL AND t.expires_at > now() AND u.disabled_at IS NULL
    $$;
REVOKE ALL ON FUNCTION auth_access_token_owner(bytea) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION auth_access_token_owner(bytea) TO jarvis_app;

-- A remote MCP server. `name` prefixes its tools for the model (`name__tool`), so it is short and
-- plain; the token (optional) is kept encrypted (AES-256-GCM, nonce ‖ ciphertext). `tools` is the
-- server's tool list as last fetched (name, description, inputSchema): runs offer it without
-- asking the server first, so a slow server never delays a reply; `disabled_tools` are the ones
-- the user switched off.
CREATE TABLE mcp_connectors (
    id               uuid PRIMARY KEY,
    user_id          uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name             text NOT NULL CHECK (name ~ '^[a-z0-9][a-z0-9_]{0,19}$'),
    url              text NOT NULL CHECK (char_length(url) BETWEEN 1 AND 2000),
    token_ciphertext bytea,
    enabled          boolean NOT NULL DEFAULT true,
    tools            jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(tools) = 'array'),
    disabled_tools   text[] NOT NULL DEFAULT '{}',
    created_at       timestamptz NOT NULL DEFAULT now(),
    tools_fetched_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (user_id, name)
);
ALTER TABLE mcp_connectors ENABLE ROW LEVEL SECURITY;
CREATE POLICY mcp_connectors_own_rows ON mcp_connectors
    USING (user_id = app_user_id()) WITH CHECK (user_id = app_user_id());
GRANT SELECT, INSERT, UPDATE, DELETE ON mcp_connectors TO jarvis_app;

-- Document versions written through /mcp are by the user's connected app, not by a run.
ALTER TABLE document_versions DROP CONSTRAINT document_versions_author_check;
ALTER TABLE document_versions ADD CONSTRAINT document_versions_author_check
    CHECK (author IN ('user', 'agent', 'connection'));
