//! The admin's questions to the database: each a call of one `admin_*` function of the admin
//! migration, in a transaction acting for the admin (`db::for_user`), so the function can check
//! that the caller is an admin; nothing here reads another user's rows directly.

use chrono::{DateTime, Utc};
use sqlx::PgPool;
use uuid::Uuid;

use super::AdminError;
use crate::db;

/// The most users one search lists.
pub const USERS_LIMIT: i32 = 100;
/// The most audit rows the page lists.
pub const AUDIT_LIMIT: i32 = 50;

/// A user as the admin sees them.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct UserRow {
    pub user_id: Uuid,
    pub email: String,
    pub display_name: String,
    pub created_at: DateTime<Utc>,
    pub email_verified: bool,
    pub disabled_at: Option<DateTime<Utc>>,
    pub is_admin: bool,
    /// The plans of the user's live subscriptions, newest first.
    pub live_plan_ids: Vec<String>,
    /// The newest subscription's status, if the user ever had one.
    pub subscription_status: Option<String>,
    pub messages_this_month: i64,
    pub tokens_this_month: i64,
    pub cost_micros_this_month: i64,
}

/// A Stripe event the billing worker set aside after its retries.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct SetAsideEvent {
    pub id: String,
    pub event_type: String,
    pub received_at: DateTime<Utc>,
    pub attempts: i32,
    pub last_error: Option<String>,
}

/// How one stored Stripe event stands.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct EventState {
    pub processed: bool,
    pub set_aside: bool,
    pub attempts: i32,
    pub last_error: Option<String>,
}

/// Failed runs of one failure code.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct FailureGroup {
    pub error_code: String,
    pub runs: i64,
    pub users: i64,
    pub last_failed_at: Option<DateTime<Utc>>,
}

/// One instance of the run engine.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct InstanceRow {
    pub id: Uuid,
    pub started_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
    pub lease_until: DateTime<Utc>,
    pub live: bool,
    pub running_runs: i64,
}

/// One admin action.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct AuditRow {
    pub at: DateTime<Utc>,
    /// `None`: the command line.
    pub actor_id: Option<Uuid>,
    pub actor: String,
    pub action: String,
    pub target: String,
    pub details: serde_json::Value,
}

/// Whether `user_id` is an admin whose account is not disabled.
pub async fn is_admin(pool: &PgPool, user_id: Uuid) -> Result<bool, AdminError> {
    db::for_user(pool, user_id, async |conn| {
        sqlx::query_scalar("SELECT admin_is_admin()").fetch_one(&mut *conn).await.map_err(AdminError::from)
    })
    .await
}

/// Users whose address contains `search`, newest first.
pub async fn users(pool: &PgPool, admin: Uuid, search: &str) -> Result<Vec<UserRow>, AdminError> {
    db::for_user(pool, admin, async |conn| {
        sqlx::query_as("SELECT * FROM admin_users($1, $2)")
            .bind(search)
            .bind(USERS_LIMIT)
            .fetch_all(&mut *conn)
            .await
            .map_err(AdminError::from)
    })
    .await
}

/// Disables or enables `user`; returns their address and how many sessions ended.
pub async fn set_disabled(
    pool: &PgPool,
    admin: Uuid,
    user: Uuid,
    disabled: bool,
) -> Result<(String, i32), AdminError> {
    let row: Option<(String, i32)> = db::for_user(pool, admin, async |conn| {
        sqlx::query_as("SELECT email, sessions_ended FROM admin_set_disabled($1, $2)")
            .bind(user)
            .bind(disabled)
            .fetch_optional(&mut *conn)
            .await
            .map_err(AdminError::from)
    })
    .await?;
    row.ok_or(AdminError::UnknownUser)
}

pub async fn set_aside_events(pool: &PgPool, admin: Uuid) -> Result<Vec<SetAsideEvent>, AdminError> {
    db::for_user(pool, admin, async |conn| {
        sqlx::query_as("SELECT * FROM admin_stripe_events_set_aside()")
            .fetch_all(&mut *conn)
            .await
            .map_err(AdminError::from)
    })
    .await
}

/// Makes a set-aside event due now; `false` when no such event is set aside.
pub async fn make_event_due(pool: &PgPool, admin: Uuid, event_id: &str) -> Result<bool, AdminError> {
    db::for_user(pool, admin, async |conn| {
        sqlx::query_scalar("SELECT admin_replay_stripe_event($1)")
            .bind(event_id)
            .fetch_one(&mut *conn)
            .await
            .map_err(AdminError::from)
    })
    .await
}

pub async fn event_state(
    pool: &PgPool,
    admin: Uuid,
    event_id: &str,
) -> Result<Option<EventState>, AdminError> {
    db::for_user(pool, admin, async |conn| {
        sqlx::query_as("SELECT * FROM admin_stripe_event_state($1)")
            .bind(event_id)
            .fetch_optional(&mut *conn)
            .await
            .map_err(AdminError::from)
    })
    .await
}

/// Failed runs of the last `days` days by failure code, most frequent first.
pub async fn failed_runs(pool: &PgPool, admin: Uuid, days: i32) -> Result<Vec<FailureGroup>, AdminError> {
    db::for_user(pool, admin, async |conn| {
        sqlx::query_as("SELECT * FROM admin_failed_runs($1)")
            .bind(days)
            .fetch_all(&mut *conn)
            .await
            .map_err(AdminError::from)
    })
    .await
}

pub async fn instances(pool: &PgPool, admin: Uuid) -> Result<Vec<InstanceRow>, AdminError> {
    db::for_user(pool, admin, async |conn| {
        sqlx::query_as("SELECT * FROM admin_instances()")
            .fetch_all(&mut *conn)
            .await
            .map_err(AdminError::from)
    })
    .await
}

/// The latest admin actions, newest first.
pub async fn audit_log(pool: &PgPool, admin: Uuid) -> Result<Vec<AuditRow>, AdminError> {
    db::for_user(pool, admin, async |conn| {
        sqlx::query_as("SELECT * FROM admin_audit_log($1)")
            .bind(AUDIT_LIMIT)
            .fetch_all(&mut *conn)
            .await
            .map_err(AdminError::from)
    })
    .await
}
