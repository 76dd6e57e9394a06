//! The fake Stripe against Stripe's own code: async-stripe's client and webhook types (what Jarvis
//! uses), and the official Python library's signature check. If the fake drifted from Stripe's
//! protocol or object shapes, these would fail to parse what it sends.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use jarvis_testkit::fake_stripe::{self, FAKE_SECRET_KEY, FakeEvent, FakeStripe};
use jarvis_testkit::http;
use stripe::{IdempotencyKey, RequestStrategy, StripeError, StripeRequest};
use stripe_billing::billing_portal_session::CreateBillingPortalSession;
use stripe_billing::subscription::RetrieveSubscription;
use stripe_checkout::checkout_session::{
    CreateCheckoutSession, CreateCheckoutSessionLineItems, CreateCheckoutSessionSubscriptionData,
    RetrieveCheckoutSession,
};
use stripe_core::customer::{CreateCustomer, RetrieveCustomer, RetrieveCustomerReturned};
use stripe_shared::{
    ApiErrorsCode, ApiErrorsType, CheckoutSessionMode, CheckoutSessionPaymentStatus, CheckoutSessionStatus,
    SubscriptionStatus,
};
use stripe_webhook::{EventObject, Webhook, WebhookError};
use tokio::net::TcpListener;

const PRICE: &str = "price_pro";
const PRODUCT: &str = "Jarvis Pro";
const OLD_SECRET: &str = "whsec_old_secret_being_rotated_out";
const NEW_SECRET: &str = "whsec_new_secret";

fn client(fake: &FakeStripe, key: &str) -> stripe::Client {
    // The workspace links two TLS crypto providers; the client's connector needs a default.
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    stripe::ClientBuilder::new(key).url(fake.base_url()).build().expect("a client")
}

async fn started() -> FakeStripe {
    let fake = FakeStripe::start().await.expect("the fake starts");
    fake.add_price(PRICE, PRODUCT, 2000);
    fake
}

fn metadata(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
}

fn checkout(customer: &str, user: &str) -> CreateCheckoutSession {
    CreateCheckoutSession::new()
        .mode(CheckoutSessionMode::Subscription)
        .customer(customer)
        .client_reference_id(user)
        .line_items(vec![{
            let mut item = CreateCheckoutSessionLineItems::new();
            item.price = Some(PRICE.to_owned());
            item.quantity = Some(1);
            item
        }])
        .subscription_data({
            let mut data = CreateCheckoutSessionSubscriptionData::new();
            data.metadata = Some(metadata(&[("user_id", user)]));
            data
        })
        .metadata(metadata(&[("user_id", user)]))
        .success_url("http://app.test/billing/done?session={CHECKOUT_SESSION_ID}")
        .cancel_url("http://app.test/billing")
}

/// The Stripe error inside a client error, with its HTTP status.
fn stripe_error(error: StripeError) -> (stripe_shared::ApiErrors, u16) {
    match error {
        StripeError::Stripe(error, status) => (*error, status),
        other => panic!("expected an error from Stripe, got {other:?}"),
    }
}

