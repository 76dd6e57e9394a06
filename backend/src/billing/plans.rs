//! Plans and what they entitle to, and the model price table that turns tokens into an estimated
//! cost. Both come from configuration (a JSON file), with defaults built in.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::agent::messages::Usage;

/// One plan. `None` limits mean "no limit".
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Plan {
    /// Stable id (`free`, `pro`), stored with subscriptions.
    pub id: String,
    pub name: String,
    /// The Stripe price a subscription to this plan is for. A plan without one cannot be bought.
    #[serde(default)]
    pub price_id: Option<String>,
    /// What it costs, as shown on the pricing page.
    #[serde(default)]
    pub price_label: String,
    #[serde(default)]
    pub messages_per_day: Option<u64>,
    #[serde(default)]
    pub messages_per_hour: Option<u64>,
    #[serde(default)]
    pub tokens_per_month: Option<u64>,
    #[serde(default = "yes")]
    pub voice: bool,
    #[serde(default)]
    pub storage_bytes: Option<u64>,
    /// The ids of the models its users may choose (`JARVIS_MODELS_FILE`'s ids, or model names
    /// without one); empty: every configured model. When the deployment's default is not in the
    /// list, runs without a choice use the list's first model.
    #[serde(default)]
    pub models: Vec<String>,
}

fn yes() -> bool {
    true
}

impl Plan {
    /// Whether users on this plan may choose the model `id`.
    pub fn allows(&self, id: &str) -> bool {
        self.models.is_empty() || self.models.iter().any(|model| model == id)
    }
}

/// List prices of one model, in dollars per million tokens.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelPrice {
    pub input: f64,
    pub output: f64,
    pub cache_write: f64,
    pub cache_read: f64,
}

/// The plans on offer and the price table.
#[derive(Debug, Clone, PartialEq)]
pub struct Catalog {
    plans: Vec<Plan>,
    /// The plan of every user without a live subscription (and of every user when billing is
    /// off, if `off_plan` is not set).
    default_plan: String,
    /// The plan every user has when billing is off.
    off_plan: String,
    prices: BTreeMap<String, ModelPrice>,
    /// The prices of the models `JARVIS_MODELS_FILE` lists, by model id: matched exactly, before
    /// the table, so an id never prices another model by its prefix.
    configured_prices: BTreeMap<String, ModelPrice>,
}

/// The configuration file's shape (`JARVIS_PLANS_FILE`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CatalogFile {
    plans: Vec<Plan>,
    default_plan: String,
    #[serde(default)]
    off_plan: Option<String>,
    #[serde(default)]
    model_prices: BTreeMap<String, ModelPrice>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CatalogError {
    #[error("the plans file is not valid: {0}")]
    Invalid(String),
    #[error("two plans have the id {0:?}")]
    DuplicatePlan(String),
    #[error("two plans have the Stripe price {0:?}")]
    DuplicatePrice(String),
    #[error("there is no plan {0:?} (named as the default or the billing-off plan)")]
    UnknownPlan(String),
    #[error("the default plan {0:?} must not have a Stripe price: it is what users get without paying")]
    PaidDefault(String),
    #[error("a plan id must be 1–32 lowercase letters, digits or dashes, not {0:?}")]
    BadId(String),
}

/// A plans file that does not hold is the operator's mistake, found at start-up.
impl crate::Kinded for CatalogError {
    fn kind(&self) -> crate::ErrorKind {
        crate::ErrorKind::Internal
    }
}

