-- Limits on the mails anyone can make Jarvis send (password resets, verification links, the
-- notice about a second registration): one row per mail sent and per key it counts against,
-- `to:<kind>:<SHA-256 of the address>` and `from:<client address>`. Rows older than the window
-- are deleted as new mails are admitted (jarvis_backend::accounts::mail_limit). Holds no user's
-- data and no address in clear, so it has no row-level security, like login_throttle.
CREATE TABLE mail_sends (
    key     text NOT NULL,
    sent_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX mail_sends_key_sent_at ON mail_sends (key, sent_at);
CREATE INDEX mail_sends_sent_at ON mail_sends (sent_at);

GRANT SELECT, INSERT, DELETE ON mail_sends TO jarvis_app;
