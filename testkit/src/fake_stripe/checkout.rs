//! Checkout: creating a `mode=subscription` Checkout Session from `line_items[N][price]`, and
//! paying it, which creates the customer (if need be), the subscription and its first invoice,
//! and emits the events in Stripe's order.

use serde_json::{Map, Value, json};

use super::FakeStripe;
use super::api::valid_url;
use super::calendar::{days_later, now};
use super::errors::ApiError;
use super::invoices::{InvoiceKind, new_invoice};
use super::objects::{NewSubscription, new_customer, new_subscription, subscription_item};
use super::params::Params;
use super::store::{SessionRecord, State};

#[rustfmt::skip]
const CHECKOUT_PARAMS: &[&str] = &[
    "adaptive_pricing", "after_expiration", "allow_promotion_codes", "allowed_payment_method_types",
    "automatic_tax", "billing_address_collection", "branding_settings", "cancel_url",
    "client_reference_id", "consent_collection", "currency", "custom_fields", "custom_text", "customer",
    "customer_account", "customer_creation", "customer_email", "customer_update", "discounts",
    "excluded_payment_method_types", "expand", "expires_at", "integration_identifier", "invoice_creation",
    "line_items", "locale", "managed_payments", "metadata", "mode", "name_collection", "optional_items",
    "origin_context", "payment_intent_data", "payment_method_collection", "payment_method_configuration",
    "payment_method_data", "payment_method_options", "payment_method_types", "permissions",
    "phone_number_collection", "redirect_on_completion", "return_url", "saved_payment_method_options",
    "setup_intent_data", "shipping_address_collection", "shipping_options", "submit_type",
    "subscription_data", "success_url", "tax_id_collection", "ui_mode", "wallet_options",
];
#[rustfmt::skip]
const LINE_ITEM_PARAMS: &[&str] = &[
    "adjustable_quantity", "dynamic_tax_rates", "metadata", "price", "price_data", "quantity", "tax_rates",
];
#[rustfmt::skip]
const SUBSCRIPTION_DATA_PARAMS: &[&str] = &[
    "application_fee_percent", "billing_cycle_anchor", "billing_cycle_anchor_config", "billing_mode",
    "default_tax_rates", "description", "invoice_settings", "metadata", "on_behalf_of",
    "pending_invoice_item_interval", "proration_behavior", "transfer_data", "trial_end",
    "trial_period_days", "trial_settings",
];

