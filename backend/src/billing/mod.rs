//! Billing and entitlements: which plan each user is on (from their Stripe subscription, or the
//! configured plan when billing is off), what it allows, what each run used and cost, Checkout
//! and the Customer Portal, and the webhook that keeps subscriptions in step with Stripe.
//!
//! The webhook path: the signature is checked on the raw body ([`signature`]), the event parsed
//! into `async-stripe`'s typed event, stored once by id (a duplicate changes nothing) and
//! answered at once; a worker on any instance takes stored events with `FOR UPDATE SKIP LOCKED`
//! and applies them, retrying failures with a growing delay. Applying never trusts the event's
//! copy of a subscription: it fetches the subscription from Stripe and stores that, so events
//! arriving late, twice or out of order all converge on Stripe's current state.

mod error;
pub mod plans;
pub mod signature;
pub mod store;
pub mod stripe;
pub mod usage;
mod webhook;

use std::sync::Arc;

use jarvis_types::billing::{BillingView, Meter, PlanView, PricingView, SubscriptionView};
use secrecy::{ExposeSecret, SecretString};
use sqlx::PgPool;
use tokio::sync::Notify;
use url::Url;
use uuid::Uuid;

use self::error::stripe_failure;
pub use self::error::{BillingError, WebhookError};
use self::plans::{Catalog, Plan};
use self::store::SubscriptionRow;
use self::stripe::{Checkout, StripeApi, StripeSettings};
use self::usage::Allowance;
use crate::agent::messages::Usage;

/// How billing is set up.
#[derive(Debug, Clone)]
pub struct BillingSettings {
    pub catalog: Catalog,
    /// `None`: billing is off and every user has the catalog's billing-off plan.
    pub stripe: Option<StripeConfig>,
    /// Where Checkout and the portal send people back to.
    pub public_url: Url,
}

#[derive(Debug, Clone)]
pub struct StripeConfig {
    pub api: StripeSettings,
    /// The webhook endpoint's signing secrets (more than one while rolling).
    pub webhook_secrets: Vec<SecretString>,
}

/// What became of a verified delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Received {
    /// Stored; the worker applies it.
    Stored { id: String },
    /// This event id was stored before: nothing changes.
    Duplicate { id: String },
    /// An event type Jarvis does not act on.
    Ignored { id: String, event_type: String },
}

/// The event types the webhook acts on.
pub const HANDLED_EVENTS: &[&str] = &[
    "checkout.session.completed",
    "customer.subscription.created",
    "customer.subscription.updated",
    "customer.subscription.deleted",
    "invoice.paid",
    "invoice.payment_failed",
];

/// What a user may do now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entitlement {
    pub plan: Plan,
    pub allowance: Allowance,
    /// Whether replies may be spoken.
    pub voice: bool,
}

/// The billing service. Cheap to clone.
#[derive(Clone)]
pub struct Billing {
    inner: Arc<Inner>,
}

struct Inner {
    pool: PgPool,
    catalog: Catalog,
    stripe: Option<StripeApi>,
    webhook_secrets: Vec<String>,
    public_url: Url,
    /// Rung when this instance stored an event, so it is applied without waiting for the poll.
    wake: Notify,
}

impl std::fmt::Debug for Billing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Billing").field("enabled", &self.enabled()).finish_non_exhaustive()
    }
}

impl Billing {
    pub fn new(pool: PgPool, settings: BillingSettings) -> Result<Self, BillingError> {
        let (stripe, webhook_secrets) = match &settings.stripe {
            Some(config) => (
                Some(StripeApi::new(&config.api).map_err(BillingError::StripeClient)?),
                config.webhook_secrets.iter().map(|secret| secret.expose_secret().to_owned()).collect(),
            ),
            None => (None, Vec::new()),
        };
        Ok(Self {
            inner: Arc::new(Inner {
                pool,
                catalog: settings.catalog,
                stripe,
                webhook_secrets,
                public_url: settings.public_url,
                wake: Notify::new(),
            }),
        })
    }

    /// Whether Stripe billing is on.
    pub fn enabled(&self) -> bool {
        self.inner.stripe.is_some()
    }

    pub fn catalog(&self) -> &Catalog {
        &self.inner.catalog
    }

    /// The user's plan now, and the subscription it comes from.
    pub async fn plan_of(&self, user_id: Uuid) -> Result<(Plan, Option<SubscriptionRow>), BillingError> {
        let catalog = &self.inner.catalog;
        if !self.enabled() {
            return Ok((catalog.off().clone(), None));
        }
        let subscriptions = store::subscriptions(&self.inner.pool, user_id).await?;
        let live = subscriptions.iter().filter(|row| row.is_live()).find_map(|row| {
            let plan = row.plan_id.as_deref().and_then(|id| catalog.plan(id))?;
            Some((plan.clone(), Some(row.clone())))
        });
        Ok(live.unwrap_or_else(|| (catalog.default().clone(), subscriptions.into_iter().next())))
    }

