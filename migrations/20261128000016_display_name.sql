-- Settings: a display name the user chooses, and a log of their data exports.
--
-- The name: `users.display_name` exists since the accounts migration (filled at registration,
-- from the form or the address's local part), and from now on the user can change it in
-- Settings (jarvis_backend::accounts::profile). Whatever writes it, Postgres holds it to what
-- Settings promises: at most 80 characters and no control characters (Unicode's Cc: C0, DEL and
-- C1, a tab or line break included), so a name shows on one line wherever it appears.
-- Registration already keeps to both.
-- It stays NOT NULL: a user who clears their name gets the address's local part, as at
-- registration, and every reader of the column keeps reading a string.
ALTER TABLE users
    ADD CONSTRAINT users_display_name_length CHECK (char_length(display_name) <= 80),
    ADD CONSTRAINT users_display_name_one_line CHECK (display_name !~ '[\x01-\x1f\x7f-\x9f]');

-- One row per "Download my data": how many exports a user started lately, so that each user
-- may build only a few archives an hour (jarvis_backend::export). Rows older than a day are
-- deleted as new exports start. Under row-level security like every table of a user's.
CREATE TABLE account_exports (
    id         uuid PRIMARY KEY,
    user_id    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    started_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX account_exports_user_started ON account_exports (user_id, started_at);
ALTER TABLE account_exports ENABLE ROW LEVEL SECURITY;
CREATE POLICY account_exports_own_rows ON account_exports
    USING (user_id = app_user_id()) WITH CHECK (user_id = app_user_id());
GRANT SELECT, INSERT, DELETE ON account_exports TO jarvis_app;
