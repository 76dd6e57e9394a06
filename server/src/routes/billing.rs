//! Billing's HTTP face: the Checkout and Customer Portal form posts (plain HTML forms, answered
//! with a 303 to Stripe, so the pricing and billing pages work without JavaScript), and Stripe's
//! webhook, which is authenticated by its signature alone and answered as soon as the event is
//! stored.

use axum::{
    Form, Json,
    body::Bytes,
    extract::State,
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Redirect, Response},
};
use jarvis_backend::Kinded;
use jarvis_backend::billing::{BillingError, Received, WebhookError};
use jarvis_types::billing::{BILLING_PATH, PRICING_PATH};
use serde::Deserialize;
use serde_json::json;

use crate::{
    auth::RequireUser,
    error::{ApiError, log_failure},
    state::AppState,
};

/// Where Stripe delivers events (configure this path on the webhook endpoint in Stripe).
pub const WEBHOOK_PATH: &str = "/webhooks/stripe";

/// Stripe's events are a few kilobytes; anything near this is not one.
pub const WEBHOOK_BODY_LIMIT: usize = 1024 * 1024;

#[derive(Deserialize)]
pub struct CheckoutForm {
    plan: String,
}

/// `POST /billing/checkout` (`plan=<id>`): a Checkout Session for the plan, then off to Stripe.
pub async fn checkout(
    State(state): State<AppState>,
    user: Result<RequireUser, ApiError>,
    Form(form): Form<CheckoutForm>,
) -> Response {
    let Ok(RequireUser(user)) = user else {
        return Redirect::to(&format!("/login?next={PRICING_PATH}")).into_response();
    };
    let profile = match state.accounts.profile(user.user_id).await {
        Ok(profile) => profile,
        Err(error) => {
            log_failure(error.kind(), "internal", &error);
            return back(PRICING_PATH, "internal");
        }
    };
    match state.billing.checkout(user.user_id, &profile.email, &profile.display_name, form.plan.trim()).await
    {
        Ok(url) => Redirect::to(&url).into_response(),
        Err(error) => back(PRICING_PATH, code(&error)),
    }
}

/// `POST /billing/portal`: a Customer Portal session, then off to Stripe.
pub async fn portal(State(state): State<AppState>, user: Result<RequireUser, ApiError>) -> Response {
    let Ok(RequireUser(user)) = user else {
        return Redirect::to(&format!("/login?next={BILLING_PATH}")).into_response();
    };
    match state.billing.portal(user.user_id).await {
        Ok(url) => Redirect::to(&url).into_response(),
        Err(error) => back(BILLING_PATH, code(&error)),
    }
}

/// `POST /webhooks/stripe`: verified on the raw body, stored once, applied by the worker. A
/// refused delivery answers 400 and a failure of ours 503: Stripe delivers it again later.
pub async fn webhook(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let signature = headers.get("stripe-signature").and_then(|value| value.to_str().ok());
    let received = state.billing.receive(&body, signature).await.inspect_err(|error| {
        if matches!(error, WebhookError::Signature(_) | WebhookError::Parse(_)) {
            tracing::warn!(%error, "billing.webhook_refused");
        }
    })?;
    let (id, outcome) = match &received {
        Received::Stored { id } => (id, "stored"),
        Received::Duplicate { id } => (id, "duplicate"),
        Received::Ignored { id, .. } => (id, "ignored"),
    };
    Ok((StatusCode::OK, Json(json!({ "received": true, "id": id, "outcome": outcome }))).into_response())
}

/// The code the pages turn into a sentence. A failure of ours is logged here, once.
fn code(error: &BillingError) -> &'static str {
    match error {
        BillingError::Disabled(_) => "billing_off",
        BillingError::UnknownPlan(_) => "unknown_plan",
        BillingError::AlreadySubscribed(_) => "already_subscribed",
        BillingError::NoCustomer => "no_customer",
        BillingError::Stripe(_) => "stripe_unavailable",
        BillingError::Database(_) | BillingError::StripeClient(_) | BillingError::StoredEvent(_) => {
            log_failure(error.kind(), "internal", error);
            "internal"
        }
    }
}

fn back(path: &str, code: &str) -> Response {
    Redirect::to(&format!("{path}?error={code}")).into_response()
}