impl FakeStripe {
    /// The customer pays: the subscription is created (active, its metadata the session's
    /// `subscription_data[metadata]`) with a paid first invoice, the session completes, and the
    /// events follow in Stripe's order. Returns the subscription's id.
    pub async fn complete_checkout(&self, session_id: &str) -> Result<String, String> {
        let mut state = self.lock();
        let outbox = &self.inner.outbox;
        let (items, subscription_metadata, session_customer, customer_email) = {
            let session = state
                .sessions
                .get(session_id)
                .ok_or_else(|| format!("No such checkout session: '{session_id}'"))?;
            if session.object["status"] != "open" {
                return Err(format!(
                    "The checkout session {session_id} is {}, not open",
                    session.object["status"]
                ));
            }
            (
                session.items.clone(),
                session.subscription_metadata.clone(),
                session.object["customer"].as_str().map(str::to_owned),
                session.object["customer_email"].as_str().map(str::to_owned),
            )
        };
        let customer_id = match session_customer {
            Some(id) => id,
            None => {
                // Checkout collects an email when it has none; the fake makes one up.
                let email = customer_email
                    .unwrap_or_else(|| format!("customer_{}@example.com", state.token(8).to_lowercase()));
                let customer = new_customer(&mut state, Some(&email), None, &Map::new(), None, None);
                let id = customer["id"].as_str().unwrap_or_default().to_owned();
                state.customers.insert(id.clone(), customer.clone());
                state.emit(outbox, "customer.created", &customer, None);
                id
            }
        };
        let started = now();
        let subscription_id = state.id("sub");
        let invoice_id = state.id("in");
        let payment_method = state.id("pm");
        let mut subscription_items = Vec::new();
        for (price_id, quantity) in &items {
            let price =
                state.prices.get(price_id).cloned().ok_or_else(|| format!("No such price: '{price_id}'"))?;
            let item_id = state.id("si");
            subscription_items.push(subscription_item(
                &item_id,
                &subscription_id,
                &price,
                *quantity,
                started,
            ));
        }
        let subscription = new_subscription(&NewSubscription {
            id: &subscription_id,
            customer_id: &customer_id,
            items: subscription_items,
            latest_invoice: &invoice_id,
            metadata: subscription_metadata,
            payment_method: &payment_method,
            started,
        });
        let invoice = new_invoice(&mut state, &invoice_id, &subscription, InvoiceKind::FirstPaid);
        state.subscriptions.insert(subscription_id.clone(), subscription.clone());
        state.subscription_order.push(subscription_id.clone());
        state.invoices.insert(invoice_id.clone(), invoice.clone());
        let customer = state.customers.get(&customer_id).cloned().unwrap_or(Value::Null);
        let session = {
            let record = state.sessions.get_mut(session_id).ok_or("the session vanished")?;
            let object = &mut record.object;
            object["status"] = json!("complete");
            object["payment_status"] = json!("paid");
            object["customer"] = json!(customer_id);
            object["subscription"] = json!(subscription_id);
            object["invoice"] = json!(invoice_id);
            object["customer_details"] = json!({
                "address": {
                    "city": null, "country": "US", "line1": null, "line2": null,
                    "postal_code": "94103", "state": null,
                },
                "business_name": null,
                "email": customer["email"],
                "individual_name": null,
                "name": customer["name"],
                "phone": null,
                "tax_exempt": "none",
                "tax_ids": [],
            });
            object.clone()
        };
        state.emit(outbox, "customer.subscription.created", &subscription, None);
        state.emit(outbox, "checkout.session.completed", &session, None);
        state.emit(outbox, "invoice.paid", &invoice, None);
        Ok(subscription_id)
    }

