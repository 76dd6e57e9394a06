//! What the pricing and billing pages show: the plans on offer, the user's plan and subscription,
//! and this month's usage against the plan's limits.

use serde::{Deserialize, Serialize};

/// Where the pricing page lives; quota errors link here.
pub const PRICING_PATH: &str = "/pricing";
/// Where the signed-in user's plan, subscription and usage are shown.
pub const BILLING_PATH: &str = "/billing";
/// Form posts: start a Checkout Session for the plan in the `plan` field, or open the Customer
/// Portal. Both answer with a redirect (303) to Stripe.
pub const CHECKOUT_PATH: &str = "/billing/checkout";
pub const PORTAL_PATH: &str = "/billing/portal";

/// One plan as offered on the pricing page. `None` limits mean "no limit".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanView {
    /// The plan's id in configuration (`free`, `pro`).
    pub id: String,
    pub name: String,
    /// What it costs, as shown to people (`$20 / month`, `Free`).
    pub price_label: String,
    pub messages_per_day: Option<u64>,
    pub messages_per_hour: Option<u64>,
    pub tokens_per_month: Option<u64>,
    pub voice: bool,
    pub storage_bytes: Option<u64>,
    /// The models this plan may use; empty: the server's model.
    pub models: Vec<String>,
    /// Whether it can be bought (it has a Stripe price and billing is on).
    pub purchasable: bool,
}

/// The pricing page: every plan, and (when signed in) which one is the user's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PricingView {
    pub plans: Vec<PlanView>,
    /// False when the server has no Stripe key: every user has `off_plan`.
    pub billing_enabled: bool,
    pub signed_in: bool,
    /// The signed-in user's current plan id; with billing off, the plan every account has
    /// (visitors included).
    pub current_plan: Option<String>,
}

/// The state of the user's Stripe subscription, as last learned from Stripe.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubscriptionView {
    /// Stripe's status: `active`, `trialing`, `past_due`, `unpaid`, `canceled`, `incomplete`, …
    pub status: String,
    /// When the current period ends (RFC 3339): the renewal date, or the end date when
    /// `cancel_at_period_end`.
    pub current_period_end: Option<String>,
    pub cancel_at_period_end: bool,
    /// Whether it entitles to its plan now (active, trialing, or past due while Stripe retries).
    pub live: bool,
}

/// A usage meter: how much of a limit is used.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Meter {
    pub used: u64,
    /// `None`: unlimited.
    pub limit: Option<u64>,
}

/// The signed-in user's billing page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BillingView {
    pub billing_enabled: bool,
    pub plan: PlanView,
    pub subscription: Option<SubscriptionView>,
    /// The last payment failed and Stripe is retrying: the app warns.
    pub past_due: bool,
    /// Whether a Stripe customer exists, so that "Manage subscription" can open the portal.
    pub has_customer: bool,
    /// Plans the user can upgrade to.
    pub upgrades: Vec<PlanView>,
    pub messages_today: Meter,
    pub messages_this_hour: Meter,
    pub tokens_this_month: Meter,
    pub storage_bytes: Meter,
    /// This month's model usage, by kind of token.
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub cache_read_tokens: u64,
    pub cache_write_tokens: u64,
    /// Estimated cost of this month's runs at the model's list prices, in micro-dollars.
    pub estimated_cost_micros: u64,
}
