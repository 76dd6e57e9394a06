-- Display names are limited to 80 characters as people count them (Unicode's extended grapheme
-- clusters: a family emoji of seven code points, or an accent written as a combining mark, is
-- one character), which jarvis_backend::accounts::profile checks. Postgres's `char_length` counts
-- code points, so its CHECK can no longer say 80: it bounds what a name may store instead, at
-- the 1,000 code points the server also holds names to (jarvis_types::account): room for 80 of
-- the longest emoji sequences (a kiss with two skin tones is ten).
ALTER TABLE users
    DROP CONSTRAINT users_display_name_length,
    ADD CONSTRAINT users_display_name_length CHECK (char_length(display_name) <= 1000);