#[tokio::test]
async fn the_client_round_trips_customers_checkout_portal_and_subscriptions() {
    let fake = started().await;
    let client = client(&fake, FAKE_SECRET_KEY);

    let customer = CreateCustomer::new()
        .email("ada@example.com")
        .name("Ada Lovelace")
        .metadata(metadata(&[("user_id", "u-1")]))
        .send(&client)
        .await
        .expect("a customer");
    assert!(customer.id.as_str().starts_with("cus_"), "{}", customer.id);
    assert_eq!(customer.email.as_deref(), Some("ada@example.com"));
    assert_eq!(customer.name.as_deref(), Some("Ada Lovelace"));
    assert_eq!(customer.metadata.as_ref().and_then(|m| m.get("user_id")).map(String::as_str), Some("u-1"));
    match RetrieveCustomer::new(customer.id.clone()).send(&client).await.expect("the customer") {
        RetrieveCustomerReturned::Customer(found) => {
            assert_eq!(found.email.as_deref(), Some("ada@example.com"))
        }
        RetrieveCustomerReturned::DeletedCustomer(_) => panic!("the customer reads as deleted"),
    }

    let session = checkout(customer.id.as_str(), "u-1").send(&client).await.expect("a checkout session");
    assert!(session.id.as_str().starts_with("cs_test_"), "{}", session.id);
    assert_eq!(session.url.as_deref(), Some(format!("{}checkout/{}", fake.base_url(), session.id).as_str()));
    assert_eq!(session.status, Some(CheckoutSessionStatus::Open));
    assert_eq!(session.payment_status, CheckoutSessionPaymentStatus::Unpaid);
    assert_eq!(session.mode, CheckoutSessionMode::Subscription);
    assert_eq!(session.client_reference_id.as_deref(), Some("u-1"));
    assert_eq!(session.customer.as_ref().map(|c| c.id().as_str()), Some(customer.id.as_str()));
    assert_eq!(session.amount_total, Some(2000));
    assert!(session.subscription.is_none());

    let portal = CreateBillingPortalSession::new()
        .customer(customer.id.as_str())
        .return_url("http://app.test/account")
        .send(&client)
        .await
        .expect("a portal session");
    assert!(portal.id.as_str().starts_with("bps_"), "{}", portal.id);
    assert_eq!(portal.url, format!("{}portal/{}", fake.base_url(), portal.id));
    assert_eq!(portal.customer, customer.id.as_str());
    assert_eq!(portal.return_url.as_deref(), Some("http://app.test/account"));

    let subscription_id = fake.complete_checkout(session.id.as_str()).await.expect("paid");
    assert_eq!(fake.subscription_for_email("ada@example.com").as_deref(), Some(subscription_id.as_str()));
    let subscription = RetrieveSubscription::new(subscription_id.as_str()).send(&client).await.expect("it");
    assert_eq!(subscription.id.as_str(), subscription_id);
    assert_eq!(subscription.status, SubscriptionStatus::Active);
    assert_eq!(subscription.customer.id().as_str(), customer.id.as_str());
    assert_eq!(subscription.metadata.get("user_id").map(String::as_str), Some("u-1"));
    let item = &subscription.items.data[0];
    assert_eq!(item.price.id.as_str(), PRICE);
    assert_eq!(item.price.unit_amount, Some(2000));
    assert_eq!(item.price.recurring.as_ref().map(|r| r.interval.as_str()), Some("month"));
    assert!(item.current_period_end > item.current_period_start + 27 * 86_400, "a month-long period");
    assert!(subscription.latest_invoice.is_some());

    let session = RetrieveCheckoutSession::new(session.id.clone()).send(&client).await.expect("the session");
    assert_eq!(session.status, Some(CheckoutSessionStatus::Complete));
    assert_eq!(session.payment_status, CheckoutSessionPaymentStatus::Paid);
    assert_eq!(session.subscription.as_ref().map(|s| s.id().as_str()), Some(subscription_id.as_str()));

    fake.set_subscription_status(&subscription_id, "past_due").await.expect("past due");
    let subscription = RetrieveSubscription::new(subscription_id.as_str()).send(&client).await.expect("it");
    assert_eq!(subscription.status, SubscriptionStatus::PastDue, "GET returns the current state");

    // What went over the wire: form-encoded with brackets, the client's API version, the key.
    let requests = fake.requests();
    assert_eq!(requests.len(), 7);
    for request in &requests {
        assert_eq!(request.header("stripe-version"), Some(stripe_shared::version::VERSION.as_str()));
        assert_eq!(request.header("authorization"), Some(format!("Bearer {FAKE_SECRET_KEY}").as_str()));
    }
    let create = requests.iter().find(|r| r.path == "/v1/checkout/sessions").expect("the checkout request");
    assert_eq!(create.method, "POST");
    assert_eq!(create.header("content-type"), Some("application/x-www-form-urlencoded"));
    let body = create.body.replace("%5B", "[").replace("%5D", "]");
    for field in
        ["mode=subscription", "line_items[0][price]=price_pro", "subscription_data[metadata][user_id]=u-1"]
    {
        assert!(body.contains(field), "{field} in {body}");
    }
    assert_eq!(fake_stripe::API_VERSION, stripe_shared::version::VERSION.as_str());
}

