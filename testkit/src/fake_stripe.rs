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

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hmac::{Hmac, Mac};
use serde_json::{Map, Value, json};
use sha2::Sha256;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

use crate::http::{self, Request};

/// The only API key the fake accepts.
pub const FAKE_SECRET_KEY: &str = "sk_test_jarvis_fake";

/// The account's API version: the events' `api_version` and the `Stripe-Version` answered when a
/// request names none. The version async-stripe 1.0.0-rc.10 is generated for (a test checks it).
pub const API_VERSION: &str = "2026-09-30.endive";

/// Stripe's webhook `User-Agent`.
pub const WEBHOOK_USER_AGENT: &str = "Stripe/1.0 (+https://stripe.com/docs/webhooks)";

/// How many times an event is POSTed before giving up, and the pause between tries.
const DELIVERY_ATTEMPTS: u32 = 3;
const DELIVERY_RETRY_DELAY: Duration = Duration::from_millis(200);
const DELIVERY_TIMEOUT: Duration = Duration::from_secs(10);

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

fn now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |elapsed| elapsed.as_secs() as i64)
}

/// A price added by a test: recurring, monthly, in US dollars.
#[derive(Debug, Clone)]
struct PriceRecord {
    id: String,
    product_id: String,
    product_name: String,
    unit_amount: i64,
    created: i64,
}

/// A Checkout Session: the object Stripe returns, and what it was created with.
struct SessionRecord {
    object: Value,
    /// (price id, quantity) per line item.
    items: Vec<(String, u64)>,
    subscription_metadata: Map<String, Value>,
}

/// An idempotent POST's stored answer.
struct StoredResponse {
    method: String,
    path: String,
    params: Vec<(String, String)>,
    status: u16,
    body: String,
    request_id: String,
}

#[derive(Default)]
struct Webhook {
    url: String,
    secrets: Vec<String>,
}

struct State {
    random: u64,
    prices: HashMap<String, PriceRecord>,
    customers: HashMap<String, Value>,
    sessions: HashMap<String, SessionRecord>,
    portal_sessions: HashMap<String, Value>,
    subscriptions: HashMap<String, Value>,
    /// Subscription ids, oldest first.
    subscription_order: Vec<String>,
    invoices: HashMap<String, Value>,
    idempotent: HashMap<String, StoredResponse>,
    requests: Vec<RecordedRequest>,
    events: Vec<FakeEvent>,
    held: Vec<FakeEvent>,
    hold: bool,
    webhook: Option<Webhook>,
}

impl State {
    fn new(seed: u64) -> Self {
        Self {
            random: seed,
            prices: HashMap::new(),
            customers: HashMap::new(),
            sessions: HashMap::new(),
            portal_sessions: HashMap::new(),
            subscriptions: HashMap::new(),
            subscription_order: Vec::new(),
            invoices: HashMap::new(),
            idempotent: HashMap::new(),
            requests: Vec::new(),
            events: Vec::new(),
            held: Vec::new(),
            hold: false,
            webhook: None,
        }
    }