impl Catalog {
    /// The built-in plans: Free (limited, no voice) and Pro (`STRIPE_PRICE_PRO`), with Free the
    /// default and Pro for everyone when billing is off.
    pub fn builtin(pro_price_id: Option<String>) -> Self {
        let free = Plan {
            id: "free".into(),
            name: "Free".into(),
            price_id: None,
            price_label: "Free".into(),
            messages_per_day: Some(20),
            messages_per_hour: Some(10),
            tokens_per_month: Some(200_000),
            voice: false,
            storage_bytes: Some(100 * 1024 * 1024),
            models: Vec::new(),
        };
        let pro = Plan {
            id: "pro".into(),
            name: "Pro".into(),
            price_id: pro_price_id,
            price_label: "$20 / month".into(),
            messages_per_day: Some(500),
            messages_per_hour: Some(100),
            tokens_per_month: Some(10_000_000),
            voice: true,
            storage_bytes: Some(10 * 1024 * 1024 * 1024),
            models: Vec::new(),
        };
        Self::new(vec![free, pro], "free".into(), "pro".into(), default_prices())
            .expect("the built-in plans are valid")
    }

    /// Reads a plans file (JSON): `{"plans": [...], "default_plan": "free", "off_plan": "pro",
    /// "model_prices": {"model": {"input": 3, "output": 15, "cache_write": 3.75, "cache_read": 0.3}}}`.
    /// Prices named there replace or add to the built-in table.
    pub fn from_json(json: &str) -> Result<Self, CatalogError> {
        let file: CatalogFile =
            serde_json::from_str(json).map_err(|error| CatalogError::Invalid(error.to_string()))?;
        let mut prices = default_prices();
        prices.extend(file.model_prices);
        let off_plan = file.off_plan.unwrap_or_else(|| file.default_plan.clone());
        Self::new(file.plans, file.default_plan, off_plan, prices)
    }

    fn new(
        plans: Vec<Plan>,
        default_plan: String,
        off_plan: String,
        prices: BTreeMap<String, ModelPrice>,
    ) -> Result<Self, CatalogError> {
        for (index, plan) in plans.iter().enumerate() {
            let valid_id = !plan.id.is_empty()
                && plan.id.len() <= 32
                && plan.id.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
            if !valid_id {
                return Err(CatalogError::BadId(plan.id.clone()));
            }
            if plans[..index].iter().any(|other| other.id == plan.id) {
                return Err(CatalogError::DuplicatePlan(plan.id.clone()));
            }
            if let Some(price) = &plan.price_id
                && plans[..index].iter().any(|other| other.price_id.as_ref() == Some(price))
            {
                return Err(CatalogError::DuplicatePrice(price.clone()));
            }
        }
        let catalog = Self { plans, default_plan, off_plan, prices, configured_prices: BTreeMap::new() };
        for id in [&catalog.default_plan, &catalog.off_plan] {
            if catalog.plan(id).is_none() {
                return Err(CatalogError::UnknownPlan(id.clone()));
            }
        }
        if catalog.default().price_id.is_some() {
            return Err(CatalogError::PaidDefault(catalog.default_plan.clone()));
        }
        Ok(catalog)
    }

    pub fn plans(&self) -> &[Plan] {
        &self.plans
    }

    pub fn plan(&self, id: &str) -> Option<&Plan> {
        self.plans.iter().find(|plan| plan.id == id)
    }

    /// The plan of users who pay for nothing.
    pub fn default(&self) -> &Plan {
        self.plan(&self.default_plan).expect("checked when built")
    }

    /// The plan of every user when billing is off.
    pub fn off(&self) -> &Plan {
        self.plan(&self.off_plan).expect("checked when built")
    }

    /// The plan a Stripe price buys.
    pub fn plan_for_price(&self, price_id: &str) -> Option<&Plan> {
        self.plans.iter().find(|plan| plan.price_id.as_deref() == Some(price_id))
    }

