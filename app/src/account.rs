//! Server functions about the signed-in user. Thin: find who is asking (the one session layer
//! put them in the request), then ask the backend: the account and its sessions, and the display
//! name.

use jarvis_types::account::AccountView;
use leptos::prelude::*;

use crate::error::AppError;

/// The signed-in user's account and live sessions.
#[server(prefix = "/api", endpoint = "account")]
pub async fn get_account() -> Result<AccountView, AppError> {
    use jarvis_backend::accounts::{Accounts, sessions::describe_user_agent};
    use jarvis_backend::billing::Billing;
    use jarvis_types::account::SessionView;

    use crate::server_context::{current_user, service};

    let user = current_user()?;
    let accounts = service::<Accounts>()?;
    let profile = accounts.profile(user.user_id).await?;
    let sessions = accounts.sessions(user.user_id).await?;
    let tokens_this_month = service::<Billing>()?.usage(user.user_id).await?.month.total();
    Ok(AccountView {
        email: profile.email.clone(),
        display_name: profile.display_name.clone(),
        email_verified: profile.email_verified(),
        tokens_this_month,
        sessions: sessions
            .into_iter()
            .map(|session| SessionView {
                id: session.id.to_string(),
                device: describe_user_agent(&session.user_agent),
                ip: session.ip,
                created_at: session.created_at.to_rfc3339(),
                last_seen_at: session.last_seen_at.to_rfc3339(),
                current: session.id == user.session_id,
            })
            .collect(),
    })
}

/// Sets the signed-in user's display name; answers the sentence that confirms it, naming the
/// name as stored (a cleared name becomes the address's local part). A name too long or with
/// control characters is refused with a sentence saying why.
#[server(prefix = "/api", endpoint = "account_display_name")]
pub async fn set_display_name(display_name: String) -> Result<String, AppError> {
    use jarvis_backend::accounts::profile;

    use crate::server_context::{current_user, database};

    let user = current_user()?;
    let stored = profile::set_display_name(&database()?, user.user_id, &display_name).await?;
    Ok(format!("Saved. Jarvis will call you {stored}."))
}

/// Whether the reset link with `token` can still be used (it is not used up by asking).
#[server(prefix = "/api", endpoint = "reset_link_live")]
pub async fn reset_link_live(token: String) -> Result<bool, AppError> {
    let accounts = crate::server_context::service::<jarvis_backend::accounts::Accounts>()?;
    if token.trim().is_empty() {
        return Ok(false);
    }
    Ok(accounts.reset_link_is_live(&token).await?)
}
