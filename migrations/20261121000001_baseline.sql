-- Baseline: extensions the schema builds on.
-- citext: case-insensitive text, for e-mail addresses (accounts).
CREATE EXTENSION IF NOT EXISTS citext;
