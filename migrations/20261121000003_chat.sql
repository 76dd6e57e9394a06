-- Chat: conversations, their messages (content blocks as JSON, in the Messages API's shape), the
-- agent runs that answer them, and every event of a run in order, so that a client reconnecting
-- to any instance can resume after the last event it saw. All under row-level security.

CREATE TABLE conversations (
    id         uuid PRIMARY KEY,
    user_id    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    title      text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX conversations_user_recent ON conversations (user_id, updated_at DESC);
ALTER TABLE conversations ENABLE ROW LEVEL SECURITY;
CREATE POLICY conversations_own_rows ON conversations
    USING (user_id = app_user_id()) WITH CHECK (user_id = app_user_id());

CREATE TABLE runs (
    id              uuid PRIMARY KEY,
    user_id         uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    conversation_id uuid NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    status          text NOT NULL CHECK (status IN ('running', 'completed', 'cancelled', 'failed')),
    outcome         text,
    error_code      text,
    input_tokens    bigint NOT NULL DEFAULT 0,
    output_tokens   bigint NOT NULL DEFAULT 0,
    cache_read_tokens  bigint NOT NULL DEFAULT 0,
    cache_write_tokens bigint NOT NULL DEFAULT 0,
    model           text NOT NULL,
    -- Chosen by the client for the message that started the run: a resend is not a new run.
    client_message_id text,
    started_at      timestamptz NOT NULL DEFAULT now(),
    finished_at     timestamptz
);
CREATE INDEX runs_user_started ON runs (user_id, started_at DESC);
CREATE INDEX runs_conversation ON runs (conversation_id);
CREATE UNIQUE INDEX runs_client_message ON runs (user_id, client_message_id) WHERE client_message_id IS NOT NULL;
ALTER TABLE runs ENABLE ROW LEVEL SECURITY;
CREATE POLICY runs_own_rows ON runs
    USING (user_id = app_user_id()) WITH CHECK (user_id = app_user_id());

CREATE TABLE messages (
    id              uuid PRIMARY KEY,
    user_id         uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    conversation_id uuid NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    -- Order within the conversation.
    position        bigint GENERATED ALWAYS AS IDENTITY,
    role            text NOT NULL CHECK (role IN ('user', 'assistant')),
    content         jsonb NOT NULL,
    -- complete; partial: the text of a reply that was stopped or failed, kept for the user but
    -- not sent back to the model.
    status          text NOT NULL DEFAULT 'complete' CHECK (status IN ('complete', 'partial')),
    run_id          uuid REFERENCES runs (id) ON DELETE SET NULL,
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX messages_conversation_position ON messages (conversation_id, position);
CREATE INDEX messages_user ON messages (user_id);
ALTER TABLE messages ENABLE ROW LEVEL SECURITY;
CREATE POLICY messages_own_rows ON messages
    USING (user_id = app_user_id()) WITH CHECK (user_id = app_user_id());

CREATE TABLE run_events (
    run_id     uuid NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    seq        bigint NOT NULL,
    user_id    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    payload    jsonb NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (run_id, seq)
);
CREATE INDEX run_events_user ON run_events (user_id);
ALTER TABLE run_events ENABLE ROW LEVEL SECURITY;
CREATE POLICY run_events_own_rows ON run_events
    USING (user_id = app_user_id()) WITH CHECK (user_id = app_user_id());

GRANT SELECT, INSERT, UPDATE, DELETE ON conversations, runs, messages, run_events TO jarvis_app;
