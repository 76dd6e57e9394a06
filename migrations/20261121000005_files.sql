-- Files: uploads that are not text (images, PDFs, archives, audio…). The bytes live in object
-- storage under the owner's prefix (`users/{user_id}/…`); this table records what they are.
-- Under row-level security like every table with a user's data.

CREATE TABLE files (
    id           uuid PRIMARY KEY,
    user_id      uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    -- The sanitised name it is offered under, extension matching content_type.
    filename     text NOT NULL,
    -- Sniffed from the content, never taken from the name or the client.
    content_type text NOT NULL,
    size_bytes   bigint NOT NULL CHECK (size_bytes > 0),
    sha256       bytea NOT NULL CHECK (length(sha256) = 32),
    -- The object's key in the store; always starts with users/{user_id}/.
    storage_key  text NOT NULL UNIQUE CHECK (storage_key LIKE 'users/' || user_id::text || '/%'),
    created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX files_user_created ON files (user_id, created_at DESC);
ALTER TABLE files ENABLE ROW LEVEL SECURITY;
CREATE POLICY files_own_rows ON files
    USING (user_id = app_user_id()) WITH CHECK (user_id = app_user_id());

GRANT SELECT, INSERT, UPDATE, DELETE ON files TO jarvis_app;
