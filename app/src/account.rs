//! Server functions about the signed-in user. Thin: find who is asking (the one session layer
//! put them in the request), then ask the backend.

use jarvis_types::account::AccountView;
use leptos::prelude::*;

/// The signed-in user's account and live sessions.
#[server(prefix = "/api", endpoint = "account")]
pub async fn get_account() -> Result<AccountView, ServerFnError> {
    use jarvis_backend::accounts::{Accounts, sessions::describe_user_agent};
    use jarvis_types::account::SessionView;

    let user = ssr::current_user()?;
    let accounts = use_context::<Accounts>().ok_or_else(|| ServerFnError::new("accounts service missing"))?;
    let profile = accounts.profile(user.user_id).await.map_err(ssr::internal)?;
    let sessions = accounts.sessions(user.user_id).await.map_err(ssr::internal)?;
    let tokens_this_month = crate::billing::ssr::billing()?
        .usage(user.user_id)
        .await
        .map_err(crate::billing::ssr::internal)?
        .month
        .total();
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

#[cfg(feature = "ssr")]
pub mod ssr {
    //! The server half: who is asking, and error mapping.

    use jarvis_backend::accounts::{AccountError, CurrentUser};
    use leptos::prelude::*;

    /// The verified user of the request being served, or an "unauthenticated" error (and 401).
    pub fn current_user() -> Result<CurrentUser, ServerFnError> {
        let user = use_context::<http::request::Parts>()
            .and_then(|parts| parts.extensions.get::<CurrentUser>().copied());
        user.ok_or_else(|| {
            if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
                response.set_status(http::StatusCode::UNAUTHORIZED);
            }
            ServerFnError::new("unauthenticated")
        })
    }

    /// Logs an account error once and returns a message fit for the user.
    pub fn internal(error: AccountError) -> ServerFnError {
        if let AccountError::Internal(detail) = &error {
            tracing::error!(error = %detail, "app.account_error");
            return ServerFnError::new("Something went wrong on our side.");
        }
        ServerFnError::new(error.to_string())
    }
}
