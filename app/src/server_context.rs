//! What a server function finds in the request it serves (server only): who is asking, and the
//! backend services the server provides to every page and server function. The one place the app
//! reads them; every failure is an [`AppError`].

use jarvis_backend::accounts::CurrentUser;
use leptos::prelude::use_context;

use crate::error::AppError;

/// The verified user of the request being served (the session layer put them in it), or
/// [`AppError::SignedOut`].
pub fn current_user() -> Result<CurrentUser, AppError> {
    signed_in_user().ok_or(AppError::SignedOut)
}

/// The user of the request being served, if anyone is signed in (never an error).
pub fn signed_in_user() -> Option<CurrentUser> {
    use_context::<http::request::Parts>().and_then(|parts| parts.extensions.get::<CurrentUser>().copied())
}

/// A backend service the server provides (`Accounts`, `Billing`, `Chat`, `BlobStore`, `Voice`);
/// one that is missing is a bug of the server's setup.
pub fn service<T: Clone + Send + Sync + 'static>() -> Result<T, AppError> {
    use_context::<T>().ok_or_else(|| {
        tracing::error!(service = std::any::type_name::<T>(), "app.service_missing");
        AppError::Internal
    })
}

/// The application's database pool (the one the chat service holds).
pub fn database() -> Result<sqlx::PgPool, AppError> {
    Ok(service::<jarvis_backend::chat::Chat>()?.pool().clone())
}

/// Whether cookies the app sets carry `Secure`, as the session's do (the server provides
/// [`CookiesSecure`]); `true` when it does not say.
pub fn cookies_secure() -> bool {
    use_context::<CookiesSecure>().is_none_or(|CookiesSecure(secure)| secure)
}

/// Provided by the server to every page and server function: whether its cookies are `Secure`
/// (everywhere but a plain-HTTP loopback address).
#[derive(Debug, Clone, Copy)]
pub struct CookiesSecure(pub bool);
