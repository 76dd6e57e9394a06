//! The billing section: the plans (built in, or a JSON file), their Stripe prices, and Stripe's
//! keys. Without `STRIPE_SECRET_KEY`, billing is off.

use std::time::Duration;

use jarvis_backend::billing::StripeConfig;
use jarvis_backend::billing::plans::{Catalog, CatalogError};
use jarvis_backend::billing::stripe::StripeSettings;
use secrecy::SecretString;

use super::ConfigError;
use super::parse::{parse_or, url_or};

/// Plans and Stripe.
#[derive(Debug, Clone)]
pub struct BillingConfig {
    /// `JARVIS_PLANS_FILE`: a JSON file of plans and model prices (see the README); unset: the
    /// built-in Free and Pro. `STRIPE_PRICE_<PLAN>` (e.g. `STRIPE_PRICE_PRO`) sets a plan's
    /// Stripe price.
    pub catalog: Catalog,
    /// `STRIPE_SECRET_KEY` (with `STRIPE_WEBHOOK_SECRET`, `STRIPE_API_BASE` default
    /// `https://api.stripe.com/`): unset, billing is off and every user has the plans file's
    /// `off_plan` (built in: Pro).
    /// `STRIPE_WEBHOOK_SECRET` is the webhook endpoint's signing secret (`whsec_…`); several,
    /// comma-separated, while rolling it.
    pub stripe: Option<StripeConfig>,
}

pub(super) fn read(get: &impl Fn(&str) -> Option<String>) -> Result<BillingConfig, ConfigError> {
    let catalog = catalog(get)?;
    let stripe = match get("STRIPE_SECRET_KEY") {
        None => None,
        Some(key) => Some(stripe(get, key, &catalog)?),
    };
    Ok(BillingConfig { catalog, stripe })
}

fn invalid(name: &'static str) -> impl Fn(CatalogError) -> ConfigError {
    move |error| ConfigError::Invalid { name, reason: error.to_string() }
}

/// The plans, with the prices `STRIPE_PRICE_<PLAN>` gives them.
fn catalog(get: &impl Fn(&str) -> Option<String>) -> Result<Catalog, ConfigError> {
    let mut catalog = match get("JARVIS_PLANS_FILE") {
        None => Catalog::builtin(None),
        Some(path) => {
            let json = std::fs::read_to_string(&path).map_err(|error| ConfigError::Invalid {
                name: "JARVIS_PLANS_FILE",
                reason: format!("cannot read {path}: {error}"),
            })?;
            Catalog::from_json(&json).map_err(invalid("JARVIS_PLANS_FILE"))?
        }
    };
    let plan_ids: Vec<String> = catalog.plans().iter().map(|plan| plan.id.clone()).collect();
    for plan_id in plan_ids {
        let name = format!("STRIPE_PRICE_{}", plan_id.to_ascii_uppercase().replace('-', "_"));
        if let Some(price) = get(&name) {
            catalog.set_price(&plan_id, price.trim().to_owned()).map_err(invalid("STRIPE_PRICE_<PLAN>"))?;
        }
    }
    Ok(catalog)
}

/// Stripe's keys, once `STRIPE_SECRET_KEY` is set.
fn stripe(
    get: &impl Fn(&str) -> Option<String>,
    key: String,
    catalog: &Catalog,
) -> Result<StripeConfig, ConfigError> {
    let webhook_secrets: Vec<SecretString> = get("STRIPE_WEBHOOK_SECRET")
        .ok_or(ConfigError::Missing {
            name: "STRIPE_WEBHOOK_SECRET",
            hint: "with STRIPE_SECRET_KEY set, the webhook endpoint's signing secret (whsec_…) is needed to trust Stripe's events",
        })?
        .split(',')
        .map(str::trim)
        .filter(|secret| !secret.is_empty())
        .map(SecretString::from)
        .collect();
    if webhook_secrets.is_empty() {
        return Err(ConfigError::Invalid {
            name: "STRIPE_WEBHOOK_SECRET",
            reason: "name at least one signing secret (whsec_…)".into(),
        });
    }
    let api_base = url_or("STRIPE_API_BASE", get("STRIPE_API_BASE"), "https://api.stripe.com/")?;
    if !catalog.plans().iter().any(|plan| plan.price_id.is_some()) {
        return Err(ConfigError::Missing {
            name: "STRIPE_PRICE_PRO",
            hint: "with STRIPE_SECRET_KEY set, at least one plan needs a Stripe price (STRIPE_PRICE_<PLAN> or price_id in JARVIS_PLANS_FILE)",
        });
    }
    Ok(StripeConfig {
        api: StripeSettings {
            secret_key: SecretString::from(key),
            api_base,
            timeout: Duration::from_secs(parse_or("STRIPE_TIMEOUT_SECS", get("STRIPE_TIMEOUT_SECS"), 20)?),
        },
        webhook_secrets,
    })
}

#[cfg(test)]
mod tests {
    use crate::config::tests::{APP_DB, DB, config_from};

    #[test]
    fn billing_is_off_without_a_stripe_key_and_needs_a_webhook_secret_and_a_price_with_one() {
        let config = config_from(&[DB, APP_DB]).unwrap();
        assert!(config.billing.stripe.is_none());

        let key = ("STRIPE_SECRET_KEY", "sk_test_secret");
        let error = config_from(&[DB, APP_DB, key]).unwrap_err().to_string();
        assert!(error.starts_with("STRIPE_WEBHOOK_SECRET is not set"), "{error}");
        let error =
            config_from(&[DB, APP_DB, key, ("STRIPE_WEBHOOK_SECRET", " , ")]).unwrap_err().to_string();
        assert!(error.starts_with("STRIPE_WEBHOOK_SECRET is invalid"), "{error}");
        let secret = ("STRIPE_WEBHOOK_SECRET", "whsec_one, whsec_two");
        let error = config_from(&[DB, APP_DB, key, secret]).unwrap_err().to_string();
        assert!(error.starts_with("STRIPE_PRICE_PRO is not set"), "{error}");

        let config = config_from(&[DB, APP_DB, key, secret, ("STRIPE_PRICE_PRO", "price_123")]).unwrap();
        let stripe = config.billing.stripe.as_ref().expect("billing on");
        assert_eq!(stripe.webhook_secrets.len(), 2);
        assert_eq!(stripe.api.api_base.as_str(), "https://api.stripe.com/");
        assert!(!format!("{config:?}").contains("sk_test_secret"));
    }
}
