-- The colour theme a user chose: 'system' (follow the device's light or dark setting, the
-- default), 'light' or 'dark'. A column of `users`, so the row-level security of that table
-- (`users_own_row`: a user reads and writes only their own row) and its grants to jarvis_app
-- cover it; nothing else is needed.

ALTER TABLE users
    ADD COLUMN theme text NOT NULL DEFAULT 'system'
        CONSTRAINT users_theme_known CHECK (theme IN ('system', 'light', 'dark'));
