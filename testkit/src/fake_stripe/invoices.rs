//! Invoices with their lines: the first one, which Checkout's payment paid, and a renewal whose
//! payment failed. An invoice names its subscription in `parent.subscription_details` (there is
//! no top-level `invoice.subscription` in the current API).

use serde_json::{Value, json};

use super::calendar::{days_later, now};
use super::objects::dollars;
use super::store::State;

pub(super) enum InvoiceKind {
    /// The invoice Checkout's payment paid.
    FirstPaid,
    /// A renewal whose payment failed: open, to be retried.
    RenewalFailed,
}

pub(super) fn new_invoice(state: &mut State, id: &str, subscription: &Value, kind: InvoiceKind) -> Value {
    let at = now();
    let customer_id = subscription["customer"].as_str().unwrap_or_default().to_owned();
    let (prefix, sequence) = match state.customers.get_mut(&customer_id) {
        Some(customer) => {
            let sequence = customer["next_invoice_sequence"].as_i64().unwrap_or(1);
            customer["next_invoice_sequence"] = json!(sequence + 1);
            (customer["invoice_prefix"].as_str().unwrap_or("FAKE").to_owned(), sequence)
        }
        None => ("FAKE".to_owned(), 1),
    };
    let customer = state.customers.get(&customer_id).cloned().unwrap_or(Value::Null);
    let subscription_id = subscription["id"].clone();
    let items = subscription["items"]["data"].as_array().cloned().unwrap_or_default();
    let mut lines = Vec::new();
    let mut total = 0;
    let (mut period_start, mut period_end) = (at, at);
    for item in &items {
        let quantity = item["quantity"].as_i64().unwrap_or(1);
        let unit_amount = item["price"]["unit_amount"].as_i64().unwrap_or(0);
        let amount = quantity * unit_amount;
        total += amount;
        period_start = item["current_period_start"].as_i64().unwrap_or(at);
        period_end = item["current_period_end"].as_i64().unwrap_or(at);
        let product = state
            .prices
            .get(item["price"]["id"].as_str().unwrap_or_default())
            .map_or_else(String::new, |price| price.product_name.clone());
        let line_id = state.id("il");
        lines.push(json!({
            "id": line_id,
            "object": "line_item",
            "amount": amount,
            "currency": "usd",
            "description": format!("{quantity} × {product} (at {} / month)", dollars(unit_amount)),
            "discount_amounts": [],
            "discountable": true,
            "discounts": [],
            "invoice": id,
            "livemode": false,
            "metadata": subscription["metadata"],
            "parent": {
                "invoice_item_details": null,
                "subscription_item_details": {
                    "invoice_item": null,
                    "proration": false,
                    "proration_details": { "credited_items": null },
                    "subscription": subscription_id,
                    "subscription_item": item["id"],
                },
                "type": "subscription_item_details",
            },
            "period": { "end": period_end, "start": period_start },
            "pretax_credit_amounts": [],
            "pricing": {
                "price_details": { "price": item["price"]["id"], "product": item["price"]["product"] },
                "type": "price_details",
                "unit_amount_decimal": unit_amount.to_string(),
            },
            "quantity": quantity,
            "subtotal": amount,
            "taxes": [],
        }));
    }
    let paid = matches!(kind, InvoiceKind::FirstPaid);
    json!({
        "id": id,
        "object": "invoice",
        "account_country": "US",
        "account_name": "Jarvis (fake Stripe)",
        "account_tax_ids": null,
        "amount_due": total,
        "amount_overpaid": 0,
        "amount_paid": if paid { total } else { 0 },
        "amount_remaining": if paid { 0 } else { total },
        "amount_shipping": 0,
        "application": null,
        "attempt_count": 1,
        "attempted": true,
        "auto_advance": !paid,
        "automatic_tax": {
            "disabled_reason": null, "enabled": false, "liability": null, "provider": null, "status": null,
        },
        "automatically_finalizes_at": null,
        "billing_reason": if paid { "subscription_create" } else { "subscription_cycle" },
        "collection_method": "charge_automatically",
        "created": at,
        "currency": "usd",
        "custom_fields": null,
        "customer": customer_id,
        "customer_account": null,
        "customer_address": null,
        "customer_email": customer["email"],
        "customer_name": customer["name"],
        "customer_phone": null,
        "customer_shipping": null,
        "customer_tax_exempt": "none",
        "customer_tax_ids": [],
        "default_payment_method": null,
        "default_source": null,
        "default_tax_rates": [],
        "description": null,
        "discounts": [],
        "due_date": null,
        "effective_at": at,
        "ending_balance": 0,
        "footer": null,
        "from_invoice": null,
        "hosted_invoice_url": null,
        "invoice_pdf": null,
        "issuer": { "type": "self" },
        "last_finalization_error": null,
        "latest_revision": null,
        "lines": {
            "object": "list",
            "data": lines,
            "has_more": false,
            "total_count": items.len(),
            "url": format!("/v1/invoices/{id}/lines"),
        },
        "livemode": false,
        "metadata": {},
        "next_payment_attempt": if paid { Value::Null } else { json!(days_later(at, 3)) },
        "number": format!("{prefix}-{sequence:04}"),
        "on_behalf_of": null,
        "parent": {
            "quote_details": null,
            "subscription_details": {
                "metadata": subscription["metadata"],
                "subscription": subscription_id,
            },
            "type": "subscription_details",
        },
        "payment_settings": {
            "default_mandate": null, "payment_method_options": null, "payment_method_types": null,
        },
        "period_end": period_end,
        "period_start": period_start,
        "post_payment_credit_notes_amount": 0,
        "pre_payment_credit_notes_amount": 0,
        "receipt_number": null,
        "rendering": null,
        "shipping_cost": null,
        "shipping_details": null,
        "starting_balance": 0,
        "statement_descriptor": null,
        "status": if paid { "paid" } else { "open" },
        "status_transitions": {
            "finalized_at": at,
            "marked_uncollectible_at": null,
            "paid_at": if paid { json!(at) } else { Value::Null },
            "voided_at": null,
        },
        "subtotal": total,
        "subtotal_excluding_tax": total,
        "test_clock": null,
        "total": total,
        "total_discount_amounts": [],
        "total_excluding_tax": total,
        "total_pretax_credit_amounts": [],
        "total_taxes": [],
        "webhooks_delivered_at": at,
    })
}
