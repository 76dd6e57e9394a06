-- Search across a user's conversations: full text over conversation titles and the text of
-- messages, each in a generated tsvector column with a GIN index. Rows stay under the tables'
-- row-level security, so a search sees only the signed-in user's conversations.
--
-- English stemming ("runs" finds "running"); titles weigh A, message text the default D, so a
-- word in a title ranks a conversation above the same word in a message.

-- The text a message shows: its `text` blocks joined by line breaks. Tool calls, tool results and
-- thinking are not searched. Only the first 100,000 characters count, so the vector stays far
-- under Postgres's 1 MB limit whatever a message holds (an error there would refuse the message).
-- The SQL-standard body is parsed once, here, so it does not depend on the caller's search_path.
CREATE FUNCTION message_search_text(content jsonb) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN (
    SELECT left(coalesce(string_agg(b.block ->> 'text', E'\n' ORDER BY b.ord), ''), 100000)
      FROM jsonb_array_elements(CASE WHEN jsonb_typeof(content) = 'array' THEN content ELSE '[]'::jsonb END)
           WITH ORDINALITY AS b(block, ord)
     WHERE b.block ->> 'type' = 'text'
);

ALTER TABLE messages ADD COLUMN search tsvector
    GENERATED ALWAYS AS (to_tsvector('english'::regconfig, message_search_text(content))) STORED;
CREATE INDEX messages_search ON messages USING gin (search);

ALTER TABLE conversations ADD COLUMN search tsvector
    GENERATED ALWAYS AS (setweight(to_tsvector('english'::regconfig, title), 'A')) STORED;
CREATE INDEX conversations_search ON conversations USING gin (search);
