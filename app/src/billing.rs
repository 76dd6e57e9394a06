//! Server functions about plans and billing. Thin: find who is asking (when anyone is), then ask
//! the backend's billing service. Buying and managing a subscription are plain form posts to the
//! server (`/billing/checkout`, `/billing/portal`), not server functions.

use jarvis_types::billing::{BillingView, PricingView};
use leptos::prelude::*;

/// The plans on offer, and, when someone is signed in, which one is theirs. Works signed out.
#[server(prefix = "/api", endpoint = "pricing")]
pub async fn get_pricing() -> Result<PricingView, ServerFnError> {
    let user_id = ssr::signed_in_user().map(|user| user.user_id);
    ssr::billing()?.pricing(user_id).await.map_err(ssr::internal)
}

/// The signed-in user's plan, subscription and usage this month.
#[server(prefix = "/api", endpoint = "billing")]
pub async fn get_billing() -> Result<BillingView, ServerFnError> {
    let user = crate::account::ssr::current_user()?;
    ssr::billing()?.overview(user.user_id).await.map_err(ssr::internal)
}

#[cfg(feature = "ssr")]
pub mod ssr {
    //! The server half: the billing service, the optional user, and error mapping.

    use jarvis_backend::accounts::CurrentUser;
    use jarvis_backend::billing::{Billing, BillingError};
    use leptos::prelude::*;

    /// The billing service the server provides to every page and server function.
    pub fn billing() -> Result<Billing, ServerFnError> {
        use_context::<Billing>().ok_or_else(|| ServerFnError::new("billing service missing"))
    }

    /// The user of the request being served, if anyone is signed in (never an error).
    pub fn signed_in_user() -> Option<CurrentUser> {
        use_context::<http::request::Parts>().and_then(|parts| parts.extensions.get::<CurrentUser>().copied())
    }

    /// Logs an internal billing error once and returns a message fit for the user.
    pub fn internal(error: BillingError) -> ServerFnError {
        if let BillingError::Internal(detail) = &error {
            tracing::error!(error = %detail, "app.billing_error");
            return ServerFnError::new("Something went wrong on our side.");
        }
        ServerFnError::new(error.to_string())
    }
}