    /// splitmix64: enough randomness for ids that look like Stripe's.
    fn next_random(&mut self) -> u64 {
        self.random = self.random.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.random;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn token(&mut self, length: usize) -> String {
        const ALPHABET: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
        (0..length).map(|_| ALPHABET[(self.next_random() % 62) as usize] as char).collect()
    }

    /// An id in Stripe's format: `cus_` and 14 characters, `sub_1` and 23, `cs_test_a1` and 58, …
    fn id(&mut self, prefix: &str) -> String {
        match prefix {
            "cus" | "si" | "prod" | "req" => format!("{prefix}_{}", self.token(14)),
            "cs_test" => format!("cs_test_a1{}", self.token(58)),
            _ => format!("{prefix}_1{}", self.token(23)),
        }
    }

    /// Creates an event, records it, and queues it for the endpoint (or holds it).
    fn emit(
        &mut self,
        outbox: &mpsc::UnboundedSender<FakeEvent>,
        event_type: &str,
        object: &Value,
        previous_attributes: Option<Value>,
    ) {
        let id = self.id("evt");
        let mut data = json!({ "object": object });
        if let Some(previous) = previous_attributes {
            data["previous_attributes"] = previous;
        }
        let envelope = json!({
            "id": id,
            "object": "event",
            "api_version": API_VERSION,
            "created": now(),
            "data": data,
            "livemode": false,
            "pending_webhooks": i64::from(self.webhook.is_some()),
            "request": { "id": null, "idempotency_key": null },
            "type": event_type,
        });
        let payload = serde_json::to_string_pretty(&envelope).expect("JSON serializes");
        let event = FakeEvent { id, event_type: event_type.to_owned(), payload };
        self.events.push(event.clone());
        if self.webhook.is_some() {
            if self.hold {
                self.held.push(event);
            } else {
                let _ = outbox.send(event);
            }
        }
    }

    /// An object by id, for `expand[]`.
    fn lookup(&self, id: &str) -> Option<Value> {
        if id.starts_with("cus_") {
            self.customers.get(id).cloned()
        } else if id.starts_with("sub_") {
            self.subscriptions.get(id).cloned()
        } else if id.starts_with("in_") {
            self.invoices.get(id).cloned()
        } else if id.starts_with("cs_") {
            self.sessions.get(id).map(|session| session.object.clone())
        } else {
            None
        }
    }

    /// Replaces the ids at `paths` (`latest_invoice`, `subscription.latest_invoice`, …) by objects.
    fn expand(&self, mut object: Value, paths: &[String]) -> Value {
        for path in paths {
            expand_path(self, &mut object, &path.split('.').collect::<Vec<_>>());
        }
        object
    }
}

fn expand_path(state: &State, object: &mut Value, path: &[&str]) {
    let Some((first, rest)) = path.split_first() else { return };
    let Some(field) = object.get_mut(*first) else { return };
    if let Some(expanded) = field.as_str().and_then(|id| state.lookup(id)) {
        *field = expanded;
    }
    expand_path(state, field, rest);
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
        let (outbox, mut deliveries) = mpsc::unbounded_channel::<FakeEvent>();
        let fake =
            FakeStripe { inner: Arc::new(Inner { addr, state: Mutex::new(State::new(seed)), outbox }) };
        let server = fake.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(server.clone().serve(stream));
            }
        });
        let deliverer = fake.clone();
        tokio::spawn(async move {
            while let Some(event) = deliveries.recv().await {
                for attempt in 1..=DELIVERY_ATTEMPTS {
                    if (200..300).contains(&deliverer.deliver(&event).await) {
                        break;
                    }
                    if attempt < DELIVERY_ATTEMPTS {
                        tokio::time::sleep(DELIVERY_RETRY_DELAY).await;
                    }
                }
            }
        });
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

    /// Every API request received, oldest first.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.lock().requests.clone()
    }

    /// Every event created, oldest first.
    pub fn events(&self) -> Vec<FakeEvent> {
        self.lock().events.clone()
    }

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
        let subscription = json!({
            "id": subscription_id,
            "object": "subscription",
            "application": null,
            "application_fee_percent": null,
            "automatic_tax": { "disabled_reason": null, "enabled": false, "liability": null },
            "billing_cycle_anchor": started,
            "billing_cycle_anchor_config": null,
            "billing_mode": {
                "flexible": { "proration_discounts": "included" },
                "type": "flexible",
                "updated_at": started,
            },
            "billing_schedules": [],
            "billing_thresholds": null,
            "cancel_at": null,
            "cancel_at_period_end": false,
            "canceled_at": null,
            "cancellation_details": { "comment": null, "feedback": null, "reason": null },
            "collection_method": "charge_automatically",
            "created": started,
            "currency": "usd",
            "customer": customer_id,
            "customer_account": null,
            "days_until_due": null,
            "default_payment_method": payment_method,
            "default_source": null,
            "default_tax_rates": [],
            "description": null,
            "discounts": [],
            "ended_at": null,
            "invoice_settings": { "account_tax_ids": null, "issuer": { "type": "self" } },
            "items": {
                "object": "list",
                "data": subscription_items,
                "has_more": false,
                "total_count": items.len(),
                "url": format!("/v1/subscription_items?subscription={subscription_id}"),
            },
            "latest_invoice": invoice_id,
            "livemode": false,
            "metadata": subscription_metadata,
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
            "start_date": started,
            "status": "active",
            "test_clock": null,
            "transfer_data": null,
            "trial_end": null,
            "trial_settings": { "end_behavior": { "missing_payment_method": "create_invoice" } },
            "trial_start": null,
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

    async fn serve(self, mut stream: TcpStream) {
        let Ok(Some(request)) = http::read_request(&mut stream).await else { return };
        let response = self.respond(&request).await;
        let _ = http::write_whole(&mut stream, response.status, &response.headers, &response.body).await;
    }

    async fn respond(&self, request: &Request) -> Response {
        let (path, _) = request.path.split_once('?').unwrap_or((&request.path, ""));
        let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        match (request.method.as_str(), segments.as_slice()) {
            (_, ["v1", ..]) => self.api(request),
            ("GET", ["checkout", id]) => self.checkout_page(id),
            ("POST", ["checkout", id, "pay"]) => self.pay(id).await,
            ("GET", ["portal", id]) => self.portal_page(id),
            ("POST", ["portal", id, "cancel"]) => self.portal_cancel(id, request).await,
            (_, ["_fake", ..]) => self.control(request, &segments[1..]).await,
            _ => Response::html(404, page("Not found", "<h1>Not found</h1>")),
        }
    }
}

/// The subscription, unless it is unknown or canceled.
fn live_subscription(state: &State, id: &str) -> Result<Value, String> {
    let subscription = state.subscriptions.get(id).ok_or_else(|| format!("No such subscription: '{id}'"))?;
    if subscription["status"] == "canceled" {
        return Err(format!("The subscription {id} is canceled; a canceled subscription cannot change"));
    }
    Ok(subscription.clone())
}

fn price_json(price: &PriceRecord) -> Value {
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
fn plan_json(price: &PriceRecord) -> Value {
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

fn subscription_item(
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

fn new_customer(
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

enum InvoiceKind {
    /// The invoice Checkout's payment paid.
    FirstPaid,
    /// A renewal whose payment failed: open, to be retried.
    RenewalFailed,
}

fn new_invoice(state: &mut State, id: &str, subscription: &Value, kind: InvoiceKind) -> Value {
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
        "next_payment_attempt": if paid { Value::Null } else { json!(at + 3 * 86_400) },
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

/// `1999` cents → `$19.99`.
fn dollars(cents: i64) -> String {
    format!("${}.{:02}", cents / 100, cents % 100)
}

/// The same day and time a month later (the last day of the month when there is no such day), as
/// Stripe bills monthly.
fn add_month(timestamp: i64) -> i64 {
    let (days, seconds) = (timestamp.div_euclid(86_400), timestamp.rem_euclid(86_400));
    let (year, month, day) = civil_from_days(days);
    let (year, month) = if month == 12 { (year + 1, 1) } else { (year, month + 1) };
    days_from_civil(year, month, day.min(days_in_month(year, month))) * 86_400 + seconds
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Howard Hinnant's `days_from_civil`: days since 1970-01-01 of a proleptic Gregorian date.
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let day_of_year = (153 * ((month + 9) % 12) + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// The inverse of [`days_from_civil`].
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let days = days + 719_468;
    let era = days.div_euclid(146_097);
    let day_of_era = days - era * 146_097;
    let year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let shifted_month = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * shifted_month + 2) / 5 + 1;
    let month = if shifted_month < 10 { shifted_month + 3 } else { shifted_month - 9 };
    (if month <= 2 { year_of_era + era * 400 + 1 } else { year_of_era + era * 400 }, month, day)
}

// The API.

/// Decoded `application/x-www-form-urlencoded` pairs, in order.
struct Params(Vec<(String, String)>);

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        match bytes[index] {
            b'+' => decoded.push(b' '),
            b'%' if index + 2 < bytes.len() => {
                let pair = std::str::from_utf8(&bytes[index + 1..index + 3])
                    .ok()
                    .filter(|hex| hex.bytes().all(|b| b.is_ascii_hexdigit()));
                match pair.and_then(|hex| u8::from_str_radix(hex, 16).ok()) {
                    Some(byte) => {
                        decoded.push(byte);
                        index += 2;
                    }
                    None => decoded.push(b'%'),
                }
            }
            byte => decoded.push(byte),
        }
        index += 1;
    }
    String::from_utf8_lossy(&decoded).into_owned()
}

impl Params {
    fn parse(encoded: &str) -> Self {
        Self(
            encoded
                .split('&')
                .filter(|pair| !pair.is_empty())
                .map(|pair| {
                    let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
                    (percent_decode(key), percent_decode(value))
                })
                .collect(),
        )
    }

    fn get(&self, key: &str) -> Option<&str> {
        self.0.iter().rev().find(|(name, _)| name == key).map(|(_, value)| value.as_str())
    }

    /// The value, refused when it is an empty string (Stripe's reading of "unset this").
    fn value(&self, key: &str) -> Result<Option<&str>, ApiError> {
        match self.get(key) {
            Some("") => Err(ApiError::invalid(
                "parameter_invalid_empty",
                format!(
                    "You passed an empty string for '{key}'. We assume empty values are an attempt to unset a parameter; however '{key}' cannot be unset. You should remove '{key}' from your request or supply a non-empty value."
                ),
                key,
            )),
            other => Ok(other),
        }
    }

    /// `prefix[key]=value` pairs as a JSON object (`metadata`, `subscription_data[metadata]`);
    /// empty values are dropped, as they unset a key.
    fn hash(&self, prefix: &str) -> Map<String, Value> {
        let mut map = Map::new();
        for (name, value) in &self.0 {
            if let Some(key) =
                name.strip_prefix(prefix).and_then(|r| r.strip_prefix('[')).and_then(|r| r.strip_suffix(']'))
                && !key.contains('[')
            {
                if value.is_empty() {
                    map.remove(key);
                } else {
                    map.insert(key.to_owned(), json!(value));
                }
            }
        }
        map
    }

    /// `name[]=a&name[]=b` or `name[0]=a&name[1]=b`.
    fn list(&self, name: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(key, _)| {
                key.strip_prefix(name)
                    .and_then(|rest| rest.strip_prefix('['))
                    .and_then(|rest| rest.strip_suffix(']'))
                    .is_some_and(|index| index.is_empty() || index.parse::<usize>().is_ok())
            })
            .map(|(_, value)| value.clone())
            .collect()
    }

    /// The indices used in `name[N][…]`, ascending.
    fn indices(&self, name: &str) -> Vec<usize> {
        let mut indices: Vec<usize> = self
            .0
            .iter()
            .filter_map(|(key, _)| segments(key).get(1).filter(|_| segments(key)[0] == name)?.parse().ok())
            .collect();
        indices.sort_unstable();
        indices.dedup();
        indices
    }

    /// The pairs in a canonical order, to compare two requests' parameters.
    fn canonical(&self) -> Vec<(String, String)> {
        let mut pairs = self.0.clone();
        pairs.sort();
        pairs
    }

    /// Refuses a parameter the endpoint does not have, as Stripe does (`parameter_unknown`).
    /// `nested` lists, for a parameter, the names allowed below it (after an index for arrays).
    fn check_known(&self, top: &[&str], nested: &[(&str, bool, &[&str])]) -> Result<(), ApiError> {
        for (key, _) in &self.0 {
            let parts = segments(key);
            let unknown = |depth: usize| {
                let name = parts[0].to_owned()
                    + &parts[1..depth].iter().map(|p| format!("[{p}]")).collect::<String>();
                ApiError::invalid("parameter_unknown", format!("Received unknown parameter: {name}"), &name)
            };
            if !top.contains(&parts[0]) {
                return Err(unknown(1));
            }
            for (name, indexed, allowed) in nested {
                if parts[0] != *name {
                    continue;
                }
                let depth = if *indexed { 2 } else { 1 };
                if let Some(child) = parts.get(depth)
                    && !allowed.contains(child)
                {
                    return Err(unknown(depth + 1));
                }
            }
        }
        Ok(())
    }
}

/// `line_items[0][price]` → `["line_items", "0", "price"]`.
fn segments(key: &str) -> Vec<&str> {
    let (first, rest) = key.split_once('[').map_or((key, ""), |(first, rest)| (first, rest));
    let mut parts = vec![first];
    if !rest.is_empty() {
        parts.extend(rest.trim_end_matches(']').split("]["));
    }
    parts
}

/// An error as Stripe answers it.
struct ApiError {
    status: u16,
    kind: &'static str,
    code: Option<&'static str>,
    message: String,
    param: Option<String>,
    /// Whether an idempotent request stores this answer (not for validation errors).
    stored: bool,
}

impl ApiError {
    /// A 400 for invalid parameters, without a code (as Stripe answers for a value out of an
    /// enumeration, or parameters that exclude each other): never stored for idempotency.
    fn bad(message: String, param: &str) -> Self {
        Self {
            status: 400,
            kind: "invalid_request_error",
            code: None,
            message,
            param: Some(param.to_owned()),
            stored: false,
        }
    }

    /// A 400 for invalid parameters, with Stripe's code: never stored for idempotency.
    fn invalid(code: &'static str, message: String, param: &str) -> Self {
        Self {
            status: 400,
            kind: "invalid_request_error",
            code: Some(code),
            message,
            param: Some(param.to_owned()),
            stored: false,
        }
    }

    /// `No such customer: 'cus_x'`: 404 for the object in the URL, 400 for one named by a
    /// parameter.
    fn no_such(status: u16, what: &str, id: &str, param: &str) -> Self {
        Self {
            status,
            kind: "invalid_request_error",
            code: Some("resource_missing"),
            message: format!("No such {what}: '{id}'"),
            param: Some(param.to_owned()),
            stored: true,
        }
    }

    fn body(&self, request_id: &str) -> Value {
        let mut error = Map::new();
        if let Some(code) = self.code {
            error.insert("code".into(), json!(code));
            error.insert(
                "doc_url".into(),
                json!(format!("https://stripe.com/docs/error-codes/{}", code.replace('_', "-"))),
            );
        }
        error.insert("message".into(), json!(self.message));
        if let Some(param) = &self.param {
            error.insert("param".into(), json!(param));
        }
        error.insert(
            "request_log_url".into(),
            json!(format!("https://dashboard.stripe.com/test/logs/{request_id}?t={}", now())),
        );
        error.insert("type".into(), json!(self.kind));
        json!({ "error": error })
    }
}

struct Response {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Response {
    fn json(status: u16, body: &Value) -> Self {
        Self {
            status,
            headers: vec![("content-type".into(), "application/json".into())],
            body: serde_json::to_string_pretty(body).expect("JSON serializes").into_bytes(),
        }
    }

    fn html(status: u16, body: String) -> Self {
        Self {
            status,
            headers: vec![("content-type".into(), "text/html; charset=utf-8".into())],
            body: body.into_bytes(),
        }
    }

    fn redirect(location: &str) -> Self {
        Self { status: 303, headers: vec![("location".into(), location.to_owned())], body: Vec::new() }
    }
}

/// Stripe's masking of a key in its error message: the prefix, asterisks, the last four.
fn masked(key: &str) -> String {
    let prefix_length = ["sk_test_", "sk_live_", "rk_test_", "rk_live_", "pk_test_", "pk_live_"]
        .iter()
        .find(|prefix| key.starts_with(**prefix))
        .map_or(0, |prefix| prefix.len());
    let chars: Vec<char> = key.chars().collect();
    if chars.len() <= prefix_length + 4 {
        return key.to_owned();
    }
    let hidden = chars.len() - prefix_length - 4;
    format!(
        "{}{}{}",
        &key[..prefix_length],
        "*".repeat(hidden),
        chars[chars.len() - 4..].iter().collect::<String>()
    )
}

fn valid_version(version: &str) -> bool {
    let date = version.split_once('.').map_or(version, |(date, _)| date);
    let bytes = date.as_bytes();
    bytes.len() == 10
        && bytes
            .iter()
            .enumerate()
            .all(|(i, b)| if i == 4 || i == 7 { *b == b'-' } else { b.is_ascii_digit() })
}

fn valid_url(url: &str) -> bool {
    (url.starts_with("https://") || url.starts_with("http://"))
        && url.len() > "http://".len()
        && !url.contains(' ')
}

#[rustfmt::skip]
const CUSTOMER_PARAMS: &[&str] = &[
    "address", "balance", "business_name", "cash_balance", "description", "email", "expand",
    "individual_name", "invoice_prefix", "invoice_settings", "metadata", "name", "next_invoice_sequence",
    "payment_method", "phone", "preferred_locales", "shipping", "source", "tax", "tax_exempt",
    "tax_id_data", "test_clock", "validate",
];
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
#[rustfmt::skip]
const PORTAL_PARAMS: &[&str] = &[
    "configuration", "customer", "customer_account", "expand", "flow_data", "locale", "on_behalf_of",
    "return_url",
];

impl FakeStripe {
    /// One `/v1/…` request: authentication, idempotency, then the endpoint.
    fn api(&self, request: &Request) -> Response {
        let body = String::from_utf8_lossy(&request.body).into_owned();
        let mut state = self.lock();
        state.requests.push(RecordedRequest {
            method: request.method.clone(),
            path: request.path.clone(),
            headers: request.headers.clone(),
            body: body.clone(),
        });
        let request_id = state.id("req");
        let version = request.header("stripe-version").unwrap_or(API_VERSION).to_owned();
        let mut headers = vec![("request-id".to_owned(), request_id.clone())];
        let error = |headers: Vec<(String, String)>, error: &ApiError| {
            let mut response = Response::json(error.status, &error.body(&request_id));
            response.headers.extend(headers);
            response
        };

        let key =
            request.header("authorization").and_then(|value| value.strip_prefix("Bearer ")).map(str::trim);
        if key != Some(FAKE_SECRET_KEY) {
            let message = match key {
                None | Some("") => "You did not provide an API key. You need to provide your API key in the Authorization header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY'). See https://stripe.com/docs/api#authentication for details, or we can help at https://support.stripe.com/.".to_owned(),
                Some(key) => format!("Invalid API Key provided: {}", masked(key)),
            };
            headers.push(("www-authenticate".into(), "Basic realm=\"Stripe\"".into()));
            let unauthorized = ApiError {
                status: 401,
                kind: "invalid_request_error",
                code: None,
                message,
                param: None,
                stored: false,
            };
            return error(headers, &unauthorized);
        }
        if !valid_version(&version) {
            let invalid = ApiError {
                status: 400,
                kind: "invalid_request_error",
                code: None,
                message: format!("Invalid Stripe API version: {version}"),
                param: None,
                stored: false,
            };
            return error(headers, &invalid);
        }
        headers.push(("stripe-version".into(), version));

        let (path, query) = request.path.split_once('?').unwrap_or((&request.path, ""));
        let params = Params::parse(if request.method == "GET" { query } else { &body });
        let idempotency_key = (request.method == "POST")
            .then(|| request.header("idempotency-key").map(str::to_owned))
            .flatten();
        if let Some(key) = &idempotency_key {
            headers.push(("idempotency-key".into(), key.clone()));
            if let Some(stored) = state.idempotent.get(key) {
                if stored.method != request.method
                    || stored.path != path
                    || stored.params != params.canonical()
                {
                    let mismatch = ApiError {
                        status: 400,
                        kind: "idempotency_error",
                        code: None,
                        message: format!(
                            "Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '{key}' if you meant to execute a different request."
                        ),
                        param: None,
                        stored: false,
                    };
                    return error(headers, &mismatch);
                }
                headers.push(("idempotent-replayed".into(), "true".into()));
                headers.push(("original-request".into(), stored.request_id.clone()));
                headers.insert(0, ("content-type".into(), "application/json".into()));
                return Response { status: stored.status, headers, body: stored.body.clone().into_bytes() };
            }
        }

        let segments: Vec<&str> = path.trim_start_matches("/v1/").split('/').collect();
        let result = match (request.method.as_str(), segments.as_slice()) {
            ("POST", ["customers"]) => self.create_customer(&mut state, &params),
            ("GET", ["customers", id]) => {
                retrieve(&state, &params, "customer", id, |s| s.customers.get(*id).cloned())
            }
            ("POST", ["checkout", "sessions"]) => self.create_checkout_session(&mut state, &params),
            ("GET", ["checkout", "sessions", id]) => retrieve(&state, &params, "checkout.session", id, |s| {
                s.sessions.get(*id).map(|r| r.object.clone())
            }),
            ("POST", ["billing_portal", "sessions"]) => self.create_portal_session(&mut state, &params),
            ("GET", ["subscriptions", id]) => {
                retrieve(&state, &params, "subscription", id, |s| s.subscriptions.get(*id).cloned())
            }
            _ => Err(ApiError {
                status: 404,
                kind: "invalid_request_error",
                code: None,
                message: format!(
                    "Unrecognized request URL ({}: {path}). Please see https://stripe.com/docs or we can help at https://support.stripe.com/.",
                    request.method
                ),
                param: None,
                stored: false,
            }),
        };
        let (status, value, stored) = match result {
            Ok(object) => (200, object, true),
            Err(failure) => (failure.status, failure.body(&request_id), failure.stored),
        };
        let mut response = Response::json(status, &value);
        if let Some(key) = idempotency_key
            && stored
        {
            state.idempotent.insert(
                key,
                StoredResponse {
                    method: request.method.clone(),
                    path: path.to_owned(),
                    params: params.canonical(),
                    status,
                    body: String::from_utf8_lossy(&response.body).into_owned(),
                    request_id: request_id.clone(),
                },
            );
        }
        response.headers.extend(headers);
        response
    }

    fn create_customer(&self, state: &mut State, params: &Params) -> Result<Value, ApiError> {
        params.check_known(CUSTOMER_PARAMS, &[])?;
        let email = params.value("email")?;
        if let Some(email) = email
            && !email.split_once('@').is_some_and(|(local, domain)| !local.is_empty() && domain.contains('.'))
        {
            return Err(ApiError::invalid(
                "email_invalid",
                format!("Invalid email address: {email}"),
                "email",
            ));
        }
        let customer = new_customer(
            state,
            email,
            params.value("name")?,
            &params.hash("metadata"),
            params.value("description")?,
            params.value("phone")?,
        );
        let id = customer["id"].as_str().unwrap_or_default().to_owned();
        state.customers.insert(id, customer.clone());
        Ok(state.expand(customer, &params.list("expand")))
    }

    fn create_checkout_session(&self, state: &mut State, params: &Params) -> Result<Value, ApiError> {
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
            "expires_at": created + 86_400,
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

    fn create_portal_session(&self, state: &mut State, params: &Params) -> Result<Value, ApiError> {
        params.check_known(PORTAL_PARAMS, &[])?;
        let customer = params.value("customer")?.ok_or_else(|| {
            ApiError::invalid("parameter_missing", "Missing required param: customer.".into(), "customer")
        })?;
        if !state.customers.contains_key(customer) {
            return Err(ApiError::no_such(400, "customer", customer, "customer"));
        }
        let return_url = params.value("return_url")?;
        if let Some(url) = return_url
            && !valid_url(url)
        {
            return Err(ApiError::invalid("url_invalid", "Not a valid URL".into(), "return_url"));
        }
        let id = state.id("bps");
        let configuration = state.id("bpc");
        let object = json!({
            "id": id,
            "object": "billing_portal.session",
            "configuration": configuration,
            "created": now(),
            "customer": customer,
            "customer_account": null,
            "flow": null,
            "livemode": false,
            "locale": params.get("locale"),
            "on_behalf_of": null,
            "return_url": return_url,
            "url": format!("{}portal/{id}", self.base_url()),
        });
        state.portal_sessions.insert(id, object.clone());
        Ok(object)
    }
}

/// `GET /v1/<objects>/{id}`: the object as it is now, or 404.
fn retrieve(
    state: &State,
    params: &Params,
    what: &str,
    id: &str,
    find: impl Fn(&State) -> Option<Value>,
) -> Result<Value, ApiError> {
    params.check_known(&["expand"], &[])?;
    let object = find(state).ok_or_else(|| ApiError::no_such(404, what, id, "id"))?;
    Ok(state.expand(object, &params.list("expand")))
}

// The hosted pages and the test-control endpoints.

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

fn page(title: &str, body: &str) -> String {
    format!(
        "<!doctype html>\n<html lang=\"en\">\n<head><meta charset=\"utf-8\"><title>{}</title>\n\
         <style>body{{font-family:system-ui,sans-serif;max-width:32rem;margin:3rem auto;padding:0 1rem}}\
         button{{font-size:1rem;padding:.5rem 1rem}}</style></head>\n<body><main>\n{body}\n</main></body>\n</html>\n",
        escape(title)
    )
}

fn status_label(status: &str) -> &'static str {
    match status {
        "active" => "Active",
        "past_due" => "Past due",
        "unpaid" => "Unpaid",
        "canceled" => "Canceled",
        "paused" => "Paused",
        "trialing" => "Trialing",
        "incomplete" => "Incomplete",
        "incomplete_expired" => "Incomplete, expired",
        _ => "Unknown",
    }
}

impl FakeStripe {
    /// `(product name, "$20.00 per month")` per item of a session.
    fn describe(&self, state: &State, items: &[(String, u64)]) -> Vec<(String, String)> {
        items
            .iter()
            .map(|(price_id, quantity)| match state.prices.get(price_id) {
                Some(price) if *quantity == 1 => {
                    (price.product_name.clone(), format!("{} per month", dollars(price.unit_amount)))
                }
                Some(price) => (
                    price.product_name.clone(),
                    format!("{quantity} × {} per month", dollars(price.unit_amount)),
                ),
                None => (price_id.clone(), String::new()),
            })
            .collect()
    }

    fn checkout_page(&self, id: &str) -> Response {
        let state = self.lock();
        let Some(session) = state.sessions.get(id) else {
            return Response::html(
                404,
                page("Checkout", "<h1>Something went wrong</h1><p>This Checkout Session does not exist.</p>"),
            );
        };
        let object = &session.object;
        let lines: String = self
            .describe(&state, &session.items)
            .iter()
            .map(|(product, price)| format!("<h2>{}</h2>\n<p>{}</p>\n", escape(product), escape(price)))
            .collect();
        let email =
            object["customer_details"]["email"].as_str().or_else(|| object["customer_email"].as_str());
        let email = email.map(|e| format!("<p>Email: {}</p>\n", escape(e))).unwrap_or_default();
        let cancel = object["cancel_url"]
            .as_str()
            .map(|url| format!("<p><a href=\"{}\">Cancel</a></p>\n", escape(url)))
            .unwrap_or_default();
        let body = if object["status"] == "open" {
            format!(
                "<h1>Subscribe</h1>\n{lines}<p>Total due today: {}</p>\n{email}\
                 <form method=\"post\" action=\"/checkout/{}/pay\"><button type=\"submit\">Pay and subscribe</button></form>\n{cancel}",
                dollars(object["amount_total"].as_i64().unwrap_or(0)),
                escape(id)
            )
        } else {
            let next = object["success_url"].as_str().map(|url| success_url(url, id));
            let next = next
                .map(|url| format!("<p><a href=\"{}\">Continue</a></p>", escape(&url)))
                .unwrap_or_default();
            format!(
                "<h1>This Checkout Session is no longer active</h1>\n<p>It is {}.</p>\n{next}",
                escape(object["status"].as_str().unwrap_or(""))
            )
        };
        Response::html(200, page("Checkout", &body))
    }

    async fn pay(&self, id: &str) -> Response {
        match self.complete_checkout(id).await {
            Ok(_) => {
                let success = self
                    .lock()
                    .sessions
                    .get(id)
                    .and_then(|s| s.object["success_url"].as_str().map(str::to_owned));
                match success {
                    Some(url) => Response::redirect(&success_url(&url, id)),
                    None => Response::html(200, page("Thanks", "<h1>Thanks for your payment</h1>")),
                }
            }
            Err(message) => Response::html(
                400,
                page("Checkout", &format!("<h1>Payment failed</h1>\n<p>{}</p>", escape(&message))),
            ),
        }
    }

    fn portal_page(&self, id: &str) -> Response {
        let state = self.lock();
        let Some(session) = state.portal_sessions.get(id) else {
            return Response::html(
                404,
                page("Billing", "<h1>Something went wrong</h1><p>This portal session does not exist.</p>"),
            );
        };
        let customer = session["customer"].as_str().unwrap_or_default();
        let subscriptions: Vec<&Value> = state
            .subscription_order
            .iter()
            .rev()
            .filter_map(|sub| state.subscriptions.get(sub))
            .filter(|sub| sub["customer"] == customer)
            .collect();
        let describe = |sub: &Value| -> String {
            let plans: Vec<String> = sub["items"]["data"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|item| {
                    let price = state.prices.get(item["price"]["id"].as_str().unwrap_or_default());
                    let name = price.map_or("?", |p| p.product_name.as_str());
                    format!(
                        "{} — {} per month",
                        name,
                        dollars(item["price"]["unit_amount"].as_i64().unwrap_or(0))
                    )
                })
                .collect();
            let status = sub["status"].as_str().unwrap_or_default();
            format!(
                "<dl><dt>Plan</dt><dd>{}</dd><dt>Status</dt><dd data-status=\"{}\">{}</dd></dl>\n",
                escape(&plans.join(", ")),
                escape(status),
                status_label(status)
            )
        };
        let mut body = String::from("<h1>Manage your subscription</h1>\n");
        let (current, past): (Vec<&Value>, Vec<&Value>) =
            subscriptions.into_iter().partition(|sub| sub["status"] != "canceled");
        if current.is_empty() {
            body.push_str("<p>You have no active subscription.</p>\n");
        }
        for sub in current {
            body.push_str("<section aria-label=\"Current subscription\">\n");
            body.push_str(&describe(sub));
            body.push_str(&format!(
                "<form method=\"post\" action=\"/portal/{}/cancel\"><input type=\"hidden\" name=\"subscription\" value=\"{}\">\
                 <button type=\"submit\">Cancel subscription</button></form>\n</section>\n",
                escape(id),
                escape(sub["id"].as_str().unwrap_or_default())
            ));
        }
        if !past.is_empty() {
            body.push_str("<section aria-label=\"Past subscriptions\"><h2>Past subscriptions</h2>\n");
            for sub in past {
                body.push_str(&describe(sub));
            }
            body.push_str("</section>\n");
        }
        if let Some(back) = session["return_url"].as_str() {
            body.push_str(&format!("<p><a href=\"{}\">Return</a></p>\n", escape(back)));
        }
        Response::html(200, page("Billing", &body))
    }

    async fn portal_cancel(&self, id: &str, request: &Request) -> Response {
        let form = Params::parse(&String::from_utf8_lossy(&request.body));
        let target = {
            let state = self.lock();
            let Some(session) = state.portal_sessions.get(id) else {
                return Response::html(404, page("Billing", "<h1>This portal session does not exist</h1>"));
            };
            let customer = session["customer"].as_str().unwrap_or_default().to_owned();
            let owned =
                |sub: &str| state.subscriptions.get(sub).is_some_and(|s| s["customer"] == customer.as_str());
            let chosen = form.get("subscription").filter(|sub| owned(sub)).map(str::to_owned);
            let newest = || {
                state
                    .subscription_order
                    .iter()
                    .rev()
                    .find(|sub| owned(sub) && state.subscriptions[*sub]["status"] != "canceled")
                    .cloned()
            };
            chosen.or_else(newest).map(|sub| (sub, session["return_url"].as_str().map(str::to_owned)))
        };
        let Some((subscription, return_url)) = target else {
            return Response::html(400, page("Billing", "<h1>There is no subscription to cancel</h1>"));
        };
        if let Err(message) = self.set_subscription_status(&subscription, "canceled").await {
            return Response::html(
                400,
                page("Billing", &format!("<h1>Could not cancel</h1>\n<p>{}</p>", escape(&message))),
            );
        }
        Response::redirect(&return_url.unwrap_or_else(|| format!("/portal/{id}")))
    }

    /// `/_fake/…`: what a browser test's harness uses to drive the fake.
    async fn control(&self, request: &Request, segments: &[&str]) -> Response {
        let body = String::from_utf8_lossy(&request.body).into_owned();
        let json_body: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
        let failed = |status: u16, message: String| Response::json(status, &json!({ "error": message }));
        let outcome = |result: Result<(), String>| match result {
            Ok(()) => Response::json(200, &json!({ "ok": true })),
            Err(message) => failed(if message.starts_with("No such") { 404 } else { 400 }, message),
        };
        match (request.method.as_str(), segments) {
            ("POST", ["prices"]) => {
                let (Some(id), Some(name), Some(amount)) = (
                    json_body["id"].as_str(),
                    json_body["product_name"].as_str(),
                    json_body["unit_amount"].as_i64(),
                ) else {
                    return failed(400, "expected {\"id\", \"product_name\", \"unit_amount\"}".into());
                };
                self.add_price(id, name, amount);
                Response::json(200, &json!({ "id": id }))
            }
            ("POST", ["webhook"]) => {
                let Some(url) = json_body["url"].as_str() else {
                    return failed(400, "expected {\"url\", \"secrets\": [..]}".into());
                };
                let secrets: Vec<String> = json_body["secrets"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|secret| secret.as_str().map(str::to_owned))
                    .collect();
                self.set_webhook(url, secrets);
                Response::json(200, &json!({ "url": url }))
            }
            ("POST", ["subscriptions", id, "fail_payment"]) => outcome(self.fail_payment(id).await),
            ("POST", ["subscriptions", id, "status"]) => {
                // The body is the status: plain text, a JSON string, or {"status": ..}.
                let status = match &json_body {
                    Value::String(status) => status.clone(),
                    Value::Object(object) => {
                        object.get("status").and_then(Value::as_str).unwrap_or_default().to_owned()
                    }
                    _ => body.trim().to_owned(),
                };
                outcome(self.set_subscription_status(id, &status).await)
            }
            ("GET", ["subscriptions"]) => {
                let query = request.path.split_once('?').map_or("", |(_, query)| query);
                let email = Params::parse(query).get("email").unwrap_or_default().to_owned();
                match self.subscription_for_email(&email) {
                    Some(id) => Response::json(200, &json!({ "id": id })),
                    None => failed(404, format!("No subscription for {email}")),
                }
            }
            ("GET", ["events"]) => {
                let events: Vec<Value> = self
                    .events()
                    .iter()
                    .map(|event| json!({ "id": event.id, "type": event.event_type }))
                    .collect();
                Response::json(200, &Value::Array(events))
            }
            _ => failed(404, format!("No such control endpoint: {} {}", request.method, request.path)),
        }
    }
}

/// The success URL with Stripe's `{CHECKOUT_SESSION_ID}` template variable filled in.
fn success_url(url: &str, session_id: &str) -> String {
    url.replace("{CHECKOUT_SESSION_ID}", session_id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_month_later_is_the_same_day_or_the_last_of_the_month() {
        let day = |y, m, d| days_from_civil(y, m, d) * 86_400;
        assert_eq!(day(1970, 1, 1), 0);
        assert_eq!(civil_from_days(days_from_civil(2024, 2, 29)), (2024, 2, 29));
        assert_eq!(add_month(day(2024, 1, 31) + 3600), day(2024, 2, 29) + 3600);
        assert_eq!(add_month(day(2023, 1, 31)), day(2023, 2, 28));
        assert_eq!(add_month(day(2025, 12, 15)), day(2026, 1, 15));
        assert_eq!(add_month(day(2026, 3, 31)), day(2026, 4, 30));
    }

    #[test]
    fn form_bodies_decode_brackets_and_escapes() {
        let params = Params::parse(
            "line_items%5B0%5D%5Bprice%5D=price_pro&metadata[user_id]=a%2Bb+c&expand[]=x&expand[]=y",
        );
        assert_eq!(params.get("line_items[0][price]"), Some("price_pro"));
        assert_eq!(params.hash("metadata").get("user_id"), Some(&json!("a+b c")));
        assert_eq!(params.list("expand"), vec!["x", "y"]);
        assert_eq!(params.indices("line_items"), vec![0]);
        assert_eq!(segments("line_items[0][price]"), vec!["line_items", "0", "price"]);
        let unknown =
            params.check_known(&["line_items", "metadata", "expand"], &[("line_items", true, &["quantity"])]);
        assert_eq!(unknown.err().and_then(|e| e.param), Some("line_items[0][price]".to_owned()));
    }

    #[test]
    fn keys_are_masked_like_stripe_does() {
        assert_eq!(masked("sk_test_abcdefgh1234"), "sk_test_********1234");
        // As Stripe answered a client that sent "undefined": `*****ined`.
        assert_eq!(masked("undefined"), "*****ined");
        assert_eq!(masked("abc"), "abc");
    }
}
