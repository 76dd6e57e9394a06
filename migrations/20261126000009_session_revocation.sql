-- Ending a session reaches its open WebSockets on every instance.
--
-- Whatever ends a live session (log-out, log out everywhere, revoking a device, a password
-- reset or change, a reused refresh token, deleting the account) does it by setting
-- `sessions.revoked_at` or deleting the row; this trigger then announces the session's id on
-- `jarvis_session_revoked`. NOTIFY is transactional: it is delivered only if the revocation
-- commits, and no code path can forget it. Every instance listens and closes that session's
-- sockets (jarvis_backend::accounts::revocations).

CREATE FUNCTION sessions_announce_end() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        -- Only a session that was still live has sockets to close.
        IF OLD.revoked_at IS NULL AND OLD.expires_at > now() THEN
            PERFORM pg_notify('jarvis_session_revoked', OLD.id::text);
        END IF;
        RETURN OLD;
    END IF;
    IF NEW.revoked_at IS NOT NULL AND OLD.revoked_at IS NULL THEN
        PERFORM pg_notify('jarvis_session_revoked', NEW.id::text);
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER sessions_announce_end
    AFTER UPDATE OF revoked_at OR DELETE ON sessions
    FOR EACH ROW EXECUTE FUNCTION sessions_announce_end();

-- Which of these sessions are still live (not revoked, not expired): each instance asks this
-- about the sessions of its open sockets, periodically and after its listening connection was
-- lost (a notification may have been missed then). Answers only about ids the caller already
-- holds; SECURITY DEFINER and search_path pinned, like the accounts migration's functions.
CREATE FUNCTION auth_live_sessions(p_session_ids uuid[])
    RETURNS SETOF uuid
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp
    AS $$
        SELECT id FROM sessions
         WHERE id = ANY (p_session_ids) AND revoked_at IS NULL AND expires_at > now()
    $$;

REVOKE ALL ON FUNCTION auth_live_sessions(uuid[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION auth_live_sessions(uuid[]) TO jarvis_app;