    pub(super) fn create_checkout_session(
        &self,
        state: &mut State,
        params: &Params,
    ) -> Result<Value, ApiError> {
        params.check_known(
            CHECKOUT_PARAMS,
            &[("line_items", true, LINE_ITEM_PARAMS), ("subscription_data", false, SUBSCRIPTION_DATA_PARAMS)],
        )?;
        let mode = params.value("mode")?.ok_or_else(|| {
            ApiError::invalid("parameter_missing", "Missing required param: mode.".into(), "mode")
        })?;
        match mode {
            "subscription" => {}
            "payment" | "setup" => {
                // A limit of this fake, said loudly.
                return Err(ApiError::bad(
                    format!("The fake Stripe only supports `mode=subscription`, not `{mode}`."),
                    "mode",
                ));
            }
            other => {
                return Err(ApiError::bad(
                    format!("Invalid mode: must be one of payment, setup, or subscription (got {other})"),
                    "mode",
                ));
            }
        }
        let customer = params.value("customer")?;
        let customer_email = params.value("customer_email")?;
        if customer.is_some() && customer_email.is_some() {
            return Err(ApiError::bad(
                "You may only specify one of these parameters: customer, customer_email.".into(),
                "customer_email",
            ));
        }
        let customer_object = match customer {
            Some(id) => Some(
                state
                    .customers
                    .get(id)
                    .cloned()
                    .ok_or_else(|| ApiError::no_such(400, "customer", id, "customer"))?,
            ),
            None => None,
        };
        let indices = params.indices("line_items");
        if indices.is_empty() {
            return Err(ApiError::invalid(
                "parameter_missing",
                "You must provide at least one recurring price in `subscription` mode when using prices."
                    .into(),
                "line_items",
            ));
        }
        let mut items = Vec::new();
        let mut total = 0;
        for index in indices {
            let param = |name: &str| format!("line_items[{index}][{name}]");
            if params.0.iter().any(|(key, _)| key.starts_with(&param("price_data"))) {
                // A limit of this fake, said loudly.
                return Err(ApiError::bad(
                    "The fake Stripe only supports line items with a `price`, not `price_data`.".into(),
                    &param("price_data"),
                ));
            }
            let price_id = params.value(&param("price"))?.ok_or_else(|| {
                ApiError::invalid(
                    "parameter_missing",
                    format!("Missing required param: line_items[{index}][price]."),
                    &param("price"),
                )
            })?;
            let price = state
                .prices
                .get(price_id)
                .ok_or_else(|| ApiError::no_such(400, "price", price_id, &param("price")))?;
            let quantity = match params.value(&param("quantity"))? {
                None => {
                    return Err(ApiError::invalid(
                        "parameter_missing",
                        format!("Quantity is required. Add `quantity` to `line_items[{index}]`"),
                        &param("quantity"),
                    ));
                }
                Some(text) => text.parse::<u64>().ok().filter(|q| *q > 0).ok_or_else(|| {
                    ApiError::invalid(
                        "parameter_invalid_integer",
                        format!("Invalid positive integer: {text}"),
                        &param("quantity"),
                    )
                })?,
            };
            total += price.unit_amount * quantity as i64;
            items.push((price_id.to_owned(), quantity));
        }
        for name in ["success_url", "cancel_url"] {
            if let Some(url) = params.value(name)?
                && !valid_url(url)
            {
                return Err(ApiError::invalid("url_invalid", "Not a valid URL".into(), name));
            }
        }
        let id = state.id("cs_test");
        let created = now();
        let customer_details = customer_object.as_ref().map_or(Value::Null, |customer| {
            json!({
                "address": null, "business_name": null, "email": customer["email"], "individual_name": null,
                "name": customer["name"], "phone": null, "tax_exempt": "none", "tax_ids": null,
            })
        });
        let object = json!({
            "id": id,
            "object": "checkout.session",
            "adaptive_pricing": null,
            "after_expiration": null,
            "allow_promotion_codes": null,
            "amount_subtotal": total,
            "amount_total": total,
            "automatic_tax": { "enabled": false, "liability": null, "provider": null, "status": null },
            "billing_address_collection": null,
            "cancel_url": params.get("cancel_url"),
            "client_reference_id": params.value("client_reference_id")?,
            "client_secret": null,
            "collected_information": null,
            "consent": null,
            "consent_collection": null,
            "created": created,
            "currency": "usd",
            "currency_conversion": null,
            "custom_fields": [],
            "custom_text": {
                "after_submit": null, "shipping_address": null, "submit": null,
                "terms_of_service_acceptance": null,
            },
            "customer": customer,
            "customer_creation": if customer.is_some() { Value::Null } else { json!("always") },
            "customer_details": customer_details,
            "customer_email": customer_email,
            "discounts": [],
            "expires_at": days_later(created, 1),
            "invoice": null,
            "invoice_creation": null,
            "livemode": false,
            "locale": params.get("locale"),
            "metadata": params.hash("metadata"),
            "mode": "subscription",
            "origin_context": null,
            "payment_intent": null,
            "payment_link": null,
            "payment_method_collection": "always",
            "payment_method_configuration_details": null,
            "payment_method_options": { "card": { "request_three_d_secure": "automatic" } },
            "payment_method_types": ["card"],
            "payment_status": "unpaid",
            "permissions": null,
            "phone_number_collection": { "enabled": false },
            "recovered_from": null,
            "saved_payment_method_options": {
                "allow_redisplay_filters": ["always"],
                "payment_method_remove": "disabled",
                "payment_method_save": null,
            },
            "setup_intent": null,
            "shipping_address_collection": null,
            "shipping_cost": null,
            "shipping_options": [],
            "status": "open",
            "submit_type": null,
            "subscription": null,
            "success_url": params.get("success_url"),
            "total_details": { "amount_discount": 0, "amount_shipping": 0, "amount_tax": 0 },
            "ui_mode": "hosted_page",
            "url": format!("{}checkout/{id}", self.base_url()),
            "wallet_options": null,
        });
        let subscription_metadata = params.hash("subscription_data[metadata]");
        state.sessions.insert(id, SessionRecord { object: object.clone(), items, subscription_metadata });
        Ok(state.expand(object, &params.list("expand")))
    }
}