#[tokio::test]
async fn idempotency_keys_replay_the_same_request_and_refuse_other_parameters() {
    let fake = started().await;
    let client = client(&fake, FAKE_SECRET_KEY);
    let key = || RequestStrategy::Idempotent(IdempotencyKey::new("signup-u-7").expect("a key"));
    // Several metadata keys: a HashMap serializes them in any order, and that must not matter.
    let many = metadata(&[("a", "1"), ("b", "2"), ("c", "3"), ("d", "4"), ("e", "5"), ("f", "6")]);
    let create = || CreateCustomer::new().email("grace@example.com").metadata(many.clone());

    let first = create().customize().request_strategy(key()).send(&client).await.expect("created");
    let again = create().customize().request_strategy(key()).send(&client).await.expect("replayed");
    assert_eq!(again.id, first.id, "the same answer, not a second customer");
    let other = CreateCustomer::new().email("someone.else@example.com");
    let (error, status) =
        stripe_error(other.customize().request_strategy(key()).send(&client).await.expect_err("refused"));
    assert_eq!(status, 400);
    assert_eq!(error.type_, ApiErrorsType::IdempotencyError);
    assert!(error.message.as_deref().is_some_and(|m| m.contains("same parameters")), "{error:?}");

    let requests = fake.requests();
    assert_eq!(requests.len(), 3);
    assert!(requests.iter().all(|r| r.header("idempotency-key") == Some("signup-u-7")));
    // Without a key, the same request creates another customer.
    let third = create().send(&client).await.expect("created");
    assert_ne!(third.id, first.id);

    // Parameters are compared as parameters: their order does not matter, and the replay says so.
    let url = format!("{}v1/customers", fake.base_url());
    let auth = format!("Bearer {FAKE_SECRET_KEY}");
    let headers = [("authorization", auth.as_str()), ("idempotency-key", "raw-1")];
    let (status, first_headers, first_body) =
        fetch_with("POST", &url, &headers, "email=a%40b.co&metadata%5Bx%5D=1&metadata[y]=2").await;
    assert_eq!(status, 200, "{first_body}");
    assert_eq!(header(&first_headers, "idempotent-replayed"), "");
    let (status, replay_headers, replay_body) =
        fetch_with("POST", &url, &headers, "metadata[y]=2&email=a%40b.co&metadata[x]=1").await;
    assert_eq!((status, replay_body.as_str()), (200, first_body.as_str()));
    assert_eq!(header(&replay_headers, "idempotent-replayed"), "true");
    assert_eq!(header(&replay_headers, "original-request"), header(&first_headers, "request-id"));
    assert_ne!(header(&replay_headers, "request-id"), header(&first_headers, "request-id"));
    let (status, _, refused) = fetch_with("POST", &url, &headers, "email=a%40b.co&metadata[x]=1").await;
    assert_eq!(status, 400);
    assert!(refused.contains("idempotency_error"), "{refused}");
}

