-- Attachments of a question (images, PDFs, text files) and the model a conversation uses.
--
-- An attachment is uploaded before its message is sent (the composer shows it as a chip with
-- progress), so `message_id` is NULL until a `send` takes it; a question's stored content then
-- holds `{"type": "attachment", "id": …}` blocks, which jarvis_backend::attachments turns into
-- the model's image/document/text blocks at each call. The bytes live in object storage under
-- the user's prefix, like library files, and count against the plan's storage. Unsent
-- attachments older than a day are deleted with their objects.
CREATE TABLE attachments (
    id           uuid PRIMARY KEY,
    user_id      uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    -- Set once, by the send that takes it; a message is deleted only with its conversation.
    message_id   uuid REFERENCES messages (id) ON DELETE CASCADE,
    filename     text NOT NULL,
    -- Sniffed from the content, never taken from the name or the client.
    content_type text NOT NULL,
    kind         text NOT NULL CHECK (kind IN ('image', 'pdf', 'text')),
    size_bytes   bigint NOT NULL CHECK (size_bytes > 0),
    sha256       bytea NOT NULL CHECK (length(sha256) = 32),
    width        integer,
    height       integer,
    pages        integer,
    storage_key  text NOT NULL UNIQUE CHECK (storage_key LIKE 'users/' || user_id::text || '/%'),
    -- Images: a small preview for chips and history, in the same prefix.
    thumbnail_key text CHECK (thumbnail_key LIKE 'users/' || user_id::text || '/%'),
    -- The preview's size: it counts against the plan's storage too.
    thumbnail_size_bytes bigint CHECK (thumbnail_size_bytes > 0),
    created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX attachments_user_created ON attachments (user_id, created_at DESC);
CREATE INDEX attachments_message ON attachments (message_id) WHERE message_id IS NOT NULL;
ALTER TABLE attachments ENABLE ROW LEVEL SECURITY;
CREATE POLICY attachments_own_rows ON attachments
    USING (user_id = app_user_id()) WITH CHECK (user_id = app_user_id());
GRANT SELECT, INSERT, UPDATE, DELETE ON attachments TO jarvis_app;

-- The sweep of unsent attachments: the ones older than `p_age`, of every user (a periodic task
-- acts for no one), a batch at a time. It only lists them: each is then deleted as its user,
-- object first, under row-level security like every other write.
CREATE FUNCTION attachments_stale_unsent(p_age interval, p_limit integer)
    RETURNS TABLE (id uuid, user_id uuid)
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp
    AS $$
        SELECT a.id, a.user_id FROM attachments a
         WHERE a.message_id IS NULL AND a.created_at < now() - p_age
         ORDER BY a.created_at
         LIMIT p_limit
    $$;
REVOKE ALL ON FUNCTION attachments_stale_unsent(interval, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION attachments_stale_unsent(interval, integer) TO jarvis_app;

-- The model chosen in the picker for this conversation (an id of JARVIS_MODELS_FILE, or the
-- configured model's name); NULL: the deployment's default.
ALTER TABLE conversations ADD COLUMN model text CHECK (char_length(model) <= 200);
