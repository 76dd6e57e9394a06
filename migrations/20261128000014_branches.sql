-- Branches: a conversation's messages form a tree. Editing a question makes a new question beside
-- it (same parent); regenerating a reply makes a new reply beside it (same question). Each
-- conversation keeps the message at the end of the branch it shows (`head_message_id`); what the
-- page, the model, the export and a share see is the path from the root to it.
--
-- Every message follows the head of its conversation unless it names its parent, and becomes
-- the new head: a run's messages chain one after another, and an insert that knows nothing of
-- branches (an older instance during a deploy) still appends to the branch shown. A new first
-- question (the first message edited) is inserted, then its parent cleared.

ALTER TABLE messages ADD COLUMN parent_id uuid REFERENCES messages (id) ON DELETE CASCADE;
ALTER TABLE conversations ADD COLUMN head_message_id uuid;

-- Until now each conversation was one line, in order of position.
UPDATE messages m
   SET parent_id = previous.parent_id
  FROM (SELECT id, lag(id) OVER (PARTITION BY conversation_id ORDER BY position) AS parent_id
          FROM messages) AS previous
 WHERE m.id = previous.id AND previous.parent_id IS NOT NULL;
UPDATE conversations c
   SET head_message_id = (SELECT m.id FROM messages m WHERE m.conversation_id = c.id
                           ORDER BY m.position DESC LIMIT 1);

-- Siblings (the versions of a message) and children (the way down to a branch's end).
CREATE INDEX messages_conversation_parent ON messages (conversation_id, parent_id);
CREATE INDEX messages_parent ON messages (parent_id);

-- Runs as the invoker, so under the inserting user's row-level security: only that user's own
-- conversation is read and moved.
CREATE FUNCTION messages_follow_head() RETURNS trigger
    LANGUAGE plpgsql SET search_path = public, pg_temp
    AS $$
BEGIN
    IF NEW.parent_id IS NULL THEN
        SELECT head_message_id INTO NEW.parent_id FROM conversations
         WHERE id = NEW.conversation_id AND user_id = NEW.user_id;
    END IF;
    UPDATE conversations SET head_message_id = NEW.id
     WHERE id = NEW.conversation_id AND user_id = NEW.user_id;
    RETURN NEW;
END
$$;
CREATE TRIGGER messages_follow_head BEFORE INSERT ON messages
    FOR EACH ROW EXECUTE FUNCTION messages_follow_head();