#[tokio::test]
async fn errors_have_stripes_statuses_and_bodies() {
    let fake = started().await;
    let wrong_key = "sk_test_not_the_right_key_1234";
    let (error, status) =
        stripe_error(CreateCustomer::new().send(&client(&fake, wrong_key)).await.expect_err("refused"));
    assert_eq!(status, 401);
    assert_eq!(error.type_, ApiErrorsType::InvalidRequestError);
    let message = error.message.unwrap_or_default();
    assert!(message.starts_with("Invalid API Key provided: sk_test_"), "{message}");
    assert!(message.ends_with("1234") && !message.contains("not_the_right"), "masked: {message}");

    let client = client(&fake, FAKE_SECRET_KEY);
    let (error, status) =
        stripe_error(RetrieveSubscription::new("sub_nope").send(&client).await.expect_err("unknown"));
    assert_eq!(status, 404);
    assert_eq!(error.code, Some(ApiErrorsCode::ResourceMissing));
    assert_eq!(error.param.as_deref(), Some("id"));
    assert_eq!(error.message.as_deref(), Some("No such subscription: 'sub_nope'"));

    let customer = CreateCustomer::new().email("x@example.com").send(&client).await.expect("a customer");
    let unknown_price = checkout(customer.id.as_str(), "u").line_items(vec![{
        let mut item = CreateCheckoutSessionLineItems::new();
        item.price = Some("price_gone".to_owned());
        item.quantity = Some(1);
        item
    }]);
    let (error, status) = stripe_error(unknown_price.send(&client).await.expect_err("no such price"));
    assert_eq!(status, 400);
    assert_eq!(error.code, Some(ApiErrorsCode::ResourceMissing));
    assert_eq!(error.param.as_deref(), Some("line_items[0][price]"));
    assert_eq!(error.message.as_deref(), Some("No such price: 'price_gone'"));

    let (error, status) =
        stripe_error(checkout("cus_nope", "u").send(&client).await.expect_err("no customer"));
    assert_eq!(
        (status, error.code, error.param.as_deref()),
        (400, Some(ApiErrorsCode::ResourceMissing), Some("customer"))
    );

    let payment = checkout(customer.id.as_str(), "u").mode(CheckoutSessionMode::Payment);
    let (error, status) = stripe_error(payment.send(&client).await.expect_err("subscriptions only"));
    assert_eq!((status, error.param.as_deref()), (400, Some("mode")));

    let (error, status) = stripe_error(
        CreateBillingPortalSession::new().customer("cus_nope").send(&client).await.expect_err("no customer"),
    );
    assert_eq!((status, error.code), (400, Some(ApiErrorsCode::ResourceMissing)));
}

/// A webhook endpoint in the test: records every POST and answers 500 to the first `fail_first`.
#[derive(Clone)]
struct Receiver {
    url: String,
    received: Arc<Mutex<Vec<http::Request>>>,
}