    /// Whether the user has a subscription Stripe still bills (active, trialing or past due).
    pub async fn has_live_subscription(&self, user_id: Uuid) -> Result<bool, BillingError> {
        if !self.enabled() {
            return Ok(false);
        }
        Ok(store::subscriptions(&self.inner.pool, user_id).await?.iter().any(SubscriptionRow::is_live))
    }

    /// What the user may do now (the models the plan allows: see `crate::models`).
    pub async fn entitlement(&self, user_id: Uuid) -> Result<Entitlement, BillingError> {
        let (plan, _) = self.plan_of(user_id).await?;
        Ok(Entitlement {
            allowance: Allowance {
                messages_per_day: plan.messages_per_day,
                messages_per_hour: plan.messages_per_hour,
                tokens_per_month: plan.tokens_per_month,
            },
            voice: plan.voice,
            plan,
        })
    }

    /// Records a finished run's tokens and their estimated cost at the prices of `model` (the
    /// id the run recorded).
    pub async fn record_usage(
        &self,
        user_id: Uuid,
        run_id: Uuid,
        model: &str,
        usage: &Usage,
    ) -> Result<(), BillingError> {
        let cost = self.inner.catalog.cost_micros(model, usage);
        usage::record(&self.inner.pool, user_id, run_id, usage, cost).await?;
        Ok(())
    }

    /// The user's usage today, this hour and this month (UTC), conversations since deleted
    /// included.
    pub async fn usage(&self, user_id: Uuid) -> Result<usage::UsageSummary, BillingError> {
        Ok(usage::summary(&self.inner.pool, user_id).await?)
    }

    /// How many more bytes the user may store, `None` for no limit.
    pub async fn storage_left(&self, user_id: Uuid) -> Result<Option<u64>, BillingError> {
        let (plan, _) = self.plan_of(user_id).await?;
        match plan.storage_bytes {
            None => Ok(None),
            Some(limit) => {
                let used = usage::storage_bytes(&self.inner.pool, user_id).await?;
                Ok(Some(limit.saturating_sub(used)))
            }
        }
    }

    fn plan_view(&self, plan: &Plan) -> PlanView {
        PlanView {
            id: plan.id.clone(),
            name: plan.name.clone(),
            price_label: plan.price_label.clone(),
            messages_per_day: plan.messages_per_day,
            messages_per_hour: plan.messages_per_hour,
            tokens_per_month: plan.tokens_per_month,
            voice: plan.voice,
            storage_bytes: plan.storage_bytes,
            models: plan.models.clone(),
            purchasable: self.enabled() && plan.price_id.is_some(),
        }
    }

    /// The pricing page; `user_id` when someone is signed in.
    pub async fn pricing(&self, user_id: Option<Uuid>) -> Result<PricingView, BillingError> {
        let current_plan = match user_id {
            Some(user_id) => Some(self.plan_of(user_id).await?.0.id),
            // With billing off everyone has one plan, visitors included.
            None if !self.enabled() => Some(self.inner.catalog.off().id.clone()),
            None => None,
        };
        Ok(PricingView {
            plans: self.inner.catalog.plans().iter().map(|plan| self.plan_view(plan)).collect(),
            billing_enabled: self.enabled(),
            signed_in: user_id.is_some(),
            current_plan,
        })
    }

    /// The user's billing page.
    pub async fn overview(&self, user_id: Uuid) -> Result<BillingView, BillingError> {
        let (plan, subscription) = self.plan_of(user_id).await?;
        let summary = self.usage(user_id).await?;
        let storage = usage::storage_bytes(&self.inner.pool, user_id).await?;
        let has_customer = self.enabled() && store::customer_id(&self.inner.pool, user_id).await?.is_some();
        let upgrades = if self.enabled() {
            self.inner
                .catalog
                .plans()
                .iter()
                .filter(|other| other.id != plan.id && other.price_id.is_some())
                .map(|other| self.plan_view(other))
                .collect()
        } else {
            Vec::new()
        };
        Ok(BillingView {
            billing_enabled: self.enabled(),
            past_due: subscription.as_ref().is_some_and(|row| row.is_live() && row.status == "past_due"),
            subscription: subscription.map(|row| SubscriptionView {
                live: row.is_live(),
                status: row.status,
                current_period_end: row.current_period_end.map(|end| end.to_rfc3339()),
                cancel_at_period_end: row.cancel_at_period_end,
            }),
            has_customer,
            upgrades,
            messages_today: Meter { used: summary.messages_today, limit: plan.messages_per_day },
            messages_this_hour: Meter { used: summary.messages_this_hour, limit: plan.messages_per_hour },
            tokens_this_month: Meter { used: summary.month.total(), limit: plan.tokens_per_month },
            storage_bytes: Meter { used: storage, limit: plan.storage_bytes },
            input_tokens: summary.month.input_tokens,
            output_tokens: summary.month.output_tokens,
            cache_read_tokens: summary.month.cache_read_input_tokens,
            cache_write_tokens: summary.month.cache_creation_input_tokens,
            estimated_cost_micros: summary.cost_micros_this_month,
            plan: self.plan_view(&plan),
        })
    }

