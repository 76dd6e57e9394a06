//! Server functions of the admin console. Thin: find who is asking, then ask the backend's admin
//! module, whose SQL functions check that the caller is an admin. Anyone else, signed in or not,
//! is answered "not found" (status 404), so nothing tells them the console exists.

use leptos::prelude::*;

use super::AdminOverview;
use crate::error::AppError;

/// What `/admin` shows: users whose address contains `search`, Stripe events set aside, failed
/// runs by failure code, the run engine's instances and the latest admin actions.
#[server(prefix = "/api", endpoint = "admin_overview")]
pub async fn get_admin_overview(search: String) -> Result<AdminOverview, AppError> {
    use jarvis_backend::admin::{self, store};
    use jarvis_backend::billing::Billing;

    use self::ssr::{admin_user, views};
    use crate::server_context::{database, service};

    let user = admin_user()?;
    let billing = service::<Billing>()?;
    let overview = admin::overview(&database()?, &billing, user.user_id, &search).await?;
    let admin_email = service::<jarvis_backend::accounts::Accounts>()?.profile(user.user_id).await?.email;
    Ok(views(overview, user.user_id, admin_email, search, store::USERS_LIMIT))
}

/// Disables the account `user_id` (its sessions end at once and it cannot log in) or, with
/// `disabled` false, enables it again. Returns a sentence saying what was done.
#[server(prefix = "/api", endpoint = "admin_set_disabled")]
pub async fn set_user_disabled(user_id: String, disabled: bool) -> Result<String, AppError> {
    use self::ssr::admin_user;
    use crate::server_context::database;

    let admin = admin_user()?;
    let target = uuid::Uuid::parse_str(&user_id).map_err(|_| AppError::NotFound("Not found.".to_owned()))?;
    let email = jarvis_backend::admin::set_disabled(&database()?, admin.user_id, target, disabled).await?;
    Ok(if disabled {
        format!("{email} is disabled: their sessions ended and they cannot log in.")
    } else {
        format!("{email} is enabled again and can log in.")
    })
}

/// Applies a Stripe event that was set aside once more, through billing's own handler. Returns a
/// sentence saying how it went.
#[server(prefix = "/api", endpoint = "admin_replay_event")]
pub async fn replay_stripe_event(event_id: String) -> Result<String, AppError> {
    use jarvis_backend::admin::{self, Replayed};
    use jarvis_backend::billing::Billing;

    use self::ssr::admin_user;
    use crate::server_context::{database, service};

    let user = admin_user()?;
    let billing = service::<Billing>()?;
    let replayed = admin::replay_event(&database()?, &billing, user.user_id, &event_id).await?;
    Ok(match replayed {
        Replayed::Applied => format!("Event {event_id} was applied."),
        Replayed::SetAsideAgain { error } => format!(
            "Event {event_id} failed again and is set aside: {}",
            error.unwrap_or_else(|| "no error was recorded.".to_owned())
        ),
        Replayed::Queued => format!("Event {event_id} is being applied by another instance."),
    })
}

#[cfg(feature = "ssr")]
mod ssr {
    //! The server half: who may ask, and the backend's rows as views.

    use jarvis_backend::accounts::CurrentUser;
    use jarvis_backend::admin::Overview;
    use uuid::Uuid;

    use crate::admin::{
        AdminOverview, AdminUserView, AuditView, FailureView, InstanceView, SetAsideEventView,
    };
    use crate::error::AppError;
    use crate::server_context::signed_in_user;

    /// A moment as the console shows it.
    macro_rules! when {
        ($at:expr) => {
            $at.format("%Y-%m-%d %H:%M:%S UTC").to_string()
        };
    }

    /// The signed-in user; a visitor is told "not found", like a non-admin (the backend's
    /// functions then check that the user is an admin).
    pub fn admin_user() -> Result<CurrentUser, AppError> {
        signed_in_user().ok_or_else(|| AppError::NotFound("Not found.".to_owned()))
    }

    fn count(value: i64) -> u64 {
        u64::try_from(value).unwrap_or(0)
    }

    pub fn views(
        overview: Overview,
        admin: Uuid,
        admin_email: String,
        search: String,
        users_limit: i32,
    ) -> AdminOverview {
        AdminOverview {
            admin_email,
            search,
            users_limit: usize::try_from(users_limit).unwrap_or(0),
            users: overview
                .users
                .into_iter()
                .map(|entry| {
                    let row = entry.row;
                    AdminUserView {
                        id: row.user_id.to_string(),
                        is_you: row.user_id == admin,
                        email: row.email,
                        display_name: row.display_name,
                        created_at: when!(row.created_at),
                        email_verified: row.email_verified,
                        disabled_at: row.disabled_at.map(|at| when!(at)),
                        is_admin: row.is_admin,
                        plan: entry.plan,
                        subscription_status: row.subscription_status,
                        messages_this_month: count(row.messages_this_month),
                        tokens_this_month: count(row.tokens_this_month),
                        cost_micros_this_month: count(row.cost_micros_this_month),
                    }
                })
                .collect(),
            set_aside_events: overview
                .set_aside_events
                .into_iter()
                .map(|event| SetAsideEventView {
                    id: event.id,
                    event_type: event.event_type,
                    received_at: when!(event.received_at),
                    attempts: event.attempts,
                    last_error: event.last_error,
                })
                .collect(),
            failed_runs: overview
                .failed_runs
                .into_iter()
                .map(|group| FailureView {
                    error_code: group.error_code,
                    runs: count(group.runs),
                    users: count(group.users),
                    last_failed_at: group.last_failed_at.map(|at| when!(at)),
                })
                .collect(),
            failed_runs_days: jarvis_backend::admin::FAILED_RUNS_DAYS,
            instances: overview
                .instances
                .into_iter()
                .map(|instance| InstanceView {
                    id: instance.id.to_string(),
                    started_at: when!(instance.started_at),
                    last_seen_at: when!(instance.last_seen_at),
                    lease_until: when!(instance.lease_until),
                    live: instance.live,
                    running_runs: count(instance.running_runs),
                })
                .collect(),
            audit: overview
                .audit
                .into_iter()
                .map(|row| AuditView {
                    at: when!(row.at),
                    actor: row.actor,
                    action: row.action,
                    target: row.target,
                })
                .collect(),
        }
    }
}
