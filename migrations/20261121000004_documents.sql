-- Documents: the user's library, written by the agent or the user, every version kept, searchable
-- in full text. Under row-level security like every table with a user's data.

CREATE TABLE documents (
    id          uuid PRIMARY KEY,
    user_id     uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    title       text NOT NULL,
    filename    text NOT NULL,
    kind        text NOT NULL CHECK (kind IN ('markdown', 'text', 'code', 'html', 'json', 'csv')),
    language    text,
    content     text NOT NULL,
    size_bytes  integer NOT NULL,
    version     integer NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    search      tsvector GENERATED ALWAYS AS (
                    setweight(to_tsvector('simple', coalesce(title, '')), 'A')
                    || setweight(to_tsvector('english', coalesce(content, '')), 'B')
                ) STORED
);
CREATE INDEX documents_user_updated ON documents (user_id, updated_at DESC);
CREATE INDEX documents_search ON documents USING gin (search);
ALTER TABLE documents ENABLE ROW LEVEL SECURITY;
CREATE POLICY documents_own_rows ON documents
    USING (user_id = app_user_id()) WITH CHECK (user_id = app_user_id());

CREATE TABLE document_versions (
    document_id uuid NOT NULL REFERENCES documents (id) ON DELETE CASCADE,
    version     integer NOT NULL,
    user_id     uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    title       text NOT NULL,
    content     text NOT NULL,
    size_bytes  integer NOT NULL,
    -- Who wrote this version: the user, or the agent (and in which run).
    author      text NOT NULL CHECK (author IN ('user', 'agent')),
    run_id      uuid REFERENCES runs (id) ON DELETE SET NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (document_id, version)
);
CREATE INDEX document_versions_user ON document_versions (user_id);
ALTER TABLE document_versions ENABLE ROW LEVEL SECURITY;
CREATE POLICY document_versions_own_rows ON document_versions
    USING (user_id = app_user_id()) WITH CHECK (user_id = app_user_id());

GRANT SELECT, INSERT, UPDATE, DELETE ON documents, document_versions TO jarvis_app;