    fn stripe(&self) -> Result<&StripeApi, BillingError> {
        self.inner
            .stripe
            .as_ref()
            .ok_or_else(|| BillingError::Disabled(self.inner.catalog.off().name.clone()))
    }

    fn page(&self, path: &str) -> String {
        self.inner.public_url.join(path).map(String::from).unwrap_or_else(|_| path.to_owned())
    }

    /// The user's Stripe customer, created (once) if needed.
    async fn customer(&self, user_id: Uuid, email: &str, name: &str) -> Result<String, BillingError> {
        if let Some(id) = store::customer_id(&self.inner.pool, user_id).await? {
            return Ok(id);
        }
        let created = self.stripe()?.create_customer(user_id, email, name).await.map_err(stripe_failure)?;
        Ok(store::save_customer(&self.inner.pool, user_id, &created).await?)
    }

    /// Starts a Checkout Session for `plan_id`; returns the page to send the user to.
    #[tracing::instrument(name = "billing.checkout", skip_all, fields(user.id = %user_id, plan = plan_id))]
    pub async fn checkout(
        &self,
        user_id: Uuid,
        email: &str,
        name: &str,
        plan_id: &str,
    ) -> Result<String, BillingError> {
        let stripe = self.stripe()?;
        let plan = self.inner.catalog.plan(plan_id).filter(|plan| plan.price_id.is_some());
        let plan = plan.ok_or_else(|| BillingError::UnknownPlan(plan_id.to_owned()))?;
        let price_id = plan.price_id.as_deref().expect("filtered above");
        let (current, subscription) = self.plan_of(user_id).await?;
        if subscription.as_ref().is_some_and(SubscriptionRow::is_live) {
            return Err(BillingError::AlreadySubscribed(current.name));
        }
        let customer_id = self.customer(user_id, email, name).await?;
        // One checkout at a time per user: an open session for the same plan is reused, so
        // two tabs or a double click lead to one payment page, not two subscriptions.
        let mut lock = store::lock_checkout(&self.inner.pool, user_id).await?;
        if let Some((session_id, session_plan)) = store::last_checkout(&mut lock, user_id).await?
            && session_plan == plan.id
        {
            match stripe.open_checkout_url(&session_id).await {
                Ok(Some(url)) => {
                    tracing::info!("billing.checkout_reused");
                    return Ok(url);
                }
                Ok(None) => {}
                Err(error) if error.is_missing() => {}
                Err(error) => return Err(stripe_failure(error)),
            }
        }
        let success_url = format!("{}?checkout=success", self.page(jarvis_types::billing::BILLING_PATH));
        let cancel_url = format!("{}?checkout=cancelled", self.page(jarvis_types::billing::PRICING_PATH));
        let checkout = Checkout {
            user_id,
            plan_id: &plan.id,
            customer_id: &customer_id,
            price_id,
            success_url: &success_url,
            cancel_url: &cancel_url,
        };
        let (session_id, url) = stripe.create_checkout(&checkout).await.map_err(stripe_failure)?;
        store::save_checkout(&mut lock, user_id, &session_id, &plan.id).await?;
        lock.commit().await?;
        tracing::info!("billing.checkout_created");
        Ok(url)
    }

    /// A Customer Portal session for the user; returns its page.
    #[tracing::instrument(name = "billing.portal", skip_all, fields(user.id = %user_id))]
    pub async fn portal(&self, user_id: Uuid) -> Result<String, BillingError> {
        let stripe = self.stripe()?;
        let customer_id =
            store::customer_id(&self.inner.pool, user_id).await?.ok_or(BillingError::NoCustomer)?;
        let return_url = self.page(jarvis_types::billing::BILLING_PATH);
        stripe.create_portal(&customer_id, &return_url).await.map_err(stripe_failure)
    }
}
