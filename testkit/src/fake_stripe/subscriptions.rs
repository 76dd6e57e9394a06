//! What happens to a subscription after Checkout, as Stripe would do it on its own: a renewal
//! whose payment fails, a change of status, the end.

use serde_json::{Value, json};

use super::FakeStripe;
use super::calendar::now;
use super::invoices::{InvoiceKind, new_invoice};
use super::store::State;

impl FakeStripe {
    /// A renewal's payment fails: a new open invoice (`invoice.payment_failed`), and the
    /// subscription goes `past_due` with that invoice as its latest
    /// (`customer.subscription.updated`).
    pub async fn fail_payment(&self, subscription_id: &str) -> Result<(), String> {
        let mut state = self.lock();
        let outbox = &self.inner.outbox;
        let subscription = live_subscription(&state, subscription_id)?;
        let invoice_id = state.id("in");
        let invoice = new_invoice(&mut state, &invoice_id, &subscription, InvoiceKind::RenewalFailed);
        state.invoices.insert(invoice_id.clone(), invoice.clone());
        let mut updated = subscription.clone();
        updated["status"] = json!("past_due");
        updated["latest_invoice"] = json!(invoice_id);
        let mut previous = json!({ "latest_invoice": subscription["latest_invoice"] });
        if subscription["status"] != "past_due" {
            previous["status"] = subscription["status"].clone();
        }
        state.subscriptions.insert(subscription_id.to_owned(), updated.clone());
        state.emit(outbox, "invoice.payment_failed", &invoice, None);
        state.emit(outbox, "customer.subscription.updated", &updated, Some(previous));
        Ok(())
    }

    /// Sets a subscription's status as Stripe would on its own: `active`, `past_due`, `unpaid`,
    /// `paused` or `trialing` emit `customer.subscription.updated` (nothing if unchanged);
    /// `canceled` ends it (`canceled_at`, `ended_at`) and emits `customer.subscription.deleted`.
    /// A canceled subscription cannot change any more.
    pub async fn set_subscription_status(&self, subscription_id: &str, status: &str) -> Result<(), String> {
        const STATUSES: &[&str] = &["active", "past_due", "unpaid", "paused", "trialing", "canceled"];
        if !STATUSES.contains(&status) {
            return Err(format!("Invalid status: must be one of {}", STATUSES.join(", ")));
        }
        let mut state = self.lock();
        let outbox = &self.inner.outbox;
        let subscription = live_subscription(&state, subscription_id)?;
        if subscription["status"] == status {
            return Ok(());
        }
        let mut updated = subscription.clone();
        updated["status"] = json!(status);
        if status == "canceled" {
            let at = now();
            updated["canceled_at"] = json!(at);
            updated["ended_at"] = json!(at);
            updated["cancellation_details"] =
                json!({ "comment": null, "feedback": null, "reason": "cancellation_requested" });
            state.subscriptions.insert(subscription_id.to_owned(), updated.clone());
            state.emit(outbox, "customer.subscription.deleted", &updated, None);
        } else {
            state.subscriptions.insert(subscription_id.to_owned(), updated.clone());
            let previous = json!({ "status": subscription["status"] });
            state.emit(outbox, "customer.subscription.updated", &updated, Some(previous));
        }
        Ok(())
    }
}

/// The subscription, unless it is unknown or canceled.
pub(super) fn live_subscription(state: &State, id: &str) -> Result<Value, String> {
    let subscription = state.subscriptions.get(id).ok_or_else(|| format!("No such subscription: '{id}'"))?;
    if subscription["status"] == "canceled" {
        return Err(format!("The subscription {id} is canceled; a canceled subscription cannot change"));
    }
    Ok(subscription.clone())
}
