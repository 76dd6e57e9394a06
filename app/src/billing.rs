//! Server functions about plans and billing. Thin: find who is asking (when anyone is), then ask
//! the backend's billing service. Buying and managing a subscription are plain form posts to the
//! server (`/billing/checkout`, `/billing/portal`), not server functions.

use jarvis_types::billing::{BillingView, PricingView};
use leptos::prelude::*;

use crate::error::AppError;

/// The plans on offer, and, when someone is signed in, which one is theirs. Works signed out.
#[server(prefix = "/api", endpoint = "pricing")]
pub async fn get_pricing() -> Result<PricingView, AppError> {
    use crate::server_context::{service, signed_in_user};
    let user_id = signed_in_user().map(|user| user.user_id);
    Ok(service::<jarvis_backend::billing::Billing>()?.pricing(user_id).await?)
}

/// The signed-in user's plan, subscription and usage this month.
#[server(prefix = "/api", endpoint = "billing")]
pub async fn get_billing() -> Result<BillingView, AppError> {
    use crate::server_context::{current_user, service};
    let user = current_user()?;
    Ok(service::<jarvis_backend::billing::Billing>()?.overview(user.user_id).await?)
}
