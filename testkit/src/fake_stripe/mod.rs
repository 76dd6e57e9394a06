//! A fake of the slice of Stripe's API that Jarvis's billing uses, with its hosted pages and its
//! webhooks, so that the backend's tests and the browser tests can subscribe, pay, fail and cancel
//! without the network.
//!
//! Faithful to Stripe, as its API reference documents it:
//! - the wire protocol: `Authorization: Bearer` with the secret key (401 and Stripe's message
//!   otherwise), form-encoded bodies with bracket notation (`line_items[0][price]`,
//!   `metadata[key]`), JSON answers, a `Request-Id` header on every answer and the
//!   `Stripe-Version` echoed (or [`API_VERSION`], the account's default), errors as
//!   `{"error": {"type", "code", "message", "param", "doc_url", "request_log_url"}}` with Stripe's
//!   statuses and messages (`parameter_unknown`, `parameter_missing`, `parameter_invalid_empty`,
//!   `resource_missing`, `url_invalid`, `email_invalid`, unrecognized URLs);
//! - idempotency: a POST's `Idempotency-Key` replays the stored answer (`Idempotent-Replayed:
//!   true`, `Original-Request`) when the parameters are the same (compared as parameters, not as
//!   bytes: the order of the fields does not matter), and is refused with an `idempotency_error`
//!   when they differ; validation errors are not stored, as Stripe does not store them;
//! - the objects (customer, Checkout Session, billing portal session, subscription with its items,
//!   price and plan, invoice with its lines, event) in the current API's shape: the billing period
//!   is on the subscription item (`current_period_start`/`end`), an invoice names its subscription
//!   in `parent.subscription_details.subscription` (there is no top-level `invoice.subscription`);
//!   every field that async-stripe requires is present, and `expand[]` replaces ids by objects;
//! - webhooks: each event POSTed as pretty-printed JSON with `Content-Type: application/json;
//!   charset=utf-8`, Stripe's `User-Agent`, and `Stripe-Signature: t=<now>,v1=<hex>` with one `v1`
//!   per endpoint secret (as during a secret rotation), an HMAC-SHA256 of `"{t}.{payload}"`;
//!   a failed delivery (non-2xx or no connection) is retried.
//!
//! The API: `POST /v1/customers`, `GET /v1/customers/{id}`, `POST /v1/checkout/sessions`,
//! `GET /v1/checkout/sessions/{id}`, `POST /v1/billing_portal/sessions`, `GET
//! /v1/subscriptions/{id}` (the subscription as it is now). The hosted pages, plain HTML forms
//! with accessible names: `GET /checkout/{id}` (button "Pay and subscribe", link "Cancel") and
//! `GET /portal/{id}` (button "Cancel subscription", link "Return").
//!
//! Simplified, on purpose:
//! - one account, test mode, US dollars, prices that are monthly and recurring
//!   ([`FakeStripe::add_price`]);
//! - only `mode=subscription` Checkout Sessions with `line_items[N][price]` (no `price_data`);
//!   the other documented parameters are accepted and ignored (trials, discounts, tax, …);
//! - paying happens at once, with no payment method, payment intent or charge objects, and emits
//!   only the events a subscription flow needs: `customer.created` (when Checkout created the
//!   customer), `customer.subscription.created`, `checkout.session.completed`, `invoice.paid`;
//!   a failed renewal emits `invoice.payment_failed` then `customer.subscription.updated`;
//! - the periods do not advance by themselves; statuses change when a test says so;
//! - the portal's "Cancel subscription" cancels at once (Stripe's default portal configuration
//!   cancels at the end of the period);
//! - webhooks are retried 3 times 200 ms apart (Stripe retries for days), delivered one at a time
//!   in the order they were created (Stripe does not promise an order), and only to the single
//!   endpoint set by [`FakeStripe::set_webhook`]; events created while no endpoint is set are
//!   recorded ([`FakeStripe::events`]) but never delivered, as with Stripe.
//!
//! Test-control endpoints (JSON, no authentication), for tests that only have the URL:
//! `POST /_fake/prices` (`{"id", "product_name", "unit_amount"}`), `POST /_fake/webhook`
//! (`{"url", "secrets": [..]}`), `POST /_fake/subscriptions/{id}/fail_payment`,
//! `POST /_fake/subscriptions/{id}/status` (the body is the status), `GET
//! /_fake/subscriptions?email=..` (`{"id"}` or 404), `GET /_fake/events` (`[{"id", "type"}]`).

mod api;
mod calendar;
mod checkout;
mod control;
mod errors;
mod invoices;
mod objects;
mod pages;
mod params;
mod portal;
mod responses;
mod routes;
mod store;
mod subscriptions;
mod webhooks;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

