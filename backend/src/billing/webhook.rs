//! Stripe's webhook: each delivery verified and stored once, then applied by a worker on every
//! instance (retried with growing delays), bringing the stored subscription up to date.

use std::time::Duration;

use chrono::{DateTime, Utc};
use stripe_webhook::{Event, EventObject};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::error::{BillingError, WebhookError};
use super::store::{self, SubscriptionRow};
use super::{Billing, HANDLED_EVENTS, Received, signature};

/// How often every instance looks for events stored by others (or due for a retry).
const POLL: Duration = Duration::from_secs(1);

/// Tries of one event before it is set aside (about 34 hours of growing delays); the row keeps
/// its last error for an operator.
const MAX_ATTEMPTS: i32 = 40;

impl Billing {
    /// Takes one webhook delivery: verifies it, parses it, stores it once. Call with the raw body.
    #[tracing::instrument(name = "billing.webhook", skip_all)]
    pub async fn receive(
        &self,
        body: &[u8],
        signature_header: Option<&str>,
    ) -> Result<Received, WebhookError> {
        if !self.enabled() {
            return Err(WebhookError::Disabled);
        }
        signature::verify(signature_header, body, &self.inner.webhook_secrets, Utc::now().timestamp())?;
        #[derive(serde::Deserialize)]
        struct Envelope {
            id: String,
            #[serde(rename = "type")]
            event_type: String,
        }
        let envelope: Envelope = serde_json::from_slice(body).map_err(WebhookError::Parse)?;
        if !HANDLED_EVENTS.contains(&envelope.event_type.as_str()) {
            tracing::debug!(
                event.id = envelope.id,
                event.kind = envelope.event_type,
                "billing.event_ignored"
            );
            return Ok(Received::Ignored { id: envelope.id, event_type: envelope.event_type });
        }
        // The typed parse: an event we act on must be one async-stripe understands.
        let event: Event = serde_json::from_slice(body).map_err(WebhookError::Parse)?;
        let mut payload: serde_json::Value = serde_json::from_slice(body).map_err(WebhookError::Parse)?;
        // A NUL in any string (a name someone typed at Stripe) would make jsonb refuse the event.
        crate::text::replace_nul_in_json(&mut payload);
        let id = event.id.to_string();
        let stored = store::insert_event(&self.inner.pool, &id, event.type_.as_str(), &payload).await?;
        if !stored {
            tracing::info!(event.id = id, "billing.event_duplicate");
            return Ok(Received::Duplicate { id });
        }
        tracing::info!(event.id = id, event.kind = event.type_.as_str(), "billing.event_stored");
        self.inner.wake.notify_one();
        Ok(Received::Stored { id })
    }

    /// Applies stored events until none is due on any instance's account; returns how many
    /// were taken (applied or put back for a retry).
    pub async fn process_due(&self) -> Result<usize, sqlx::Error> {
        let mut taken = 0;
        while let Some(pending) = store::take_due_event(&self.inner.pool).await? {
            taken += 1;
            let id = pending.id.clone();
            let attempts = pending.attempts;
            match self.apply(&pending.payload).await {
                Ok(()) => {
                    metrics::counter!("jarvis_stripe_events_total", "result" => "applied").increment(1);
                    tracing::info!(event.id = id, "billing.event_applied");
                    pending.done().await?;
                }
                Err(error) if attempts + 1 >= MAX_ATTEMPTS => {
                    metrics::counter!("jarvis_stripe_events_total", "result" => "given_up").increment(1);
                    let error = crate::error::with_causes(&error);
                    tracing::error!(event.id = id, attempts = attempts + 1, %error, "billing.event_given_up");
                    pending.give_up(&error).await?;
                }
                Err(error) => {
                    metrics::counter!("jarvis_stripe_events_total", "result" => "failed").increment(1);
                    // 2, 4, 8 … seconds, at most an hour.
                    let delay = 2f64.powi(attempts.clamp(0, 11) + 1).min(3600.0);
                    let error = crate::error::with_causes(&error);
                    tracing::warn!(event.id = id, attempts = attempts + 1, %error, delay_secs = delay, "billing.event_failed");
                    pending.retry_later(&error, delay).await?;
                }
            }
        }
        Ok(taken)
    }

    /// Applies stored events as they come, until `shutdown`.
    pub fn spawn_worker(&self, shutdown: CancellationToken) {
        if !self.enabled() {
            return;
        }
        let billing = self.clone();
        tokio::spawn(async move {
            loop {
                if let Err(error) = billing.process_due().await {
                    tracing::error!(%error, "billing.worker_failed");
                }
                tokio::select! {
                    () = shutdown.cancelled() => return,
                    () = billing.inner.wake.notified() => {}
                    () = tokio::time::sleep(POLL) => {}
                }
            }
        });
    }

