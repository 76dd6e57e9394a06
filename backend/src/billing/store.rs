//! Billing's rows: customers, subscriptions, webhook events (and their jobs), usage records.
//! Every query on a user's rows runs in that user's transaction (row-level security) and names
//! the user; the event table holds Stripe's data and no user's.

use chrono::{DateTime, Utc};
use sqlx::{PgPool, Postgres, Transaction};
use uuid::Uuid;

use crate::db::{self, act_for_user, user_transaction};

/// A user's subscription as last fetched from Stripe.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct SubscriptionRow {
    pub stripe_subscription_id: String,
    pub stripe_customer_id: String,
    pub plan_id: Option<String>,
    pub price_id: Option<String>,
    pub status: String,
    pub current_period_end: Option<DateTime<Utc>>,
    pub cancel_at_period_end: bool,
    pub ended_at: Option<DateTime<Utc>>,
}

impl SubscriptionRow {
    /// Whether it entitles to its plan now: active, trialing, or past due while Stripe retries
    /// the payment. Unpaid, canceled, incomplete, paused or ended subscriptions do not.
    pub fn is_live(&self) -> bool {
        self.ended_at.is_none() && matches!(self.status.as_str(), "active" | "trialing" | "past_due")
    }
}

pub async fn customer_id(pool: &PgPool, user_id: Uuid) -> Result<Option<String>, sqlx::Error> {
    db::for_user(pool, user_id, async |conn| {
        sqlx::query_scalar("SELECT stripe_customer_id FROM billing_customers WHERE user_id = $1")
            .bind(user_id)
            .fetch_optional(&mut *conn)
            .await
    })
    .await
}

/// Records the user's customer; if one was recorded meanwhile (another instance), keeps that one
/// and returns it.
pub async fn save_customer(pool: &PgPool, user_id: Uuid, customer_id: &str) -> Result<String, sqlx::Error> {
    db::for_user(pool, user_id, async |conn| {
        // On conflict the row is "updated" to itself so that RETURNING gives the one kept.
        let kept = sqlx::query_scalar(
            "INSERT INTO billing_customers (user_id, stripe_customer_id) VALUES ($1, $2)
             ON CONFLICT (user_id) DO UPDATE SET stripe_customer_id = billing_customers.stripe_customer_id
             RETURNING stripe_customer_id",
        )
        .bind(user_id)
        .bind(customer_id)
        .fetch_one(&mut *conn)
        .await?;
        Ok(kept)
    })
    .await
}

/// The user's last Checkout Session and its plan, if any.
pub async fn last_checkout(
    tx: &mut Transaction<'static, Postgres>,
    user_id: Uuid,
) -> Result<Option<(String, String)>, sqlx::Error> {
    let row: Option<(Option<String>, Option<String>)> = sqlx::query_as(
        "SELECT checkout_session_id, checkout_plan_id FROM billing_customers WHERE user_id = $1",
    )
    .bind(user_id)
    .fetch_optional(&mut **tx)
    .await?;
    Ok(row.and_then(|(session, plan)| session.zip(plan)))
}

pub async fn save_checkout(
    tx: &mut Transaction<'static, Postgres>,
    user_id: Uuid,
    session_id: &str,
    plan_id: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE billing_customers SET checkout_session_id = $2, checkout_plan_id = $3 WHERE user_id = $1",
    )
    .bind(user_id)
    .bind(session_id)
    .bind(plan_id)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// A transaction acting for the user that holds the user's checkout lock: one checkout at a
/// time per user, across instances.
pub async fn lock_checkout(
    pool: &PgPool,
    user_id: Uuid,
) -> Result<Transaction<'static, Postgres>, sqlx::Error> {
    let mut tx = user_transaction(pool, user_id).await?;
    sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended('jarvis.checkout.' || $1::text, 0))")
        .bind(user_id)
        .execute(&mut *tx)
        .await?;
    Ok(tx)
}

/// Whose customer this is (the one lookup across users).
pub async fn user_for_customer(pool: &PgPool, customer_id: &str) -> Result<Option<Uuid>, sqlx::Error> {
    sqlx::query_scalar("SELECT billing_user_for_customer($1)").bind(customer_id).fetch_one(pool).await
}

/// The user's subscriptions, newest first.
pub async fn subscriptions(pool: &PgPool, user_id: Uuid) -> Result<Vec<SubscriptionRow>, sqlx::Error> {
    db::for_user(pool, user_id, async |conn| {
        sqlx::query_as(
            "SELECT stripe_subscription_id, stripe_customer_id, plan_id, price_id, status, current_period_end,
                    cancel_at_period_end, ended_at
               FROM subscriptions WHERE user_id = $1 ORDER BY updated_at DESC",
        )
        .bind(user_id)
        .fetch_all(&mut *conn)
        .await
    })
    .await
}