use tokio::net::TcpListener;
use tokio::sync::mpsc;

use crate::http;
use calendar::now;
use store::{PriceRecord, State, Webhook};

pub use webhooks::{WEBHOOK_USER_AGENT, sign, signature_header};

/// The only API key the fake accepts.
pub const FAKE_SECRET_KEY: &str = "sk_test_jarvis_fake";

/// The account's API version: the events' `api_version` and the `Stripe-Version` answered when a
/// request names none. The version async-stripe 1.0.0-rc.10 is generated for (a test checks it).
pub const API_VERSION: &str = "2026-09-30.endive";

/// An event as the fake created it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FakeEvent {
    pub id: String,
    /// `customer.subscription.created`, `invoice.paid`, …
    pub event_type: String,
    /// The exact JSON body POSTed to the webhook endpoint.
    pub payload: String,
}

/// An API request (`/v1/…`) as received.
#[derive(Debug, Clone)]
pub struct RecordedRequest {
    pub method: String,
    /// With the query string, if any.
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl RecordedRequest {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(key, _)| key.eq_ignore_ascii_case(name)).map(|(_, value)| value.as_str())
    }
}

struct Inner {
    addr: SocketAddr,
    state: Mutex<State>,
    outbox: mpsc::UnboundedSender<FakeEvent>,
}

/// The running fake: a cheap handle (clones share the server). The server runs until its tokio
/// runtime ends; dropping the handle does not stop it.
#[derive(Clone)]
pub struct FakeStripe {
    inner: Arc<Inner>,
}

impl FakeStripe {
    /// Starts on a free port of 127.0.0.1.
    pub async fn start() -> std::io::Result<FakeStripe> {
        Self::start_on("127.0.0.1:0").await
    }

    pub async fn start_on(addr: &str) -> std::io::Result<FakeStripe> {
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let seed =
            SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |elapsed| elapsed.as_nanos() as u64)
                ^ (u64::from(std::process::id()) << 32)
                ^ u64::from(addr.port());
        let (outbox, deliveries) = mpsc::unbounded_channel::<FakeEvent>();
        let fake =
            FakeStripe { inner: Arc::new(Inner { addr, state: Mutex::new(State::new(seed)), outbox }) };
        let server = fake.clone();
        tokio::spawn(http::serve(listener, move |request| {
            let server = server.clone();
            async move { server.respond(&request).await }
        }));
        tokio::spawn(fake.clone().deliver_in_order(deliveries));
        Ok(fake)
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.inner.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// `http://127.0.0.1:PORT/`: the API is under `v1/`, the hosted pages under `checkout/` and
    /// `portal/`.
    pub fn base_url(&self) -> String {
        format!("http://{}/", self.inner.addr)
    }

    /// Adds (or replaces) a recurring monthly price in US dollars, `unit_amount` in cents, of a
    /// product named `product_name`.
    pub fn add_price(&self, price_id: &str, product_name: &str, unit_amount: i64) {
        let mut state = self.lock();
        let product_id = state.id("prod");
        let price = PriceRecord {
            id: price_id.to_owned(),
            product_id,
            product_name: product_name.to_owned(),
            unit_amount,
            created: now(),
        };
        state.prices.insert(price_id.to_owned(), price);
    }

    /// Where events go from now on, signed with every secret (one `v1` each).
    pub fn set_webhook(&self, url: &str, secrets: Vec<String>) {
        self.lock().webhook = Some(Webhook { url: url.to_owned(), secrets });
    }

    /// `true`: events are queued ([`Self::held_events`]) instead of delivered. Turning it off
    /// leaves the queue as it is.
    pub fn hold_webhooks(&self, hold: bool) {
        self.lock().hold = hold;
    }

    /// The queued events, oldest first, removed from the queue.
    pub fn held_events(&self) -> Vec<FakeEvent> {
        std::mem::take(&mut self.lock().held)
    }

    /// Every API request received, oldest first.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.lock().requests.clone()
    }

    /// Every event created, oldest first.
    pub fn events(&self) -> Vec<FakeEvent> {
        self.lock().events.clone()
    }

    /// The newest subscription of the customers with this email.
    pub fn subscription_for_email(&self, email: &str) -> Option<String> {
        let state = self.lock();
        state
            .subscription_order
            .iter()
            .rev()
            .find(|id| {
                let customer = state.subscriptions.get(*id).and_then(|s| s["customer"].as_str());
                customer.and_then(|c| state.customers.get(c)).is_some_and(|c| c["email"] == email)
            })
            .cloned()
    }
}
