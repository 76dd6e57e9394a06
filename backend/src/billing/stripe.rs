//! The Stripe calls Jarvis makes, through `async-stripe`'s typed requests: create a customer,
//! a Checkout Session and a Customer Portal session, and fetch a subscription. Every POST carries
//! an `Idempotency-Key`; the API version is the one the crate was generated for (sent as
//! `Stripe-Version` on every request), so Stripe renders objects in the shape the types expect.

use std::collections::HashMap;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use stripe::{
    Client, ClientBuilder, IdempotencyKey, IdempotentKeyError, RequestStrategy, StripeError, StripeRequest,
};
use stripe_billing::billing_portal_session::CreateBillingPortalSession;
use stripe_billing::subscription::RetrieveSubscription;
use stripe_checkout::checkout_session::{
    CreateCheckoutSession, CreateCheckoutSessionLineItems, CreateCheckoutSessionSubscriptionData,
    RetrieveCheckoutSession,
};
use stripe_core::customer::CreateCustomer;
use stripe_shared::{CheckoutSessionMode, Subscription};
use url::Url;

/// The API version Jarvis speaks (pinned by the crate version in Cargo.lock).
pub fn api_version() -> &'static str {
    stripe_shared::version::VERSION.as_str()
}

/// Where and how to reach Stripe.
#[derive(Debug, Clone)]
pub struct StripeSettings {
    /// `STRIPE_SECRET_KEY`.
    pub secret_key: SecretString,
    /// `STRIPE_API_BASE` (default `https://api.stripe.com/`).
    pub api_base: Url,
    /// Per-request timeout.
    pub timeout: Duration,
}

/// A Stripe call failed.
#[derive(Debug, thiserror::Error)]
pub enum StripeCallError {
    /// Stripe answered with an error status.
    #[error("Stripe answered {status}: {message}")]
    Api { status: u16, code: Option<String>, message: String },
    /// Stripe could not be reached, or its answer could not be read.
    #[error("Stripe could not be reached: {0}")]
    Transport(#[source] StripeError),
    /// Stripe answered a Checkout Session without the page to send the user to.
    #[error("Stripe could not be reached: the Checkout Session has no url")]
    NoCheckoutUrl,
    /// The idempotency key we made is not one Stripe accepts.
    #[error("Stripe could not be reached: {0}")]
    IdempotencyKey(#[source] IdempotentKeyError),
}

/// A call Stripe refused as such is our mistake; one that may succeed later is Stripe being away.
impl crate::Kinded for StripeCallError {
    fn kind(&self) -> crate::ErrorKind {
        if self.is_transient() { crate::ErrorKind::Unavailable } else { crate::ErrorKind::Internal }
    }
}

impl StripeCallError {
    /// Whether trying again later can help.
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Api { status, .. } => matches!(status, 409 | 429 | 500..=599),
            Self::Transport(_) | Self::NoCheckoutUrl | Self::IdempotencyKey(_) => true,
        }
    }

    /// Stripe's 404 for an object that does not exist.
    pub fn is_missing(&self) -> bool {
        matches!(self, Self::Api { status: 404, .. })
    }
}

impl From<StripeError> for StripeCallError {
    fn from(error: StripeError) -> Self {
        match error {
            StripeError::Stripe(api, status) => Self::Api {
                status,
                code: api.code.map(|code| code.as_str().to_owned()),
                message: api.message.unwrap_or_else(|| "no message".into()),
            },
            other => Self::Transport(other),
        }
    }
}

/// The Stripe API client.
#[derive(Clone)]
pub struct StripeApi {
    client: Client,
}

impl std::fmt::Debug for StripeApi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StripeApi").finish_non_exhaustive()
    }
}

/// How long one customer-creation key stands: creations this close together are one request.
const CUSTOMER_KEY_WINDOW_SECS: u64 = 600;

/// The idempotency key of creating `user_id`'s customer with these details at `now`. Stripe
/// replays the first answer to a key — a 500 included — for at least 24 hours, and refuses the
/// key with other parameters (`idempotency_error`), so the key is not the user's alone: it names
/// the details sent and a ten-minute window. Two instances creating the customer at once send the
/// same key and get one customer; a failure is not replayed past its window, and a changed email
/// or name is a new request. (Should two customers ever be made, the first one stored is kept.)
pub fn customer_key(user_id: uuid::Uuid, email: &str, name: &str, now: std::time::SystemTime) -> String {
    use sha2::{Digest, Sha256};
    let window =
        now.duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_secs() / CUSTOMER_KEY_WINDOW_SECS;
    let details = Sha256::new().chain_update(email).chain_update([0]).chain_update(name).finalize();
    format!("jarvis-customer-{user_id}-{}-{window}", hex::encode(&details[..8]))
}

impl StripeApi {
    pub fn new(settings: &StripeSettings) -> Result<Self, StripeCallError> {
        // The Stripe client's connector uses rustls' process-wide crypto provider; aws-lc-rs is
        // the only one linked in (deny.toml bans ring). Installing it fails harmlessly when it
        // is already installed.
        let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
        let mut base = settings.api_base.to_string();
        if !base.ends_with('/') {
            base.push('/');
        }
        let client = ClientBuilder::new(settings.secret_key.expose_secret())
            .url(base)
            .timeout(settings.timeout)
            .app_info("Jarvis", Some(env!("CARGO_PKG_VERSION").to_owned()), None)
            .build()
            .map_err(StripeCallError::from)?;
        Ok(Self { client })
    }

