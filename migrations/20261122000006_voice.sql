-- Voice: each user's choices for spoken replies, and the clips of every spoken reply. The audio
-- lives in object storage under the owner's prefix (`users/{user_id}/clips/…`); this table records
-- what each clip says, in which order, and whether it was made. Under row-level security like
-- every table with a user's data.

CREATE TABLE voice_settings (
    user_id    uuid PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    enabled    boolean NOT NULL,
    -- The engine's name for the voice; NULL: the engine's default.
    voice      text,
    speed      real NOT NULL CHECK (speed >= 0.5 AND speed <= 2.0),
    autoplay   boolean NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);
ALTER TABLE voice_settings ENABLE ROW LEVEL SECURITY;
CREATE POLICY voice_settings_own_rows ON voice_settings
    USING (user_id = app_user_id()) WITH CHECK (user_id = app_user_id());

CREATE TABLE voice_clips (
    id           uuid PRIMARY KEY,
    user_id      uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    run_id       uuid NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    -- Speaking order within the run, from 1.
    seq          integer NOT NULL CHECK (seq > 0),
    transcript   text NOT NULL,
    voice        text NOT NULL,
    speed        real NOT NULL,
    status       text NOT NULL CHECK (status IN ('ready', 'failed')),
    error        text,
    content_type text,
    duration_ms  integer NOT NULL DEFAULT 0,
    size_bytes   integer NOT NULL DEFAULT 0,
    storage_key  text CHECK (storage_key LIKE 'users/' || user_id::text || '/%'),
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    UNIQUE (run_id, seq),
    CHECK (status <> 'ready' OR storage_key IS NOT NULL)
);
CREATE INDEX voice_clips_user_run ON voice_clips (user_id, run_id, seq);
ALTER TABLE voice_clips ENABLE ROW LEVEL SECURITY;
CREATE POLICY voice_clips_own_rows ON voice_clips
    USING (user_id = app_user_id()) WITH CHECK (user_id = app_user_id());

GRANT SELECT, INSERT, UPDATE, DELETE ON voice_settings, voice_clips TO jarvis_app;