/// A transaction holding the lock of one subscription (see `Billing::sync_subscription`).
pub async fn lock_subscription(
    pool: &PgPool,
    subscription_id: &str,
) -> Result<Transaction<'static, Postgres>, sqlx::Error> {
    let mut tx = pool.begin().await?;
    sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended('jarvis.subscription.' || $1, 0))")
        .bind(subscription_id)
        .execute(&mut *tx)
        .await?;
    Ok(tx)
}

/// Stores a subscription's current state (as just fetched from Stripe), in the transaction that
/// holds its lock, on behalf of its user.
pub async fn save_subscription(
    tx: &mut Transaction<'static, Postgres>,
    user_id: Uuid,
    row: &SubscriptionRow,
) -> Result<(), sqlx::Error> {
    act_for_user(tx, user_id).await?;
    sqlx::query(
        "INSERT INTO subscriptions (stripe_subscription_id, user_id, stripe_customer_id, plan_id, price_id, status,
                                    current_period_end, cancel_at_period_end, ended_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, now())
         ON CONFLICT (stripe_subscription_id) DO UPDATE
            SET plan_id = EXCLUDED.plan_id, price_id = EXCLUDED.price_id, status = EXCLUDED.status,
                current_period_end = EXCLUDED.current_period_end,
                cancel_at_period_end = EXCLUDED.cancel_at_period_end, ended_at = EXCLUDED.ended_at,
                updated_at = now()
          WHERE subscriptions.user_id = EXCLUDED.user_id",
    )
    .bind(&row.stripe_subscription_id)
    .bind(user_id)
    .bind(&row.stripe_customer_id)
    .bind(&row.plan_id)
    .bind(&row.price_id)
    .bind(&row.status)
    .bind(row.current_period_end)
    .bind(row.cancel_at_period_end)
    .bind(row.ended_at)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Stores a verified webhook event; `false` when its id was seen before (nothing changes).
pub async fn insert_event(
    pool: &PgPool,
    id: &str,
    event_type: &str,
    payload: &serde_json::Value,
) -> Result<bool, sqlx::Error> {
    let inserted = sqlx::query(
        "INSERT INTO stripe_events (id, event_type, payload) VALUES ($1, $2, $3) ON CONFLICT (id) DO NOTHING",
    )
    .bind(id)
    .bind(event_type)
    .bind(payload)
    .execute(pool)
    .await?;
    Ok(inserted.rows_affected() == 1)
}

/// An event waiting to be applied, locked by the transaction that took it.
pub struct PendingEvent {
    pub tx: Transaction<'static, Postgres>,
    pub id: String,
    pub payload: serde_json::Value,
    pub attempts: i32,
}

/// Takes the oldest due event no other instance is applying.
pub async fn take_due_event(pool: &PgPool) -> Result<Option<PendingEvent>, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let row: Option<(String, sqlx::types::Json<serde_json::Value>, i32)> = sqlx::query_as(
        "SELECT id, payload, attempts FROM stripe_events
          WHERE processed_at IS NULL AND next_attempt_at <= now()
          ORDER BY received_at, id
          LIMIT 1
          FOR UPDATE SKIP LOCKED",
    )
    .fetch_optional(&mut *tx)
    .await?;
    Ok(row.map(|(id, payload, attempts)| PendingEvent { tx, id, payload: payload.0, attempts }))
}

impl PendingEvent {
    pub async fn done(mut self) -> Result<(), sqlx::Error> {
        sqlx::query("UPDATE stripe_events SET processed_at = now(), attempts = attempts + 1, last_error = NULL WHERE id = $1")
            .bind(&self.id)
            .execute(&mut *self.tx)
            .await?;
        self.tx.commit().await
    }

    /// Sets the event aside for good (it stays unprocessed with its error, for an operator).
    pub async fn give_up(mut self, error: &str) -> Result<(), sqlx::Error> {
        sqlx::query(
            "UPDATE stripe_events SET attempts = attempts + 1, last_error = $2, next_attempt_at = 'infinity'
              WHERE id = $1",
        )
        .bind(&self.id)
        .bind(format!("given up: {error}"))
        .execute(&mut *self.tx)
        .await?;
        self.tx.commit().await
    }

    /// Leaves the event for later, `delay_secs` from now, with the reason.
    pub async fn retry_later(mut self, error: &str, delay_secs: f64) -> Result<(), sqlx::Error> {
        sqlx::query(
            "UPDATE stripe_events SET attempts = attempts + 1, last_error = $2,
                    next_attempt_at = now() + make_interval(secs => $3)
              WHERE id = $1",
        )
        .bind(&self.id)
        .bind(error)
        .bind(delay_secs)
        .execute(&mut *self.tx)
        .await?;
        self.tx.commit().await
    }
}

/// How an event's processing stands (for tests and operators).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct EventState {
    pub id: String,
    pub event_type: String,
    pub attempts: i32,
    pub processed: bool,
    pub last_error: Option<String>,
}

pub async fn event_states(pool: &PgPool) -> Result<Vec<EventState>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, event_type, attempts, processed_at IS NOT NULL AS processed, last_error
           FROM stripe_events ORDER BY received_at, id",
    )
    .fetch_all(pool)
    .await
}