impl Receiver {
    async fn start(fail_first: usize) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("http://{}/billing/webhook", listener.local_addr().expect("an address"));
        let received = Arc::new(Mutex::new(Vec::new()));
        let log = Arc::clone(&received);
        tokio::spawn(http::serve(listener, move |request| {
            let count = {
                let mut log = log.lock().expect("the log");
                log.push(request);
                log.len()
            };
            let status = if count <= fail_first { 500 } else { 200 };
            async move { http::Response::whole(status, Vec::new(), Vec::new()) }
        }));
        Self { url, received }
    }

    fn received(&self) -> Vec<(Vec<(String, String)>, String)> {
        let log = self.received.lock().expect("the log");
        log.iter().map(|r| (r.headers.clone(), String::from_utf8_lossy(&r.body).into_owned())).collect()
    }

    /// Waits until `count` requests came, and returns them.
    async fn wait_for(&self, count: usize) -> Vec<(Vec<(String, String)>, String)> {
        for _ in 0..100 {
            let received = self.received();
            if received.len() >= count {
                return received;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("expected {count} webhook deliveries, got {}", self.received().len());
    }
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> &'a str {
    headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map_or("", |(_, v)| v.as_str())
}

/// Subscribes a fresh customer through Checkout; returns the subscription id.
async fn subscribe(fake: &FakeStripe, email: &str) -> String {
    let client = client(fake, FAKE_SECRET_KEY);
    let customer = CreateCustomer::new().email(email).send(&client).await.expect("a customer");
    let session = checkout(customer.id.as_str(), "u-9").send(&client).await.expect("a session");
    fake.complete_checkout(session.id.as_str()).await.expect("paid")
}

#[tokio::test]
async fn every_event_parses_with_async_stripe_and_verifies_with_either_secret() {
    let fake = started().await;
    let receiver = Receiver::start(0).await;
    fake.set_webhook(&receiver.url, vec![OLD_SECRET.to_owned(), NEW_SECRET.to_owned()]);

    let subscription_id = subscribe(&fake, "lin@example.com").await;
    receiver.wait_for(3).await;
    fake.fail_payment(&subscription_id).await.expect("failed");
    receiver.wait_for(5).await;
    fake.set_subscription_status(&subscription_id, "unpaid").await.expect("unpaid");
    receiver.wait_for(6).await;
    fake.set_subscription_status(&subscription_id, "canceled").await.expect("canceled");
    let received = receiver.wait_for(7).await;
    assert!(fake.set_subscription_status(&subscription_id, "active").await.is_err(), "canceled is final");

    let expected = [
        "customer.subscription.created",
        "checkout.session.completed",
        "invoice.paid",
        "invoice.payment_failed",
        "customer.subscription.updated",
        "customer.subscription.updated",
        "customer.subscription.deleted",
    ];
    let types: Vec<String> = fake.events().iter().map(|e| e.event_type.clone()).collect();
    assert_eq!(types, expected);
    assert_eq!(received.len(), expected.len());

    for ((headers, payload), (event, expected_type)) in
        received.iter().zip(fake.events().iter().zip(expected))
    {
        assert_eq!(payload, &event.payload, "delivered exactly as created, in order");
        assert_eq!(header(headers, "content-type"), "application/json; charset=utf-8");
        assert_eq!(header(headers, "user-agent"), "Stripe/1.0 (+https://stripe.com/docs/webhooks)");
        let signature = header(headers, "stripe-signature");
        let parts: Vec<&str> = signature.split(',').collect();
        assert!(
            parts.len() == 3 && parts[0].starts_with("t=") && parts[1..].iter().all(|p| p.starts_with("v1="))
        );
        let timestamp: i64 = parts[0][2..].parse().expect("a timestamp");
        assert_eq!(
            signature,
            fake_stripe::signature_header(payload, &[OLD_SECRET.into(), NEW_SECRET.into()], timestamp)
        );
        assert!(matches!(
            Webhook::construct_event(payload, signature, "whsec_someone_else"),
            Err(WebhookError::BadSignature)
        ));

        for secret in [OLD_SECRET, NEW_SECRET] {
            let verified = Webhook::construct_event(payload, signature, secret)
                .unwrap_or_else(|error| panic!("{expected_type} with {secret}: {error:?}\n{payload}"));
            assert_eq!(verified.id.as_str(), event.id);
            assert_eq!(verified.type_.as_str(), expected_type);
            assert_eq!(verified.api_version, Some(stripe_shared::version::VERSION));
            assert!(!verified.livemode);
        }
        let parsed: stripe_webhook::Event = serde_json::from_str(payload)
            .unwrap_or_else(|error| panic!("serde: {expected_type}: {error}\n{payload}"));
        assert_eq!(parsed.id.as_str(), event.id);
        assert_eq!(parsed.pending_webhooks, 1);

        for object in [
            Webhook::construct_event(payload, signature, NEW_SECRET).expect("ok").data.object,
            parsed.data.object,
        ] {
            match (expected_type, object) {
                ("customer.subscription.created", EventObject::CustomerSubscriptionCreated(sub)) => {
                    assert_eq!(sub.id.as_str(), subscription_id);
                    assert_eq!(sub.status, SubscriptionStatus::Active);
                    assert_eq!(sub.metadata.get("user_id").map(String::as_str), Some("u-9"));
                    assert_eq!(sub.items.data[0].price.id.as_str(), PRICE);
                }
                ("checkout.session.completed", EventObject::CheckoutSessionCompleted(session)) => {
                    assert_eq!(
                        session.subscription.as_ref().map(|s| s.id().to_string()),
                        Some(subscription_id.clone())
                    );
                    assert_eq!(session.client_reference_id.as_deref(), Some("u-9"));
                    assert_eq!(session.status, Some(CheckoutSessionStatus::Complete));
                    assert_eq!(session.payment_status, CheckoutSessionPaymentStatus::Paid);
                    assert!(session.customer.is_some());
                }
                ("invoice.paid", EventObject::InvoicePaid(invoice))
                | ("invoice.payment_failed", EventObject::InvoicePaymentFailed(invoice)) => {
                    let parent =
                        invoice.parent.and_then(|p| p.subscription_details).expect("a subscription parent");
                    assert_eq!(parent.subscription.id().as_str(), subscription_id);
                    let paid = expected_type == "invoice.paid";
                    assert_eq!(invoice.amount_paid, if paid { 2000 } else { 0 });
                    assert_eq!(
                        invoice.status.map(|s| s.as_str().to_owned()).as_deref(),
                        Some(if paid { "paid" } else { "open" })
                    );
                }
                ("customer.subscription.updated", EventObject::CustomerSubscriptionUpdated(sub)) => {
                    assert!(
                        matches!(sub.status, SubscriptionStatus::PastDue | SubscriptionStatus::Unpaid),
                        "{:?}",
                        sub.status
                    );
                }
                ("customer.subscription.deleted", EventObject::CustomerSubscriptionDeleted(sub)) => {
                    assert_eq!(sub.status, SubscriptionStatus::Canceled);
                    assert!(sub.ended_at.is_some() && sub.canceled_at.is_some());
                }
                (expected, other) => panic!("{expected}: unexpected {other:?}"),
            }
        }
    }
    let statuses: Vec<String> = fake
        .events()
        .iter()
        .filter(|e| e.event_type == "customer.subscription.updated")
        .map(|e| {
            serde_json::from_str::<serde_json::Value>(&e.payload).expect("JSON")["data"]["object"]["status"]
                .to_string()
        })
        .collect();
    assert_eq!(statuses, ["\"past_due\"", "\"unpaid\""]);
}

#[tokio::test]
async fn failed_deliveries_are_retried_and_held_events_wait_for_the_test() {
    let fake = started().await;
    let receiver = Receiver::start(1).await;
    fake.set_webhook(&receiver.url, vec![NEW_SECRET.to_owned()]);
    fake.add_price("price_other", "Other", 500);
    let subscription_id = subscribe(&fake, "retry@example.com").await;
    // The first delivery got a 500: the same event again, then the next ones.
    let received = receiver.wait_for(4).await;
    let ids: Vec<String> = received
        .iter()
        .map(|(_, body)| {
            serde_json::from_str::<serde_json::Value>(body).expect("JSON")["id"]
                .as_str()
                .unwrap_or("")
                .to_owned()
        })
        .collect();
    let events = fake.events();
    assert_eq!(ids, [&*events[0].id, &*events[0].id, &*events[1].id, &*events[2].id]);

    fake.hold_webhooks(true);
    fake.set_subscription_status(&subscription_id, "past_due").await.expect("past due");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(receiver.received().len(), 4, "held, not delivered");
    let held: Vec<FakeEvent> = fake.held_events();
    assert_eq!(held.len(), 1);
    assert_eq!(held[0].event_type, "customer.subscription.updated");
    assert!(fake.held_events().is_empty(), "taking them empties the queue");
    assert_eq!(fake.deliver(&held[0]).await, 200);
    assert_eq!(fake.deliver(&held[0]).await, 200, "a test may deliver twice, like Stripe's retries");
    let received = receiver.wait_for(6).await;
    assert_eq!(received[4].1, held[0].payload);
    assert_eq!(received[5].1, held[0].payload);
}

#[tokio::test]
async fn stripes_python_library_accepts_the_signatures() {
    let python = std::env::var("JARVIS_TEST_PYTHON").unwrap_or_else(|_| {
        panic!("run through ./scripts/test, or set JARVIS_TEST_PYTHON to a python with the stripe package")
    });
    let fake = started().await;
    let receiver = Receiver::start(0).await;
    let secrets = vec![OLD_SECRET.to_owned(), NEW_SECRET.to_owned()];
    fake.set_webhook(&receiver.url, secrets.clone());
    subscribe(&fake, "py@example.com").await;
    let received = receiver.wait_for(3).await;
    let (headers, payload) = &received[1];

    let script = r#"
import json, os, sys
import stripe
payload = os.environ["FAKE_STRIPE_PAYLOAD"]
header = os.environ["FAKE_STRIPE_SIGNATURE"]
for secret in json.loads(os.environ["FAKE_STRIPE_SECRETS"]):
    event = stripe.Webhook.construct_event(payload, header, secret)
    print("verified", event.id, event.type, event.data.object.object, event.data.object.subscription)
tampered = payload.replace('"livemode": false', '"livemode": true', 1)
assert tampered != payload
for body, secret in [(tampered, json.loads(os.environ["FAKE_STRIPE_SECRETS"])[0]), (payload, "whsec_wrong")]:
    try:
        stripe.Webhook.construct_event(body, header, secret)
    except stripe.SignatureVerificationError:
        print("rejected")
    else:
        sys.exit("accepted a payload whose signature does not match")
"#;
    let output = tokio::process::Command::new(&python)
        .arg("-c")
        .arg(script)
        .env("FAKE_STRIPE_PAYLOAD", payload)
        .env("FAKE_STRIPE_SIGNATURE", header(headers, "stripe-signature"))
        .env("FAKE_STRIPE_SECRETS", serde_json::to_string(&secrets).expect("JSON"))
        .output()
        .await
        .unwrap_or_else(|error| panic!("running {python}: {error}"));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&output.stderr));
    let event = &fake.events()[1];
    let subscription = fake.subscription_for_email("py@example.com").expect("subscribed");
    let verified =
        format!("verified {} checkout.session.completed checkout.session {subscription}", event.id);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines, [verified.as_str(), verified.as_str(), "rejected", "rejected"]);
}

