-- Billing: each user's Stripe customer, their subscriptions as last fetched from Stripe, the
-- webhook events received (each id once; the row is also the job that applies it), and a usage
-- record per run that outlives the conversation (quotas and metering count these, so deleting a
-- conversation does not give a message back).

-- The Stripe customer created for a user (once; its id is reused for every checkout), and the
-- user's last Checkout Session: while it is open, "Upgrade" leads back to it rather than to a new
-- one, so two tabs or a double click cannot end in two paid subscriptions.
CREATE TABLE billing_customers (
    user_id             uuid PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    stripe_customer_id  text NOT NULL UNIQUE,
    checkout_session_id text,
    checkout_plan_id    text,
    created_at          timestamptz NOT NULL DEFAULT now()
);
ALTER TABLE billing_customers ENABLE ROW LEVEL SECURITY;
CREATE POLICY billing_customers_own_row ON billing_customers
    USING (user_id = app_user_id()) WITH CHECK (user_id = app_user_id());

-- A Stripe subscription of a user's, as Stripe last reported it (fetched from the API, never
-- taken from an event's possibly stale copy).
CREATE TABLE subscriptions (
    stripe_subscription_id text PRIMARY KEY,
    user_id                uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    stripe_customer_id     text NOT NULL,
    -- The plan whose price the subscription is for; NULL for a price no plan has.
    plan_id                text,
    price_id               text,
    status                 text NOT NULL,
    current_period_end     timestamptz,
    cancel_at_period_end   boolean NOT NULL DEFAULT false,
    ended_at               timestamptz,
    updated_at             timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX subscriptions_user ON subscriptions (user_id, updated_at DESC);
ALTER TABLE subscriptions ENABLE ROW LEVEL SECURITY;
CREATE POLICY subscriptions_own_rows ON subscriptions
    USING (user_id = app_user_id()) WITH CHECK (user_id = app_user_id());

-- Webhook events, stored once by id before the answer; the row is the job that applies the
-- event, taken with FOR UPDATE SKIP LOCKED by any instance and retried with a growing delay.
-- Holds Stripe's data, not one user's: no row-level security, like login_throttle.
CREATE TABLE stripe_events (
    id              text PRIMARY KEY,
    event_type      text NOT NULL,
    payload         jsonb NOT NULL,
    received_at     timestamptz NOT NULL DEFAULT now(),
    attempts        integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    last_error      text,
    processed_at    timestamptz
);
CREATE INDEX stripe_events_pending ON stripe_events (next_attempt_at) WHERE processed_at IS NULL;

-- One row per run: written when the run is admitted (the message counts from then on) and
-- completed with the tokens and estimated cost when it ends.
CREATE TABLE usage_records (
    run_id             uuid PRIMARY KEY,
    user_id            uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    model              text NOT NULL,
    started_at         timestamptz NOT NULL DEFAULT now(),
    input_tokens       bigint NOT NULL DEFAULT 0,
    output_tokens      bigint NOT NULL DEFAULT 0,
    cache_read_tokens  bigint NOT NULL DEFAULT 0,
    cache_write_tokens bigint NOT NULL DEFAULT 0,
    -- Estimated at the model's list prices, in micro-dollars.
    cost_micros        bigint NOT NULL DEFAULT 0
);
CREATE INDEX usage_records_user_started ON usage_records (user_id, started_at DESC);
ALTER TABLE usage_records ENABLE ROW LEVEL SECURITY;
CREATE POLICY usage_records_own_rows ON usage_records
    USING (user_id = app_user_id()) WITH CHECK (user_id = app_user_id());

GRANT SELECT, INSERT, UPDATE, DELETE ON billing_customers, subscriptions, stripe_events, usage_records TO jarvis_app;

-- Webhooks name a Stripe customer, not a user: whose customer this is, if anyone's. The one way
-- billing looks across users (SECURITY DEFINER, search_path pinned, as in the accounts migration).
CREATE FUNCTION billing_user_for_customer(p_customer text)
    RETURNS uuid
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp
    AS $$ SELECT user_id FROM billing_customers WHERE stripe_customer_id = p_customer $$;
REVOKE ALL ON FUNCTION billing_user_for_customer(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION billing_user_for_customer(text) TO jarvis_app;

-- Usage recorded before this migration: the runs that still exist.
INSERT INTO usage_records (run_id, user_id, model, started_at, input_tokens, output_tokens,
                           cache_read_tokens, cache_write_tokens)
SELECT id, user_id, model, started_at, input_tokens, output_tokens, cache_read_tokens, cache_write_tokens
  FROM runs;
