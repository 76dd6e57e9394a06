//! What the app shows of the signed-in user's account.

use serde::{Deserialize, Serialize};

/// `GET`: "Download my data", the signed-in user's whole account as one zip.
pub const EXPORT_PATH: &str = "/api/account/export";

/// The longest display name, in characters as people count them (Unicode's extended grapheme
/// clusters: "é" written as e and a combining accent, or a family emoji of seven code points,
/// is one); the server checks it, the form says it.
pub const DISPLAY_NAME_MAX_CHARS: usize = 80;

/// The most code points a display name may hold (what Postgres's `char_length` counts, held by the
/// table's CHECK): a bound on storage for characters built of many code points.
pub const DISPLAY_NAME_MAX_CODE_POINTS: usize = 1000;

/// The signed-in user's own account, for the app header and the settings page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountView {
    pub email: String,
    pub display_name: String,
    pub email_verified: bool,
    pub sessions: Vec<SessionView>,
    /// Tokens the agent used for this user this calendar month (UTC).
    pub tokens_this_month: u64,
}

/// One live session (a device that is logged in).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionView {
    pub id: String,
    /// A short description of the browser, from its user agent.
    pub device: String,
    pub ip: Option<String>,
    /// RFC 3339 timestamps.
    pub created_at: String,
    pub last_seen_at: String,
    /// The session this page was loaded with.
    pub current: bool,
}