/// One HTTP/1.1 exchange: (status, headers, body).
async fn fetch(method: &str, url: &str, body: &str) -> (u16, Vec<(String, String)>, String) {
    fetch_with(method, url, &[], body).await
}

/// [`fetch`] with more request headers.
async fn fetch_with(
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (u16, Vec<(String, String)>, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let rest = url.strip_prefix("http://").expect("an http URL");
    let (authority, path) = rest.split_once('/').map(|(a, p)| (a, format!("/{p}"))).expect("a path");
    let mut stream = tokio::net::TcpStream::connect(authority).await.expect("connect");
    let extra: String = headers.iter().map(|(name, value)| format!("{name}: {value}\r\n")).collect();
    let request = format!(
        "{method} {path} HTTP/1.1\r\nhost: {authority}\r\ncontent-type: application/x-www-form-urlencoded\r\ncontent-length: {}\r\nconnection: close\r\n{extra}\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.expect("write");
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.expect("read");
    let response = String::from_utf8_lossy(&response).into_owned();
    let (head, body) = response.split_once("\r\n\r\n").expect("a head");
    let mut lines = head.split("\r\n");
    let status =
        lines.next().and_then(|l| l.split(' ').nth(1)).and_then(|s| s.parse().ok()).expect("a status");
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect();
    (status, headers, body.to_owned())
}

#[tokio::test]
async fn the_hosted_pages_and_control_endpoints_drive_the_flow() {
    let fake = FakeStripe::start().await.expect("the fake starts");
    let base = fake.base_url();
    let receiver = Receiver::start(0).await;
    let control = |path: &str| format!("{base}_fake/{path}");
    let (status, _, _) = fetch(
        "POST",
        &control("prices"),
        r#"{"id":"price_pro","product_name":"Jarvis Pro","unit_amount":2000}"#,
    )
    .await;
    assert_eq!(status, 200);
    let webhook = serde_json::json!({ "url": receiver.url, "secrets": [NEW_SECRET] }).to_string();
    assert_eq!(fetch("POST", &control("webhook"), &webhook).await.0, 200);

    let client = client(&fake, FAKE_SECRET_KEY);
    let customer =
        CreateCustomer::new().email("page+test@example.com").send(&client).await.expect("a customer");
    let session = checkout(customer.id.as_str(), "u-5").send(&client).await.expect("a session");
    let (status, _, page) = fetch("GET", session.url.as_deref().expect("a URL"), "").await;
    assert_eq!(status, 200);
    for text in
        ["Jarvis Pro", "$20.00 per month", "Pay and subscribe", "href=\"http://app.test/billing\">Cancel</a>"]
    {
        assert!(page.contains(text), "{text} in {page}");
    }
    let (status, headers, _) = fetch("POST", &format!("{base}checkout/{}/pay", session.id), "").await;
    assert_eq!(status, 303);
    assert_eq!(header(&headers, "location"), format!("http://app.test/billing/done?session={}", session.id));
    let (status, _, again) = fetch("POST", &format!("{base}checkout/{}/pay", session.id), "").await;
    assert_eq!(status, 400, "a session is paid once: {again}");

    let (status, _, found) =
        fetch("GET", &control("subscriptions?email=page%2Btest%40example.com"), "").await;
    assert_eq!(status, 200);
    let subscription_id = serde_json::from_str::<serde_json::Value>(&found).expect("JSON")["id"]
        .as_str()
        .unwrap_or("")
        .to_owned();
    assert_eq!(Some(subscription_id.clone()), fake.subscription_for_email("page+test@example.com"));
    assert_eq!(fetch("GET", &control("subscriptions?email=nobody%40example.com"), "").await.0, 404);

    assert_eq!(
        fetch("POST", &control(&format!("subscriptions/{subscription_id}/fail_payment")), "").await.0,
        200
    );
    assert_eq!(
        fetch("POST", &control(&format!("subscriptions/{subscription_id}/status")), "unpaid").await.0,
        200
    );
    assert_eq!(fetch("POST", &control("subscriptions/sub_nope/status"), "unpaid").await.0, 404);
    let subscription = RetrieveSubscription::new(subscription_id.as_str()).send(&client).await.expect("it");
    assert_eq!(subscription.status, SubscriptionStatus::Unpaid);

    let portal = CreateBillingPortalSession::new()
        .customer(customer.id.as_str())
        .return_url("http://app.test/account")
        .send(&client)
        .await
        .expect("a portal session");
    let (status, _, page) = fetch("GET", &portal.url, "").await;
    assert_eq!(status, 200);
    for text in ["Jarvis Pro", "Unpaid", "Cancel subscription", "href=\"http://app.test/account\">Return</a>"]
    {
        assert!(page.contains(text), "{text} in {page}");
    }
    let (status, headers, _) = fetch(
        "POST",
        &format!("{base}portal/{}/cancel", portal.id),
        &format!("subscription={subscription_id}"),
    )
    .await;
    assert_eq!(status, 303);
    assert_eq!(header(&headers, "location"), "http://app.test/account");
    let subscription = RetrieveSubscription::new(subscription_id.as_str()).send(&client).await.expect("it");
    assert_eq!(subscription.status, SubscriptionStatus::Canceled);
    let (_, _, page) = fetch("GET", &portal.url, "").await;
    assert!(!page.contains("Cancel subscription") && page.contains("Canceled"), "{page}");

    let types: Vec<String> = fake.events().into_iter().map(|e| e.event_type).collect();
    assert_eq!(
        types,
        [
            "customer.subscription.created",
            "checkout.session.completed",
            "invoice.paid",
            "invoice.payment_failed",
            "customer.subscription.updated",
            "customer.subscription.updated",
            "customer.subscription.deleted",
        ]
    );
    receiver.wait_for(7).await;
}

#[tokio::test]
async fn the_binary_prints_its_base_url_and_serves() {
    use tokio::io::AsyncBufReadExt;
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_fake-stripe"))
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("the binary starts");
    let stdout = child.stdout.take().expect("its stdout");
    let mut line = String::new();
    tokio::io::BufReader::new(stdout).read_line(&mut line).await.expect("a line");
    let base = line.trim();
    assert!(base.starts_with("http://127.0.0.1:") && base.ends_with('/'), "{base}");
    let (status, _, body) = fetch("GET", &format!("{base}_fake/events"), "").await;
    assert_eq!((status, body.trim()), (200, "[]"));
    let (status, headers, body) = fetch("GET", &format!("{base}v1/subscriptions/sub_x"), "").await;
    assert_eq!(status, 401, "{body}");
    assert!(header(&headers, "request-id").starts_with("req_"));
    child.kill().await.expect("stopped");
}