    /// Sets the Stripe price of a plan (from `STRIPE_PRICE_<PLAN>` variables).
    pub fn set_price(&mut self, plan_id: &str, price_id: String) -> Result<(), CatalogError> {
        if self.default_plan == plan_id {
            return Err(CatalogError::PaidDefault(plan_id.to_owned()));
        }
        if self.plans.iter().any(|plan| plan.id != plan_id && plan.price_id.as_deref() == Some(&price_id)) {
            return Err(CatalogError::DuplicatePrice(price_id));
        }
        let plan = self
            .plans
            .iter_mut()
            .find(|plan| plan.id == plan_id)
            .ok_or_else(|| CatalogError::UnknownPlan(plan_id.to_owned()))?;
        plan.price_id = Some(price_id);
        Ok(())
    }

    /// Prices the configured models by id (`JARVIS_MODELS_FILE`'s `prices`), ahead of the table.
    pub fn set_model_prices(&mut self, prices: BTreeMap<String, ModelPrice>) {
        self.configured_prices = prices;
    }

    /// The estimated cost of a run's tokens on `model` (a configured model's id, or a model
    /// name), in micro-dollars; 0 for a model the table does not know (a local model costs
    /// nothing).
    pub fn cost_micros(&self, model: &str, usage: &Usage) -> u64 {
        let Some(price) = self.price_of(model) else { return 0 };
        // Dollars per million tokens = micro-dollars per token.
        let micros = usage.input_tokens as f64 * price.input
            + usage.output_tokens as f64 * price.output
            + usage.cache_creation_input_tokens as f64 * price.cache_write
            + usage.cache_read_input_tokens as f64 * price.cache_read;
        micros.round() as u64
    }

    /// The prices of a model: its exact name, or the longest known name it starts with (dated
    /// versions such as `claude-sonnet-4-5-20250929` share their family's prices).
    pub fn price_of(&self, model: &str) -> Option<ModelPrice> {
        if let Some(price) = self.configured_prices.get(model).or_else(|| self.prices.get(model)) {
            return Some(*price);
        }
        self.prices
            .iter()
            .filter(|(name, _)| model.starts_with(name.as_str()))
            .max_by_key(|(name, _)| name.len())
            .map(|(_, price)| *price)
    }
}

