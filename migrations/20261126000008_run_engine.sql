-- The run engine: runs owned by a live instance under a lease, and a run's events written in
-- group-committed batches.
--
-- Every instance registers itself in `instances` and renews its lease with each group commit
-- (every couple of seconds at least). A running run names its owner; when the owner's lease has
-- expired (a crash, a lost node), any instance's reaper takes the run over and ends it cleanly.
--
-- `run_events` now holds batches: one row carries the consecutive events `seq ..= last_seq` of
-- one run as a JSON array, written by the owner's group commit. A retried batch has the same
-- `(run_id, seq)` and changes nothing.

CREATE TABLE instances (
    id          uuid PRIMARY KEY,
    started_at  timestamptz NOT NULL DEFAULT now(),
    lease_until timestamptz NOT NULL
);
-- Only the functions below touch it.
REVOKE ALL ON instances FROM PUBLIC;

ALTER TABLE runs ADD COLUMN owner uuid;
CREATE INDEX runs_running ON runs (owner) WHERE status = 'running';

ALTER TABLE run_events ADD COLUMN last_seq bigint;
UPDATE run_events SET last_seq = seq, payload = jsonb_build_array(payload);
ALTER TABLE run_events ALTER COLUMN last_seq SET NOT NULL;
ALTER TABLE run_events ADD CONSTRAINT run_events_batch CHECK (last_seq >= seq AND jsonb_typeof(payload) = 'array');

-- The group commit of one instance: renews its lease, stores the batches of the runs it owns
-- (others' are not written: a reaper took them), records their token usage so far, closes the
-- runs whose `Finished` event it stores (status, outcome and error code from it), and
-- announces on `jarvis_run_events` which runs have new events up to which seq (as
-- `run:seq,run:seq…`, several notifications when many runs are named). Returns the runs named
-- that this instance no longer owns. Like the accounts migration's functions: SECURITY DEFINER,
-- search_path pinned; the user of every row is the run's own user, never the caller's word.
CREATE FUNCTION chat_commit_events(
    p_instance uuid,
    p_lease_secs double precision,
    p_run_ids uuid[],
    p_first_seqs bigint[],
    p_last_seqs bigint[],
    p_payloads jsonb[],
    p_usage_run_ids uuid[],
    p_input_tokens bigint[],
    p_output_tokens bigint[],
    p_cache_read_tokens bigint[],
    p_cache_write_tokens bigint[],
    p_closed_run_ids uuid[],
    p_statuses text[],
    p_outcomes text[],
    p_error_codes text[]
)
    RETURNS TABLE (lost_run_id uuid)
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp
    AS $$
DECLARE
    notified bigint;
BEGIN
    INSERT INTO instances (id, lease_until)
         VALUES (p_instance, now() + make_interval(secs => p_lease_secs))
    ON CONFLICT (id) DO UPDATE SET lease_until = EXCLUDED.lease_until;

    -- Held until the commit: a reaper cannot take these runs over halfway through.
    PERFORM 1 FROM runs
      WHERE id = ANY (p_run_ids || p_usage_run_ids) AND owner = p_instance
      ORDER BY id
        FOR SHARE;

    WITH batch AS (
        SELECT b.run_id, b.seq, b.last_seq, b.payload
          FROM unnest(p_run_ids, p_first_seqs, p_last_seqs, p_payloads) AS b (run_id, seq, last_seq, payload)
    ),
    written AS (
        INSERT INTO run_events (run_id, seq, last_seq, user_id, payload)
        SELECT batch.run_id, batch.seq, batch.last_seq, runs.user_id, batch.payload
          FROM batch JOIN runs ON runs.id = batch.run_id AND runs.owner = p_instance
        ON CONFLICT (run_id, seq) DO NOTHING
        RETURNING run_id, last_seq
    ),
    newest AS (
        SELECT run_id, max(last_seq) AS last_seq FROM written GROUP BY run_id
    ),
    numbered AS (
        SELECT run_id, last_seq, (row_number() OVER (ORDER BY run_id) - 1) / 150 AS chunk FROM newest
    ),
    notices AS (
        SELECT string_agg(run_id::text || ':' || last_seq::text, ',') AS payload FROM numbered GROUP BY chunk
    )
    SELECT count(pg_notify('jarvis_run_events', notices.payload)) INTO notified FROM notices;

    UPDATE runs
       SET input_tokens = u.input_tokens, output_tokens = u.output_tokens,
           cache_read_tokens = u.cache_read_tokens, cache_write_tokens = u.cache_write_tokens
      FROM unnest(p_usage_run_ids, p_input_tokens, p_output_tokens, p_cache_read_tokens, p_cache_write_tokens)
           AS u (run_id, input_tokens, output_tokens, cache_read_tokens, cache_write_tokens)
     WHERE runs.id = u.run_id AND runs.owner = p_instance;

    -- A run is closed in the commit that stores its `Finished` event, never before.
    UPDATE runs
       SET status = c.status, outcome = c.outcome, error_code = c.error_code, finished_at = now()
      FROM unnest(p_closed_run_ids, p_statuses, p_outcomes, p_error_codes)
           AS c (run_id, status, outcome, error_code)
     WHERE runs.id = c.run_id AND runs.owner = p_instance AND runs.status = 'running';

    RETURN QUERY
        SELECT DISTINCT named.id
          FROM unnest(p_run_ids || p_usage_run_ids) AS named (id)
         WHERE NOT EXISTS (SELECT 1 FROM runs WHERE runs.id = named.id AND runs.owner = p_instance);
END
$$;

-- The reaper: renews the caller's lease, then takes over the running runs whose owner holds no
-- live lease (all of them, or only `p_run`), so that exactly one instance ends each. Returns
-- them with their users.
CREATE FUNCTION chat_claim_orphaned_runs(p_instance uuid, p_lease_secs double precision, p_run uuid)
    RETURNS TABLE (run_id uuid, user_id uuid)
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp
    AS $$
BEGIN
    INSERT INTO instances (id, lease_until)
         VALUES (p_instance, now() + make_interval(secs => p_lease_secs))
    ON CONFLICT (id) DO UPDATE SET lease_until = EXCLUDED.lease_until;

    RETURN QUERY
        UPDATE runs SET owner = p_instance
         WHERE runs.status = 'running'
           AND (p_run IS NULL OR runs.id = p_run)
           AND runs.owner IS DISTINCT FROM p_instance
           AND NOT EXISTS (SELECT 1 FROM instances
                            WHERE instances.id = runs.owner AND instances.lease_until > now())
        RETURNING runs.id, runs.user_id;
END
$$;

-- An instance that stops cleanly gives up its lease at once.
CREATE FUNCTION chat_release_instance(p_instance uuid)
    RETURNS void
    LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp
    AS $$ DELETE FROM instances WHERE id = p_instance $$;

REVOKE ALL ON FUNCTION
    chat_commit_events(uuid, double precision, uuid[], bigint[], bigint[], jsonb[], uuid[], bigint[], bigint[], bigint[], bigint[], uuid[], text[], text[], text[]),
    chat_claim_orphaned_runs(uuid, double precision, uuid),
    chat_release_instance(uuid)
FROM PUBLIC;
GRANT EXECUTE ON FUNCTION
    chat_commit_events(uuid, double precision, uuid[], bigint[], bigint[], jsonb[], uuid[], bigint[], bigint[], bigint[], bigint[], uuid[], text[], text[], text[]),
    chat_claim_orphaned_runs(uuid, double precision, uuid),
    chat_release_instance(uuid)
TO jarvis_app;
