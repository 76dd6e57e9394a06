//! The admin console's data: what `/admin` shows ([`AdminOverview`]), as it crosses the wire, and
//! the server functions that read it and act ([`server_fns`]). Only admins get anything: anyone
//! else is answered "not found", like a page that does not exist.

pub mod server_fns;

use serde::{Deserialize, Serialize};

/// Everything `/admin` shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdminOverview {
    /// The address of the admin looking.
    pub admin_email: String,
    /// The search the user list answers (part of an address; empty: everyone, newest first).
    pub search: String,
    pub users: Vec<AdminUserView>,
    /// The most users one search lists.
    pub users_limit: usize,
    pub set_aside_events: Vec<SetAsideEventView>,
    pub failed_runs: Vec<FailureView>,
    /// How many days of failed runs are grouped.
    pub failed_runs_days: i32,
    pub instances: Vec<InstanceView>,
    pub audit: Vec<AuditView>,
}

/// One user, as an admin sees them. Times are shown as given (UTC).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdminUserView {
    pub id: String,
    pub email: String,
    pub display_name: String,
    pub created_at: String,
    pub email_verified: bool,
    /// When the account was disabled, if it is.
    pub disabled_at: Option<String>,
    pub is_admin: bool,
    /// Whether this is the admin looking (who cannot disable themselves).
    pub is_you: bool,
    pub plan: String,
    pub subscription_status: Option<String>,
    pub messages_this_month: u64,
    pub tokens_this_month: u64,
    pub cost_micros_this_month: u64,
}

/// A Stripe event the billing worker set aside after its retries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SetAsideEventView {
    pub id: String,
    pub event_type: String,
    pub received_at: String,
    pub attempts: i32,
    pub last_error: Option<String>,
}

/// Failed runs of one failure code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FailureView {
    pub error_code: String,
    pub runs: u64,
    pub users: u64,
    pub last_failed_at: Option<String>,
}

/// One instance of the run engine.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstanceView {
    pub id: String,
    pub started_at: String,
    pub last_seen_at: String,
    pub lease_until: String,
    /// Whether its lease still holds.
    pub live: bool,
    pub running_runs: u64,
}

/// One admin action.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditView {
    pub at: String,
    pub actor: String,
    pub action: String,
    pub target: String,
}