/// Anthropic's list prices (dollars per million tokens; cache writes at the 5-minute rate).
fn default_prices() -> BTreeMap<String, ModelPrice> {
    let price = |input: f64, output: f64| ModelPrice {
        input,
        output,
        cache_write: input * 1.25,
        cache_read: input * 0.1,
    };
    BTreeMap::from([
        ("claude-opus-4-5".to_owned(), price(5.0, 25.0)),
        ("claude-opus-4-1".to_owned(), price(15.0, 75.0)),
        ("claude-opus-4".to_owned(), price(15.0, 75.0)),
        ("claude-sonnet-4-5".to_owned(), price(3.0, 15.0)),
        ("claude-sonnet-4".to_owned(), price(3.0, 15.0)),
        ("claude-haiku-4-5".to_owned(), price(1.0, 5.0)),
        ("claude-3-5-haiku".to_owned(), price(0.8, 4.0)),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_builtin_catalog_has_free_by_default_and_pro_when_billing_is_off() {
        let catalog = Catalog::builtin(Some("price_123".into()));
        assert_eq!(catalog.default().id, "free");
        assert_eq!(catalog.off().id, "pro");
        assert_eq!(catalog.plan_for_price("price_123").map(|plan| plan.id.as_str()), Some("pro"));
        assert!(catalog.plan_for_price("price_other").is_none());
        assert!(!catalog.default().voice);
    }

    #[test]
    fn a_plans_file_is_read_and_checked() {
        let json = r#"{"plans": [
            {"id": "free", "name": "Free", "messages_per_day": 2, "voice": false},
            {"id": "pro", "name": "Pro", "price_id": "price_pro", "price_label": "$20 / month", "models": ["claude-haiku-4-5"]}
        ], "default_plan": "free", "model_prices": {"local-llama": {"input": 0, "output": 0, "cache_write": 0, "cache_read": 0}}}"#;
        let catalog = Catalog::from_json(json).unwrap();
        assert_eq!(catalog.default().messages_per_day, Some(2));
        assert_eq!(catalog.off().id, "free", "without off_plan, billing off means the default plan");
        let pro = catalog.plan("pro").unwrap();
        assert!(pro.voice, "voice defaults to on");
        assert!(pro.allows("claude-haiku-4-5") && !pro.allows("claude-sonnet-4-5"));
        assert!(catalog.default().allows("claude-sonnet-4-5"), "no list: every model");

        let bad = |json: &str| Catalog::from_json(json).unwrap_err();
        assert!(matches!(bad(r#"{"plans": [], "default_plan": "free"}"#), CatalogError::UnknownPlan(_)));
        assert!(matches!(
            bad(r#"{"plans": [{"id": "free", "name": "F", "price_id": "p"}], "default_plan": "free"}"#),
            CatalogError::PaidDefault(_)
        ));
        assert!(matches!(
            bad(
                r#"{"plans": [{"id": "free", "name": "F"}, {"id": "free", "name": "G"}], "default_plan": "free"}"#
            ),
            CatalogError::DuplicatePlan(_)
        ));
        assert!(matches!(
            bad(r#"{"plans": [{"id": "Free!", "name": "F"}], "default_plan": "Free!"}"#),
            CatalogError::BadId(_)
        ));
        assert!(matches!(
            bad(r#"{"plans": [{"id": "free", "name": "F", "messages": 3}], "default_plan": "free"}"#),
            CatalogError::Invalid(_)
        ));
    }

    #[test]
    fn costs_follow_the_price_table_by_model_family() {
        let catalog = Catalog::builtin(None);
        let usage = Usage {
            input_tokens: 1_000_000,
            output_tokens: 100_000,
            cache_read_input_tokens: 1_000_000,
            cache_creation_input_tokens: 100_000,
        };
        // 3 + 1.5 + 0.3 + 0.375 dollars.
        assert_eq!(catalog.cost_micros("claude-sonnet-4-5", &usage), 5_175_000);
        assert_eq!(catalog.cost_micros("claude-sonnet-4-5-20250929", &usage), 5_175_000);
        assert_eq!(catalog.cost_micros("claude-opus-4-1-20250805", &usage), 25_875_000);
        assert_eq!(catalog.cost_micros("llama3.2", &usage), 0);
    }

    #[test]
    fn a_configured_model_is_priced_by_its_id_exactly_and_ahead_of_the_table() {
        let mut catalog = Catalog::builtin(None);
        let usage = Usage { input_tokens: 1_000_000, output_tokens: 1_000_000, ..Usage::default() };
        let price = |input: f64, output: f64| ModelPrice { input, output, cache_write: 0.0, cache_read: 0.0 };
        catalog.set_model_prices(BTreeMap::from([
            ("claude-sonnet-4-5".to_owned(), price(1.0, 2.0)),
            ("local".to_owned(), price(0.5, 0.5)),
        ]));
        assert_eq!(catalog.cost_micros("claude-sonnet-4-5", &usage), 3_000_000, "the file's price wins");
        assert_eq!(catalog.cost_micros("local", &usage), 1_000_000);
        assert_eq!(catalog.cost_micros("local-other", &usage), 0, "an id is no prefix");
        assert_eq!(catalog.cost_micros("claude-sonnet-4-5-20250929", &usage), 18_000_000, "the table still");
    }

    #[test]
    fn a_price_from_the_environment_cannot_make_the_default_plan_paid_or_repeat() {
        let mut catalog = Catalog::builtin(Some("price_a".into()));
        assert!(matches!(catalog.set_price("free", "price_b".into()), Err(CatalogError::PaidDefault(_))));
        assert!(matches!(catalog.set_price("team", "price_b".into()), Err(CatalogError::UnknownPlan(_))));
        catalog.set_price("pro", "price_b".into()).unwrap();
        assert_eq!(catalog.plan_for_price("price_b").unwrap().id, "pro");
    }
}
