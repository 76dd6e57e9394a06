//! Admin: what `/admin` shows and does, for admins only. Users (search, plan, subscription,
//! usage this month, disable and enable), the Stripe events the billing worker set aside after
//! its retries (view, replay), failed runs by failure code, and the run engine's instances.
//!
//! Isolation holds for admins too. Every request runs as the application role under row-level
//! security, acting for the admin ([`db::for_user`](crate::db::for_user)); the only ways it sees
//! across users are the narrow `admin_*` SQL functions of the admin migration, each of which
//! first checks that the user it acts for is an admin and refuses anyone else
//! ([`AdminError::NotAdmin`], told as "not found"). Each action is recorded in the audit table
//! by the function that does it (same transaction) and logged here as an `admin.action` line.
//! The role itself is granted from the command line only ([`roles`]).

mod error;
pub mod roles;
pub mod store;

use sqlx::PgPool;
use uuid::Uuid;

pub use self::error::AdminError;
use self::store::{AuditRow, FailureGroup, InstanceRow, SetAsideEvent, UserRow};
use crate::billing::Billing;

/// How many days of failed runs the page groups.
pub const FAILED_RUNS_DAYS: i32 = 7;

/// Everything `/admin` shows.
#[derive(Debug, Clone)]
pub struct Overview {
    pub users: Vec<AdminUser>,
    pub set_aside_events: Vec<SetAsideEvent>,
    pub failed_runs: Vec<FailureGroup>,
    pub instances: Vec<InstanceRow>,
    pub audit: Vec<AuditRow>,
}

/// A user with the name of the plan they are on now.
#[derive(Debug, Clone)]
pub struct AdminUser {
    pub row: UserRow,
    pub plan: String,
}

/// What became of a replayed event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Replayed {
    /// The handler applied it.
    Applied,
    /// The handler failed again; the event is set aside again with this error.
    SetAsideAgain { error: Option<String> },
    /// Another instance's worker took it first; it is being applied there.
    Queued,
}

/// What `/admin` shows to `admin`; users filtered by `search` (part of an address).
#[tracing::instrument(name = "admin.overview", skip_all, fields(user.id = %admin))]
pub async fn overview(
    pool: &PgPool,
    billing: &Billing,
    admin: Uuid,
    search: &str,
) -> Result<Overview, AdminError> {
    let users = store::users(pool, admin, search.trim()).await?;
    Ok(Overview {
        users: users.into_iter().map(|row| AdminUser { plan: plan_name(billing, &row), row }).collect(),
        set_aside_events: store::set_aside_events(pool, admin).await?,
        failed_runs: store::failed_runs(pool, admin, FAILED_RUNS_DAYS).await?,
        instances: store::instances(pool, admin).await?,
        audit: store::audit_log(pool, admin).await?,
    })
}

/// Whether `user_id` is an admin (whose account is not disabled).
pub async fn is_admin(pool: &PgPool, user_id: Uuid) -> Result<bool, AdminError> {
    store::is_admin(pool, user_id).await
}

/// The plan the user is on, as billing decides it: with billing off, the billing-off plan;
/// otherwise the newest live subscription's plan, or the default plan.
fn plan_name(billing: &Billing, row: &UserRow) -> String {
    let catalog = billing.catalog();
    let plan = if billing.enabled() {
        row.live_plan_ids.iter().find_map(|id| catalog.plan(id)).unwrap_or_else(|| catalog.default())
    } else {
        catalog.off()
    };
    plan.name.clone()
}

/// Disables `user` (their sessions end at once, their open connections close, and they cannot
/// log in) or enables them again. Returns their address.
#[tracing::instrument(name = "admin.set_disabled", skip_all, fields(user.id = %admin))]
pub async fn set_disabled(
    pool: &PgPool,
    admin: Uuid,
    user: Uuid,
    disabled: bool,
) -> Result<String, AdminError> {
    let (email, sessions_ended) = store::set_disabled(pool, admin, user, disabled).await?;
    let action = if disabled { "user.disable" } else { "user.enable" };
    tracing::info!(actor.id = %admin, action, subject = email, subject.id = %user, sessions_ended, "admin.action");
    Ok(email)
}

/// Applies a set-aside Stripe event once more through billing's own (idempotent) handler: the
/// event is made due and this instance's worker loop runs once (if another instance's worker took
/// it first, reading its state waits for that one's outcome). A failure sets it aside again.
#[tracing::instrument(name = "admin.replay_event", skip_all, fields(user.id = %admin, event.id = event_id))]
pub async fn replay_event(
    pool: &PgPool,
    billing: &Billing,
    admin: Uuid,
    event_id: &str,
) -> Result<Replayed, AdminError> {
    if !store::make_event_due(pool, admin, event_id).await? {
        return Err(AdminError::UnknownEvent(event_id.to_owned()));
    }
    tracing::info!(actor.id = %admin, action = "stripe_event.replay", subject = event_id, "admin.action");
    billing.process_due().await?;
    Ok(match store::event_state(pool, admin, event_id).await? {
        Some(state) if state.processed => Replayed::Applied,
        Some(state) if state.set_aside => Replayed::SetAsideAgain { error: state.last_error },
        _ => Replayed::Queued,
    })
}
