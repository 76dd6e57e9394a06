//! What can go wrong with billing, worded for the user, and why a webhook delivery is refused.

use super::signature;
use super::stripe::StripeCallError;

/// Why a billing action failed.
#[derive(Debug, thiserror::Error)]
pub enum BillingError {
    #[error("Billing is off on this server: every account has the {0} plan.")]
    Disabled(String),
    #[error("There is no plan {0:?} to subscribe to.")]
    UnknownPlan(String),
    #[error("You already subscribe to {0}. Manage your subscription to change it.")]
    AlreadySubscribed(String),
    #[error("You have no subscription to manage yet.")]
    NoCustomer,
    #[error("Stripe could not complete this just now. Nothing was charged; try again in a minute.")]
    Stripe(#[source] StripeCallError),
    #[error("the billing database failed")]
    Database(#[from] sqlx::Error),
    /// The Stripe client could not be built from the settings.
    #[error("the Stripe client could not be set up")]
    StripeClient(#[source] StripeCallError),
    /// A webhook event stored earlier does not parse now.
    #[error("a stored Stripe event does not parse")]
    StoredEvent(#[source] serde_json::Error),
}

impl crate::Kinded for BillingError {
    fn kind(&self) -> crate::ErrorKind {
        use crate::ErrorKind;
        match self {
            Self::Disabled(_) | Self::AlreadySubscribed(_) | Self::NoCustomer => ErrorKind::Conflict,
            Self::UnknownPlan(_) => ErrorKind::Invalid,
            Self::Stripe(_) | Self::Database(_) => ErrorKind::Unavailable,
            Self::StripeClient(_) | Self::StoredEvent(_) => ErrorKind::Internal,
        }
    }
}

/// Why a webhook delivery was refused (answered 400; Stripe retries).
#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    #[error("billing is off")]
    Disabled,
    #[error("bad signature: {0}")]
    Signature(#[from] signature::SignatureError),
    #[error("not a Stripe event: {0}")]
    Parse(#[source] serde_json::Error),
    #[error("the billing database failed")]
    Database(#[from] sqlx::Error),
}

impl crate::Kinded for WebhookError {
    fn kind(&self) -> crate::ErrorKind {
        use crate::ErrorKind;
        match self {
            Self::Disabled => ErrorKind::NotFound,
            Self::Signature(_) | Self::Parse(_) => ErrorKind::Invalid,
            Self::Database(_) => ErrorKind::Unavailable,
        }
    }
}

pub(super) fn stripe_failure(error: StripeCallError) -> BillingError {
    tracing::error!(error = crate::error::with_causes(&error), "billing.stripe_call_failed");
    BillingError::Stripe(error)
}
