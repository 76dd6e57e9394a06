//! Webhook delivery: each event POSTed to the endpoint with Stripe's headers and a fresh
//! `Stripe-Signature` (`t=` and one `v1` per endpoint secret, an HMAC-SHA256 of
//! `"{t}.{payload}"`), retried when it fails, one at a time in the order created.

use std::time::Duration;

use hmac::{Hmac, Mac};
use sha2::Sha256;
use tokio::sync::mpsc;

use super::calendar::now;
use super::{FakeEvent, FakeStripe};
use crate::http;

/// Stripe's webhook `User-Agent`.
pub const WEBHOOK_USER_AGENT: &str = "Stripe/1.0 (+https://stripe.com/docs/webhooks)";

/// How many times an event is POSTed before giving up, and the pause between tries.
const DELIVERY_ATTEMPTS: u32 = 3;
const DELIVERY_RETRY_DELAY: Duration = Duration::from_millis(200);
const DELIVERY_TIMEOUT: Duration = Duration::from_secs(10);

/// The v1 signature: the hex HMAC-SHA256 of `"{timestamp}.{payload}"` keyed by the secret's bytes
/// (the whole `whsec_…` string, as Stripe's libraries use it).
pub fn sign(payload: &str, secret: &str, timestamp: i64) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes a key of any size");
    mac.update(format!("{timestamp}.{payload}").as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// The `Stripe-Signature` header: `t=<timestamp>` and one `v1=` per secret.
pub fn signature_header(payload: &str, secrets: &[String], timestamp: i64) -> String {
    let mut header = format!("t={timestamp}");
    for secret in secrets {
        header.push_str(",v1=");
        header.push_str(&sign(payload, secret, timestamp));
    }
    header
}

impl FakeStripe {
    /// Delivers the queued events, oldest first, each tried until it succeeds or runs out of tries.
    pub(super) async fn deliver_in_order(self, mut deliveries: mpsc::UnboundedReceiver<FakeEvent>) {
        while let Some(event) = deliveries.recv().await {
            for attempt in 1..=DELIVERY_ATTEMPTS {
                if (200..300).contains(&self.deliver(&event).await) {
                    break;
                }
                if attempt < DELIVERY_ATTEMPTS {
                    tokio::time::sleep(DELIVERY_RETRY_DELAY).await;
                }
            }
        }
    }

    /// POSTs one event to the endpoint now, with a fresh signature, once. Returns the status, or
    /// 0 when there is no endpoint or no answer.
    pub async fn deliver(&self, event: &FakeEvent) -> u16 {
        let Some((url, secrets)) =
            self.lock().webhook.as_ref().map(|webhook| (webhook.url.clone(), webhook.secrets.clone()))
        else {
            return 0;
        };
        let headers = [
            ("content-type".to_owned(), "application/json; charset=utf-8".to_owned()),
            ("stripe-signature".to_owned(), signature_header(&event.payload, &secrets, now())),
            ("user-agent".to_owned(), WEBHOOK_USER_AGENT.to_owned()),
            ("accept".to_owned(), "*/*; q=0.5, application/xml".to_owned()),
            ("cache-control".to_owned(), "no-cache".to_owned()),
        ];
        http::post(&url, &headers, event.payload.as_bytes(), DELIVERY_TIMEOUT).await.unwrap_or(0)
    }
}
