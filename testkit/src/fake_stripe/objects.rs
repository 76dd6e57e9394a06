//! Stripe's objects in the current API's shape, every field async-stripe requires present: the
//! price and its legacy plan, a subscription item (which holds the billing period), a customer,
//! a subscription; and amounts as Stripe writes them.

use serde_json::{Map, Value, json};

use super::calendar::{add_month, now};
use super::store::{PriceRecord, State};

pub(super) fn price_json(price: &PriceRecord) -> Value {
    json!({
        "id": price.id,
        "object": "price",
        "active": true,
        "billing_scheme": "per_unit",
        "created": price.created,
        "currency": "usd",
        "custom_unit_amount": null,
        "livemode": false,
        "lookup_key": null,
        "metadata": {},
        "nickname": null,
        "product": price.product_id,
        "recurring": {
            "interval": "month",
            "interval_count": 1,
            "meter": null,
            "trial_period_days": null,
            "usage_type": "licensed",
        },
        "tax_behavior": "unspecified",
        "tiers_mode": null,
        "transform_quantity": null,
        "type": "recurring",
        "unit_amount": price.unit_amount,
        "unit_amount_decimal": price.unit_amount.to_string(),
    })
}

/// The legacy `plan` that Stripe still sends beside each subscription item's `price`.
pub(super) fn plan_json(price: &PriceRecord) -> Value {
    json!({
        "id": price.id,
        "object": "plan",
        "active": true,
        "amount": price.unit_amount,
        "amount_decimal": price.unit_amount.to_string(),
        "billing_scheme": "per_unit",
        "created": price.created,
        "currency": "usd",
        "interval": "month",
        "interval_count": 1,
        "livemode": false,
        "metadata": {},
        "meter": null,
        "nickname": null,
        "product": price.product_id,
        "tiers_mode": null,
        "transform_usage": null,
        "trial_period_days": null,
        "usage_type": "licensed",
    })
}

pub(super) fn subscription_item(
    id: &str,
    subscription_id: &str,
    price: &PriceRecord,
    quantity: u64,
    started: i64,
) -> Value {
    json!({
        "id": id,
        "object": "subscription_item",
        "billing_thresholds": null,
        "created": started,
        "current_period_end": add_month(started),
        "current_period_start": started,
        "discounts": [],
        "metadata": {},
        "plan": plan_json(price),
        "price": price_json(price),
        "quantity": quantity,
        "subscription": subscription_id,
        "tax_rates": [],
    })
}

pub(super) fn new_customer(
    state: &mut State,
    email: Option<&str>,
    name: Option<&str>,
    metadata: &Map<String, Value>,
    description: Option<&str>,
    phone: Option<&str>,
) -> Value {
    let id = state.id("cus");
    let prefix = state.token(8).to_uppercase();
    json!({
        "id": id,
        "object": "customer",
        "address": null,
        "balance": 0,
        "created": now(),
        "currency": null,
        "default_source": null,
        "delinquent": false,
        "description": description,
        "discount": null,
        "email": email,
        "invoice_prefix": prefix,
        "invoice_settings": {
            "custom_fields": null,
            "default_payment_method": null,
            "footer": null,
            "rendering_options": null,
        },
        "livemode": false,
        "metadata": metadata,
        "name": name,
        "next_invoice_sequence": 1,
        "phone": phone,
        "preferred_locales": [],
        "shipping": null,
        "tax_exempt": "none",
        "test_clock": null,
    })
}

/// `1999` cents → `$19.99`.
pub(super) fn dollars(cents: i64) -> String {
    format!("${}.{:02}", cents / 100, cents % 100)
}

/// What a new subscription is made of.
pub(super) struct NewSubscription<'a> {
    pub(super) id: &'a str,
    pub(super) customer_id: &'a str,
    /// Its items ([`subscription_item`]s), which hold the billing period.
    pub(super) items: Vec<Value>,
    pub(super) latest_invoice: &'a str,
    pub(super) metadata: Map<String, Value>,
    pub(super) payment_method: &'a str,
    pub(super) started: i64,
}

/// An active subscription, charged automatically, as Checkout creates it.
pub(super) fn new_subscription(subscription: &NewSubscription<'_>) -> Value {
    json!({
        "id": subscription.id,
        "object": "subscription",
        "application": null,
        "application_fee_percent": null,
        "automatic_tax": { "disabled_reason": null, "enabled": false, "liability": null },
        "billing_cycle_anchor": subscription.started,
        "billing_cycle_anchor_config": null,
        "billing_mode": {
            "flexible": { "proration_discounts": "included" },
            "type": "flexible",
            "updated_at": subscription.started,
        },
        "billing_schedules": [],
        "billing_thresholds": null,
        "cancel_at": null,
        "cancel_at_period_end": false,
        "canceled_at": null,
        "cancellation_details": { "comment": null, "feedback": null, "reason": null },
        "collection_method": "charge_automatically",
        "created": subscription.started,
        "currency": "usd",
        "customer": subscription.customer_id,
        "customer_account": null,
        "days_until_due": null,
        "default_payment_method": subscription.payment_method,
        "default_source": null,
        "default_tax_rates": [],
        "description": null,
        "discounts": [],
        "ended_at": null,
        "invoice_settings": { "account_tax_ids": null, "issuer": { "type": "self" } },
        "items": {
            "object": "list",
            "data": subscription.items,
            "has_more": false,
            "total_count": subscription.items.len(),
            "url": format!("/v1/subscription_items?subscription={}", subscription.id),
        },
        "latest_invoice": subscription.latest_invoice,
        "livemode": false,
        "metadata": subscription.metadata,
        "next_pending_invoice_item_invoice": null,
        "on_behalf_of": null,
        "pause_collection": null,
        "payment_settings": {
            "payment_method_options": null,
            "payment_method_types": null,
            "save_default_payment_method": "off",
        },
        "pending_invoice_item_interval": null,
        "pending_setup_intent": null,
        "pending_update": null,
        "schedule": null,
        "start_date": subscription.started,
        "status": "active",
        "test_clock": null,
        "transfer_data": null,
        "trial_end": null,
        "trial_settings": { "end_behavior": { "missing_payment_method": "create_invoice" } },
        "trial_start": null,
    })
}
