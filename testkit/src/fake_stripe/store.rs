//! The fake's memory: the objects it holds (prices, customers, sessions, subscriptions,
//! invoices), the idempotent answers it stored, the requests and events it recorded; and ids in
//! Stripe's formats, drawn from a seeded generator.

use std::collections::HashMap;

use serde_json::{Map, Value, json};
use tokio::sync::mpsc;

use super::calendar::now;
use super::{API_VERSION, FakeEvent, RecordedRequest};

/// A price added by a test: recurring, monthly, in US dollars.
#[derive(Debug, Clone)]
pub(super) struct PriceRecord {
    pub(super) id: String,
    pub(super) product_id: String,
    pub(super) product_name: String,
    pub(super) unit_amount: i64,
    pub(super) created: i64,
}

/// A Checkout Session: the object Stripe returns, and what it was created with.
pub(super) struct SessionRecord {
    pub(super) object: Value,
    /// (price id, quantity) per line item.
    pub(super) items: Vec<(String, u64)>,
    pub(super) subscription_metadata: Map<String, Value>,
}

/// An idempotent POST's stored answer.
pub(super) struct StoredResponse {
    pub(super) method: String,
    pub(super) path: String,
    pub(super) params: Vec<(String, String)>,
    pub(super) status: u16,
    pub(super) body: String,
    pub(super) request_id: String,
}

#[derive(Default)]
pub(super) struct Webhook {
    pub(super) url: String,
    pub(super) secrets: Vec<String>,
}

pub(super) struct State {
    pub(super) random: u64,
    pub(super) prices: HashMap<String, PriceRecord>,
    pub(super) customers: HashMap<String, Value>,
    pub(super) sessions: HashMap<String, SessionRecord>,
    pub(super) portal_sessions: HashMap<String, Value>,
    pub(super) subscriptions: HashMap<String, Value>,
    /// Subscription ids, oldest first.
    pub(super) subscription_order: Vec<String>,
    pub(super) invoices: HashMap<String, Value>,
    pub(super) idempotent: HashMap<String, StoredResponse>,
    pub(super) requests: Vec<RecordedRequest>,
    pub(super) events: Vec<FakeEvent>,
    pub(super) held: Vec<FakeEvent>,
    pub(super) hold: bool,
    pub(super) webhook: Option<Webhook>,
}

impl State {
    pub(super) fn new(seed: u64) -> Self {
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
    pub(super) fn next_random(&mut self) -> u64 {
        self.random = self.random.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.random;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    pub(super) fn token(&mut self, length: usize) -> String {
        pub(super) const ALPHABET: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
        (0..length).map(|_| ALPHABET[(self.next_random() % 62) as usize] as char).collect()
    }

    /// An id in Stripe's format: `cus_` and 14 characters, `sub_1` and 23, `cs_test_a1` and 58, …
    pub(super) fn id(&mut self, prefix: &str) -> String {
        match prefix {
            "cus" | "si" | "prod" | "req" => format!("{prefix}_{}", self.token(14)),
            "cs_test" => format!("cs_test_a1{}", self.token(58)),
            _ => format!("{prefix}_1{}", self.token(23)),
        }
    }

    /// Creates an event, records it, and queues it for the endpoint (or holds it).
    pub(super) fn emit(
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
    pub(super) fn lookup(&self, id: &str) -> Option<Value> {
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
    pub(super) fn expand(&self, mut object: Value, paths: &[String]) -> Value {
        for path in paths {
            expand_path(self, &mut object, &path.split('.').collect::<Vec<_>>());
        }
        object
    }
}

pub(super) fn expand_path(state: &State, object: &mut Value, path: &[&str]) {
    let Some((first, rest)) = path.split_first() else { return };
    let Some(field) = object.get_mut(*first) else { return };
    if let Some(expanded) = field.as_str().and_then(|id| state.lookup(id)) {
        *field = expanded;
    }
    expand_path(state, field, rest);
}