    /// Creates the customer of a user, under [`customer_key`]: two instances creating it at once
    /// get one customer.
    pub async fn create_customer(
        &self,
        user_id: uuid::Uuid,
        email: &str,
        name: &str,
    ) -> Result<String, StripeCallError> {
        let request = CreateCustomer::new()
            .email(email)
            .name(name)
            .metadata(HashMap::from([("user_id".to_owned(), user_id.to_string())]));
        let key = customer_key(user_id, email, name, std::time::SystemTime::now());
        let customer = request.customize().request_strategy(once_with_key(&key)?).send(&self.client).await?;
        Ok(customer.id.to_string())
    }

    /// The page of a Checkout Session that is still open (not completed, not expired).
    pub async fn open_checkout_url(&self, session_id: &str) -> Result<Option<String>, StripeCallError> {
        let session = RetrieveCheckoutSession::new(session_id).send(&self.client).await?;
        let open = session.status.as_ref().is_some_and(|status| status.as_str() == "open");
        Ok(if open { session.url } else { None })
    }

    /// A Checkout Session in subscription mode for one unit of `price_id`, for the user's
    /// customer; returns its id and Stripe's hosted page.
    pub async fn create_checkout(
        &self,
        checkout: &Checkout<'_>,
    ) -> Result<(String, String), StripeCallError> {
        let mut item = CreateCheckoutSessionLineItems::new();
        item.price = Some(checkout.price_id.to_owned());
        item.quantity = Some(1);
        let mut subscription_data = CreateCheckoutSessionSubscriptionData::new();
        let metadata = HashMap::from([
            ("user_id".to_owned(), checkout.user_id.to_string()),
            ("plan_id".to_owned(), checkout.plan_id.to_owned()),
        ]);
        subscription_data.metadata = Some(metadata.clone());
        let request = CreateCheckoutSession::new()
            .mode(CheckoutSessionMode::Subscription)
            .customer(checkout.customer_id)
            .client_reference_id(checkout.user_id.to_string())
            .line_items(vec![item])
            .subscription_data(subscription_data)
            .metadata(metadata)
            .success_url(checkout.success_url)
            .cancel_url(checkout.cancel_url);
        let key = format!("jarvis-checkout-{}", uuid::Uuid::new_v4());
        let session = request.customize().request_strategy(once_with_key(&key)?).send(&self.client).await?;
        let url = session.url.ok_or(StripeCallError::NoCheckoutUrl)?;
        Ok((session.id.to_string(), url))
    }

    /// A Customer Portal session; returns its page.
    pub async fn create_portal(
        &self,
        customer_id: &str,
        return_url: &str,
    ) -> Result<String, StripeCallError> {
        let request = CreateBillingPortalSession::new().customer(customer_id).return_url(return_url);
        let key = format!("jarvis-portal-{}", uuid::Uuid::new_v4());
        let session = request.customize().request_strategy(once_with_key(&key)?).send(&self.client).await?;
        Ok(session.url)
    }

    /// The subscription as Stripe has it now.
    pub async fn subscription(&self, id: &str) -> Result<Subscription, StripeCallError> {
        Ok(RetrieveSubscription::new(id).send(&self.client).await?)
    }
}

/// What a Checkout Session is for.
#[derive(Debug, Clone)]
pub struct Checkout<'a> {
    pub user_id: uuid::Uuid,
    pub plan_id: &'a str,
    pub customer_id: &'a str,
    pub price_id: &'a str,
    pub success_url: &'a str,
    pub cancel_url: &'a str,
}

/// One try carrying an `Idempotency-Key`: a POST repeated with the same key (a retry, or two
/// instances doing the same thing) is done once by Stripe.
fn once_with_key(key: &str) -> Result<RequestStrategy, StripeCallError> {
    let key = IdempotencyKey::new(key).map_err(StripeCallError::IdempotencyKey)?;
    Ok(RequestStrategy::Idempotent(key))
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use super::customer_key;

    #[test]
    fn a_customer_key_is_shared_by_simultaneous_creations_and_not_by_later_or_different_ones() {
        let user = uuid::Uuid::new_v4();
        let at = UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let key = customer_key(user, "ada@example.com", "Ada", at);
        assert!(key.starts_with(&format!("jarvis-customer-{user}-")), "{key}");
        assert!(key.len() <= 255, "Stripe takes keys of up to 255 characters");
        // Two instances at the same moment: one key, so one customer.
        assert_eq!(customer_key(user, "ada@example.com", "Ada", at + Duration::from_secs(1)), key);
        // After the window, a new attempt is not handed the first one's stored failure.
        assert_ne!(customer_key(user, "ada@example.com", "Ada", at + Duration::from_secs(601)), key);
        // Other details are another request (the same key would be an idempotency_error).
        assert_ne!(customer_key(user, "ada@example.org", "Ada", at), key);
        assert_ne!(customer_key(user, "ada@example.com", "Ada L.", at), key);
        assert_ne!(customer_key(uuid::Uuid::new_v4(), "ada@example.com", "Ada", at), key);
    }
}