    async fn apply(&self, payload: &serde_json::Value) -> Result<(), BillingError> {
        let event: Event = serde_json::from_value(payload.clone()).map_err(BillingError::StoredEvent)?;
        match event.data.object {
            EventObject::CheckoutSessionCompleted(session) => {
                let customer = session.customer.as_ref().map(|customer| customer.id().to_string());
                let referenced =
                    session.client_reference_id.as_deref().and_then(|id| Uuid::parse_str(id).ok());
                let synced = match &session.subscription {
                    Some(subscription) => self.sync_subscription(subscription.id().as_str()).await,
                    None => Ok(()),
                };
                if let (Some(customer), Some(user_id)) = (&customer, referenced) {
                    self.check_checkout_owner(customer, user_id).await?;
                }
                synced
            }
            EventObject::CustomerSubscriptionCreated(subscription)
            | EventObject::CustomerSubscriptionUpdated(subscription)
            | EventObject::CustomerSubscriptionDeleted(subscription) => {
                self.sync_subscription(subscription.id.as_str()).await
            }
            EventObject::InvoicePaid(invoice) | EventObject::InvoicePaymentFailed(invoice) => {
                let subscription = invoice
                    .parent
                    .as_ref()
                    .and_then(|parent| parent.subscription_details.as_ref())
                    .map(|details| details.subscription.id().to_string());
                match subscription {
                    Some(id) => self.sync_subscription(&id).await,
                    None => Ok(()),
                }
            }
            _ => Ok(()),
        }
    }

    /// A checkout names both a customer and (as `client_reference_id`) a user. Jarvis records
    /// the user's customer before it creates the session, so the two must agree; the user is
    /// always the customer's, never taken from the reference alone (a session Jarvis did not
    /// create, such as a Payment Link, could name anyone there).
    async fn check_checkout_owner(&self, customer_id: &str, referenced: Uuid) -> Result<(), BillingError> {
        match store::user_for_customer(&self.inner.pool, customer_id).await? {
            Some(owner) if owner == referenced => {
                let live = store::subscriptions(&self.inner.pool, owner).await?;
                if live.iter().filter(|row| row.is_live()).count() > 1 {
                    tracing::error!(user.id = %owner, "billing.several_live_subscriptions");
                }
                Ok(())
            }
            Some(owner) => {
                tracing::error!(%owner, %referenced, "billing.checkout_customer_mismatch");
                Ok(())
            }
            None => {
                tracing::warn!(customer = customer_id, %referenced, "billing.checkout_of_unknown_customer");
                Ok(())
            }
        }
    }

    /// Fetches a subscription from Stripe and stores what Stripe says now.
    ///
    /// Fetch and store happen under a lock on the subscription (held by a transaction), so when
    /// two instances sync it at once the one that fetched last also stores last: an older state
    /// never overwrites a newer one.
    async fn sync_subscription(&self, subscription_id: &str) -> Result<(), BillingError> {
        let stripe = self.stripe()?;
        let mut lock = store::lock_subscription(&self.inner.pool, subscription_id).await?;
        let subscription = match stripe.subscription(subscription_id).await {
            Ok(subscription) => subscription,
            Err(error) if error.is_missing() => {
                tracing::warn!(subscription = subscription_id, "billing.subscription_unknown_to_stripe");
                return Ok(());
            }
            Err(error) => return Err(BillingError::Stripe(error)),
        };
        let customer_id = subscription.customer.id().to_string();
        let Some(user_id) = store::user_for_customer(&self.inner.pool, &customer_id).await? else {
            // Jarvis records a user's customer before any checkout, so this subscription is not
            // one of ours (another product on the account, or a deleted user): nothing to do,
            // and retrying would not change that.
            tracing::warn!(
                subscription = subscription_id,
                customer = customer_id,
                "billing.subscription_of_no_user"
            );
            return Ok(());
        };
        let item = subscription.items.data.first();
        let price_id = item.map(|item| item.price.id.to_string());
        let plan_id = price_id
            .as_deref()
            .and_then(|price| self.inner.catalog.plan_for_price(price))
            .map(|plan| plan.id.clone());
        if plan_id.is_none() {
            tracing::warn!(subscription = subscription_id, price = ?price_id, "billing.price_of_no_plan");
        }
        let row = SubscriptionRow {
            stripe_subscription_id: subscription.id.to_string(),
            stripe_customer_id: customer_id,
            plan_id,
            price_id,
            status: subscription.status.as_str().to_owned(),
            current_period_end: item.and_then(|item| timestamp(item.current_period_end)),
            cancel_at_period_end: subscription.cancel_at_period_end,
            ended_at: subscription.ended_at.and_then(timestamp),
        };
        store::save_subscription(&mut lock, user_id, &row).await?;
        lock.commit().await?;
        tracing::info!(user.id = %user_id, subscription = row.stripe_subscription_id, status = row.status, plan = ?row.plan_id, "billing.subscription_synced");
        Ok(())
    }
}

fn timestamp(seconds: i64) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp(seconds, 0)
}
